import type { Knex } from 'knex';

/**
 * Addresses belong to the platform (issue 22): `engine_addresses` are the addresses the engine reports for an instance
 * (docker: the container's inspect; libvirt and the simulator: the pool addresses they were configured with), kept apart
 * from `nics` (what was asked for and configured). Port forwards, 1:1 addresses and reverse proxies may target only
 * these. Existing instances start with the addresses the host's pools gave them and what the engine filled in itself;
 * the next power action or scan records what the engine reports.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instances', (t) => {
    t.jsonb('engine_addresses').notNullable().defaultTo('[]');
  });
  await knex.raw(`
    UPDATE instances i SET engine_addresses = sub.addresses FROM (
      SELECT i2.id, COALESCE(jsonb_agg(DISTINCT a.address) FILTER (WHERE a.address IS NOT NULL), '[]'::jsonb) AS addresses
      FROM instances i2
      LEFT JOIN LATERAL (
        SELECT ia.address FROM ip_allocations ia WHERE ia.instance_id = i2.id
        UNION
        SELECT n->>'ip4' FROM jsonb_array_elements(i2.nics) n WHERE (n->>'net_mode' = 'engine' OR i2.origin = 'scanned') AND n->>'ip4' IS NOT NULL
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
