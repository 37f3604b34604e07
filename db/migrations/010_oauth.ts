import type { Knex } from 'knex';

/** OAuth 2.0 / OpenID Connect: registered clients, the provider's stored artefacts, and its signing keys (sealed). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('oauth_clients', (t) => {
    t.increments('id');
    t.string('client_id', 64).notNullable().unique();
    /** sha256 of the secret (shown once); null for a public client, which must use PKCE. */
    t.string('secret_hash', 64);
    t.string('name', 100).notNullable();
    t.text('description');
    t.jsonb('redirect_uris').notNullable().defaultTo('[]');
    t.jsonb('grant_types').notNullable().defaultTo('[]');
    t.jsonb('scopes').notNullable().defaultTo('[]');
    t.text('logo_url');
    t.boolean('is_trusted').notNullable().defaultTo(false);
    t.boolean('is_active').notNullable().defaultTo(true);
    t.integer('rate_limit');
    t.integer('owner_id').references('users.id').onDelete('SET NULL');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  // oidc-provider's adapter storage: one row per artefact (sessions, grants, codes, tokens, interactions).
  await knex.schema.createTable('oauth_payloads', (t) => {
    t.string('kind', 64).notNullable();
    t.string('id', 255).notNullable();
    t.jsonb('payload').notNullable();
    t.string('grant_id', 255);
    t.string('user_code', 255);
    t.string('uid', 255);
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('consumed_at', { useTz: true });
    t.primary(['kind', 'id']);
    t.index('grant_id');
    t.index('uid');
    t.index('expires_at');
  });
  await knex.schema.createTable('oauth_keys', (t) => {
    t.string('kid', 64).primary();
    /** The private JWK as JSON, sealed with the master key. */
    t.text('sealed').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    /** A retired key still verifies (it stays in the JWKS) but no longer signs. */
    t.timestamp('retired_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('oauth_keys');
  await knex.schema.dropTable('oauth_payloads');
  await knex.schema.dropTable('oauth_clients');
}
