import type { Knex } from 'knex';

/**
 * Networking: a reverse proxy's domain is served only after its owner proves control of it (a DNS TXT record or an
 * HTTP token carrying the claim's own token), or an admin marks it verified. Several claims of one domain may wait;
 * only one can be verified (the partial unique index), so the first claimant cannot squat a domain another proves.
 * Rows that exist already were served before this change: they stay served (verified, via `migration`).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('reverse_proxies', (t) => {
    /** The claim's own token: the value of the TXT record `_idcflow-challenge.<domain>`, or the body at /.well-known/idcflow-challenge/<token>. */
    t.string('verification_token', 64);
    t.timestamp('verified_at', { useTz: true });
    /** dns | http | admin | migration */
    t.string('verified_via', 16);
    /** The last check and, when it found no proof, why. */
    t.timestamp('verification_checked_at', { useTz: true });
    t.text('verification_error');
  });
  await knex.raw(`UPDATE reverse_proxies SET verification_token = replace(gen_random_uuid()::text, '-', ''), verified_at = now(), verified_via = 'migration'`);
  await knex.schema.alterTable('reverse_proxies', (t) => {
    t.dropNullable('verification_token');
    t.dropUnique(['domain'], 'reverse_proxies_domain');
    t.index(['domain'], 'reverse_proxies_domain_claims');
  });
  await knex.raw('CREATE UNIQUE INDEX reverse_proxies_domain_verified ON reverse_proxies (domain) WHERE verified_at IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS reverse_proxies_domain_verified');
  // Claims that were never proven go: the domain is unique again.
  await knex('reverse_proxies').whereNull('verified_at').delete();
  await knex.schema.alterTable('reverse_proxies', (t) => {
    t.dropIndex(['domain'], 'reverse_proxies_domain_claims');
    t.unique(['domain'], { indexName: 'reverse_proxies_domain' });
    t.dropColumn('verification_error');
    t.dropColumn('verification_checked_at');
    t.dropColumn('verified_via');
    t.dropColumn('verified_at');
    t.dropColumn('verification_token');
  });
}
