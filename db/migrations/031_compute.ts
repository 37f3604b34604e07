import type { Knex } from 'knex';

/**
 * Addresses belong to the platform (issue 22): `engine_addresses` are the addresses the engine reports for an instance
 * (docker: the container's inspect; libvirt and the simulator: the pool addresses they were configured with), kept apart
 * from `nics` (what was asked for and configured). Port forwards, 1:1 addresses and reverse proxies may target only
 * these, and only rules aimed at them are applied on the host. Existing instances start with the addresses the host's
 * pools gave them, what the engine filled in itself and what an admin placed on an admin's instance; the next power
 * action or scan records what the engine reports. A rule aimed at any other address (a tenant's request put it there)
 * is no longer applied.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instances', (t) => {
    t.jsonb('engine_addresses').notNullable().defaultTo('[]');
  });
  await backfillEngineAddresses(knex);
}

/** The addresses recorded before this migration that the platform gave (exported for its test). */
export async function backfillEngineAddresses(knex: Knex): Promise<void> {
  await knex.raw(`
    UPDATE instances i SET engine_addresses = sub.addresses FROM (
      SELECT i2.id, COALESCE(jsonb_agg(DISTINCT a.address) FILTER (WHERE a.address IS NOT NULL), '[]'::jsonb) AS addresses
      FROM instances i2
      LEFT JOIN LATERAL (
        SELECT ia.address FROM ip_allocations ia WHERE ia.instance_id = i2.id
        UNION
        SELECT n->>'ip4' FROM jsonb_array_elements(i2.nics) n WHERE (n->>'net_mode' = 'engine' OR i2.origin = 'scanned') AND n->>'ip4' IS NOT NULL
        UNION
        -- Addresses an admin placed on an admin's instance (never loopback, link-local or unspecified).
        SELECT x.v FROM jsonb_array_elements(i2.nics) n, LATERAL (VALUES (n->>'ip4'), (n->>'ip6')) x(v)
        WHERE x.v IS NOT NULL AND EXISTS (SELECT 1 FROM users u WHERE u.id = i2.owner_id AND u.role = 'admin')
          AND (x.v ~ '^(25[0-5]|2[0-4][0-9]|1{0,1}[0-9]{0,1}[0-9])(\\.(25[0-5]|2[0-4][0-9]|1{0,1}[0-9]{0,1}[0-9])){3}$' AND x.v !~ '^(127|0|169\\.254)\\.'
            OR x.v ~ '^[0-9a-f:]+$' AND x.v !~ '^(::1{0,1}|fe[89ab][0-9a-f]:.*)$')
      ) a ON true
      WHERE i2.deleted_at IS NULL
      GROUP BY i2.id
    ) sub WHERE sub.id = i.id`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instances', (t) => {
    t.dropColumn('engine_addresses');
  });
}
