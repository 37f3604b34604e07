import type { Knex } from 'knex';

/** The OAuth artefacts that are bearer credentials: stored under sha256 of their id, without the id in the payload. */
const HASHED_KINDS = ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'ClientCredentials'];

/**
 * Issue 22: every OAuth client has an owner, and OAuth tokens are stored hashed.
 * - Clients without an owner (registered with seed 004's server token, or whose owner was deleted) go to the oldest
 *   active admin; with no admin at all they are deleted (with their tokens). owner_id becomes NOT NULL, and deleting
 *   a user deletes their clients.
 * - Existing access tokens, refresh tokens, authorization codes and client credentials tokens are re-keyed by
 *   sha256(id) and their payload loses `jti` (the token itself), so they keep working; expired ones are dropped.
 *   This cannot be undone: `down` deletes the rows of those kinds (their holders sign in again).
 */
export async function up(knex: Knex): Promise<void> {
  const admin = await knex('users').where({ role: 'admin', is_active: true }).whereNull('deleted_at').orderBy('id').first('id');
  if (admin) {
    await knex('oauth_clients').whereNull('owner_id').update({ owner_id: admin.id });
  } else {
    const orphans = (await knex('oauth_clients').whereNull('owner_id').select('client_id')).map((r: { client_id: string }) => r.client_id);
    if (orphans.length) await knex('oauth_payloads').whereRaw("payload->>'clientId' = ANY(?)", [orphans]).delete();
    await knex('oauth_clients').whereNull('owner_id').delete();
  }
  await knex.raw('ALTER TABLE oauth_clients DROP CONSTRAINT IF EXISTS oauth_clients_owner_id_foreign');
  await knex.schema.alterTable('oauth_clients', (t) => {
    t.integer('owner_id').notNullable().alter();
    t.foreign('owner_id').references('users.id').onDelete('CASCADE');
    t.index('owner_id');
  });

  await knex('oauth_payloads').whereIn('kind', HASHED_KINDS).where('expires_at', '<=', knex.fn.now()).delete();
  await knex.raw(
    `UPDATE oauth_payloads SET id = encode(sha256(convert_to(id, 'UTF8')), 'hex'), payload = payload - 'jti' WHERE kind = ANY(?)`,
    [HASHED_KINDS],
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex('oauth_payloads').whereIn('kind', HASHED_KINDS).delete();
  await knex.schema.alterTable('oauth_clients', (t) => {
    t.dropIndex('owner_id');
    t.dropForeign('owner_id');
  });
  await knex.schema.alterTable('oauth_clients', (t) => {
    t.integer('owner_id').nullable().alter();
    t.foreign('owner_id').references('users.id').onDelete('SET NULL');
  });
}
