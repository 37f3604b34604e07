import type { Knex } from 'knex';
import { countUserWgClients } from './wg-clients';
import { countUserIpv6Allocations } from './ipv6-allocations';

/** The network-service quotas beside the other network quotas (network_quotas; NULL there: the configured default). */
export type NetservicesQuotaName = 'wireguard_clients' | 'ipv6_allocations';
export type NetservicesQuota = Record<NetservicesQuotaName, number>;

export const NETSERVICES_QUOTAS: NetservicesQuotaName[] = ['wireguard_clients', 'ipv6_allocations'];

const USED: Record<NetservicesQuotaName, (db: Knex | Knex.Transaction, userId: number) => Promise<number>> = {
  wireguard_clients: countUserWgClients,
  ipv6_allocations: countUserIpv6Allocations,
};

/** A user's limits: their network_quotas row's, else the defaults. */
export async function netservicesQuotaOf(db: Knex | Knex.Transaction, userId: number, defaults: NetservicesQuota): Promise<NetservicesQuota> {
  const row = await db('network_quotas').where({ user_id: userId }).first('wireguard_clients', 'ipv6_allocations');
  return { wireguard_clients: row?.wireguard_clients ?? defaults.wireguard_clients, ipv6_allocations: row?.ipv6_allocations ?? defaults.ipv6_allocations };
}

export async function netservicesUsageOf(db: Knex | Knex.Transaction, userId: number): Promise<NetservicesQuota> {
  const [wireguard_clients, ipv6_allocations] = await Promise.all(NETSERVICES_QUOTAS.map((q) => USED[q](db, userId)));
  return { wireguard_clients, ipv6_allocations };
}

/**
 * Whether one more of `quota` fits the user's limit, inside the transaction that then inserts it: the user's row is
 * locked first, so two requests cannot both take the last unit. Returns the figures when it does not fit.
 */
export async function netservicesQuotaExceeded(trx: Knex.Transaction, userId: number, quota: NetservicesQuotaName, defaults: NetservicesQuota): Promise<{ used: number; limit: number } | null> {
  await trx('users').where({ id: userId }).forUpdate().first('id');
  const limit = (await netservicesQuotaOf(trx, userId, defaults))[quota];
  const used = await USED[quota](trx, userId);
  return used + 1 > limit ? { used, limit } : null;
}

/** Sets a user's limits (only those given) on their network_quotas row; the row must exist (the caller upserts the others first). */
export async function setNetservicesQuota(db: Knex | Knex.Transaction, userId: number, q: Partial<NetservicesQuota>): Promise<void> {
  const patch = Object.fromEntries(NETSERVICES_QUOTAS.filter((k) => q[k] !== undefined).map((k) => [k, q[k]]));
  if (Object.keys(patch).length) await db('network_quotas').where({ user_id: userId }).update(patch);
}
