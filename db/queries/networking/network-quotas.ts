import type { Knex } from 'knex';

/** The networking quotas of a `network_quotas` row (migration 006; the network services' columns are in db/queries/netservices/quotas.ts). */
export interface NetworkQuota {
  nat_ports: number;
  proxies: number;
  addresses: number;
}

/** A user's networking quotas, when an admin set them (otherwise the configured defaults apply). */
export async function networkQuotaOf(knex: Knex | Knex.Transaction, userId: number): Promise<NetworkQuota | undefined> {
  return knex('network_quotas').where({ user_id: userId }).first('nat_ports', 'proxies', 'addresses');
}

/** Sets a user's networking quotas (the row is made when missing). */
export async function saveNetworkQuota(knex: Knex, userId: number, q: NetworkQuota): Promise<void> {
  await knex('network_quotas').insert({ user_id: userId, ...q, updated_at: knex.fn.now() }).onConflict('user_id').merge();
}
