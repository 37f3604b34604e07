import type { Knex } from 'knex';

/**
 * Tenancy for network services and docker hosts (issue 22):
 * - WireGuard servers and IPv6 pools say whether customers may add clients to them / allocate from them
 *   (`open_to_customers`, off: only admins and managers may);
 * - per-user quotas of WireGuard clients and IPv6 allocations beside the other network quotas (NULL: the configured
 *   default, IDCFLOW_QUOTA_WIREGUARD_CLIENTS / IDCFLOW_QUOTA_IPV6_ALLOCATIONS);
 * - each host's allow-list of image registries (NULL: the platform default, IDCFLOW_DOCKER_REGISTRIES).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('wg_servers', (t) => { t.boolean('open_to_customers').notNullable().defaultTo(false); });
  await knex.schema.alterTable('ipv6_pools', (t) => { t.boolean('open_to_customers').notNullable().defaultTo(false); });
  await knex.schema.alterTable('network_quotas', (t) => {
    t.integer('wireguard_clients');
    t.integer('ipv6_allocations');
  });
  await knex.schema.alterTable('hosts', (t) => { t.jsonb('allowed_registries'); });
  // The quota counts read a user's rows.
  await knex.raw('CREATE INDEX IF NOT EXISTS wg_clients_user ON wg_clients (user_id)');
  await knex.raw('CREATE INDEX IF NOT EXISTS ipv6_allocations_user ON ipv6_allocations (user_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS ipv6_allocations_user');
  await knex.raw('DROP INDEX IF EXISTS wg_clients_user');
  await knex.schema.alterTable('hosts', (t) => { t.dropColumn('allowed_registries'); });
  await knex.schema.alterTable('network_quotas', (t) => { t.dropColumn('ipv6_allocations'); t.dropColumn('wireguard_clients'); });
  await knex.schema.alterTable('ipv6_pools', (t) => { t.dropColumn('open_to_customers'); });
  await knex.schema.alterTable('wg_servers', (t) => { t.dropColumn('open_to_customers'); });
}
