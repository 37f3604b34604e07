import type { Knex } from 'knex';
import { ownedBy, type Viewer } from '../platform/scope';

/** A prefix delegated from an IPv6 pool: its owner's, and the admins' and network managers'. */
export interface Ipv6AllocationRow {
  id: number;
  pool_id: number;
  cidr: string;
  client_name: string;
  description: string | null;
  user_id: number | null;
  status: string;
  allocated_at: Date;
}

/** The allocations `viewer` may see: their own (admins and network managers: all). */
export const ipv6AllocationsOf = (db: Knex | Knex.Transaction, viewer: Viewer) => ownedBy(db<Ipv6AllocationRow>('ipv6_allocations'), viewer, 'user_id');

export async function findIpv6Allocation(db: Knex | Knex.Transaction, viewer: Viewer, id: number): Promise<Ipv6AllocationRow | undefined> {
  return ipv6AllocationsOf(db, viewer).where({ id }).first();
}

/** The allocations `viewer` may see, in id order, optionally of one pool: a query to paginate. */
export function listIpv6Allocations(db: Knex, viewer: Viewer, filter: { pool_id?: number }) {
  const q = ipv6AllocationsOf(db, viewer).orderBy('id');
  if (filter.pool_id) q.where({ pool_id: filter.pool_id });
  return q;
}

export async function insertIpv6Allocation(db: Knex.Transaction, row: Pick<Ipv6AllocationRow, 'pool_id' | 'cidr' | 'client_name' | 'description' | 'user_id'>): Promise<Ipv6AllocationRow> {
  const [inserted] = await db('ipv6_allocations').insert(row).returning('*');
  return inserted as Ipv6AllocationRow;
}

/** Deletes an allocation `viewer` may change; a freed block below the pool's hint moves the hint down to it. */
export async function deleteIpv6Allocation(db: Knex.Transaction, viewer: Viewer, row: Pick<Ipv6AllocationRow, 'id' | 'pool_id' | 'cidr'>): Promise<void> {
  await ipv6AllocationsOf(db, viewer).where({ id: row.id }).delete();
  await db('ipv6_pools').where({ id: row.pool_id }).whereRaw('(scan_from IS NULL OR ?::cidr < scan_from)', [row.cidr]).update({ scan_from: row.cidr });
}

/** How many allocations a user owns (their quota's use). */
export async function countUserIpv6Allocations(db: Knex | Knex.Transaction, userId: number): Promise<number> {
  const [{ count }] = await db('ipv6_allocations').where({ user_id: userId }).count<{ count: string }[]>('* as count');
  return Number(count);
}

/** How many allocations a pool has (every owner's). */
export async function countPoolAllocations(db: Knex | Knex.Transaction, poolId: number): Promise<number> {
  const [{ count }] = await db('ipv6_allocations').where({ pool_id: poolId }).count<{ count: string }[]>('* as count');
  return Number(count);
}
