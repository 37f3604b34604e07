import type { Knex } from 'knex';

/** Whether `address` (IPv6) lies in one of the user's active IPv6 allocations: an address the platform already gave them. */
export async function userHoldsIpv6(knex: Knex, userId: number, address: string): Promise<boolean> {
  const row = await knex('ipv6_allocations').where({ user_id: userId, status: 'active' }).whereRaw('cidr >>= ?::inet', [address]).first('id');
  return Boolean(row);
}
