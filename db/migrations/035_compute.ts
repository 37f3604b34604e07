import type { Knex } from 'knex';

/**
 * Hosts join with a one-time token and hold an identity of their own (issue 23): `host_join_tokens` keeps each token's
 * SHA-256 only, until it is used or expires; `host_agent_certs` every client certificate idcflow's agent CA issued, by
 * its fingerprint, revoked when the host joins again, is fenced or deleted; `agent_request_ids` the ids of signed agent
 * requests until they expire, so a request captured on the way is refused when sent again.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('host_join_tokens', (t) => {
    t.increments('id');
    t.integer('host_id').notNullable().references('hosts.id').onDelete('CASCADE');
    t.string('token_hash', 64).notNullable().unique();
    t.integer('created_by').references('users.id').onDelete('SET NULL');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
    t.index(['host_id']);
  });
  await knex.schema.createTable('host_agent_certs', (t) => {
    t.increments('id');
    t.integer('host_id').notNullable().references('hosts.id').onDelete('CASCADE');
    t.string('fingerprint', 64).notNullable().unique(); // SHA-256 of the certificate's DER, hex
    t.string('serial', 64).notNullable();
    t.text('certificate').notNullable();
    t.timestamp('not_after', { useTz: true }).notNullable();
    t.string('agent_version', 32);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('revoked_at', { useTz: true });
    t.string('revoked_reason', 64);
    t.index(['host_id']);
  });
  await knex.schema.createTable('agent_request_ids', (t) => {
    t.string('jti', 64).primary();
    t.timestamp('expires_at', { useTz: true }).notNullable().index();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('agent_request_ids');
  await knex.schema.dropTableIfExists('host_agent_certs');
  await knex.schema.dropTableIfExists('host_join_tokens');
}
