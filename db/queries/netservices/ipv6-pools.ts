import type { Knex } from 'knex';

/** A row of `ipv6_pools` (migrations 007, 033): a prefix delegated in blocks of `prefix_length`, run by admins and network managers. */
export interface Ipv6PoolRow {
  id: number;
  name: string;
  prefix: string;
  prefix_length: number;
  description: string | null;
  status: string;
  /** Every block below it is taken: where the next free block is looked for. */
  scan_from: string | null;
  open_to_customers: boolean;
  created_by: number | null;
  created_at: Date;
  updated_at: Date;
}

export type Ipv6PoolPatch = Partial<Pick<Ipv6PoolRow, 'description' | 'open_to_customers'>>;

export async function ipv6PoolById(knex: Knex, id: number): Promise<Ipv6PoolRow | undefined> {
  return knex<Ipv6PoolRow>('ipv6_pools').where({ id }).first();
}

/** Pools in id order, those whose name holds `search` if given: a query to paginate. */
export function listIpv6Pools(knex: Knex, search?: string) {
  const q = knex<Ipv6PoolRow>('ipv6_pools').orderBy('id');
  if (search) q.whereILike('name', `%${search.replace(/[%_\\]/g, '\\$&')}%`);
  return q;
}

/** A new pool; a taken name raises 23505, a prefix overlapping another pool's 23P01 (the exclusion constraint). */
export async function insertIpv6Pool(knex: Knex, row: Pick<Ipv6PoolRow, 'name' | 'prefix' | 'prefix_length' | 'description' | 'open_to_customers' | 'created_by'>): Promise<Ipv6PoolRow> {
  const [inserted] = await knex('ipv6_pools').insert(row).returning('*');
  return inserted as Ipv6PoolRow;
}

/** A pool whose prefix overlaps `cidr`, if any. */
export async function poolOverlapping(knex: Knex, cidr: string): Promise<Pick<Ipv6PoolRow, 'id' | 'name' | 'prefix'> | undefined> {
  return knex('ipv6_pools').whereRaw('prefix && ?::cidr', [cidr]).first('id', 'name', 'prefix');
}

export async function updateIpv6Pool(knex: Knex, id: number, patch: Ipv6PoolPatch): Promise<Ipv6PoolRow | undefined> {
  const [row] = await knex('ipv6_pools').where({ id }).update({ ...patch, updated_at: knex.fn.now() }).returning('*');
  return row as Ipv6PoolRow | undefined;
}

export async function deleteIpv6Pool(knex: Knex, id: number): Promise<void> {
  await knex('ipv6_pools').where({ id }).delete();
}

/** A pool under its row's lock: allocations in one pool queue rather than race. */
export async function lockIpv6Pool(trx: Knex.Transaction, id: number): Promise<Ipv6PoolRow | undefined> {
  return trx<Ipv6PoolRow>('ipv6_pools').where({ id }).forUpdate().first();
}

/**
 * The next free /n of a pool: from the pool's `scan_from` (every block below it is taken), the block there if free, else
 * one ordered walk over the allocations from there that stops at the first gap. It never enumerates candidate blocks,
 * and with the hint it reads only the allocations between the hint and the first gap, so it costs the same at 10 or
 * 1,000,000 allocations. NULL when the pool is full. Allocations all have the pool's length, so none straddles the hint.
 */
const NEXT_FREE = `
WITH pool AS (SELECT prefix AS p, prefix_length AS n, set_masklen(coalesce(scan_from, prefix), prefix_length)::cidr AS h FROM ipv6_pools WHERE id = :pool),
ordered AS (
  SELECT a.cidr, lead(a.cidr) OVER (ORDER BY a.cidr) AS nxt FROM ipv6_allocations a, pool WHERE a.pool_id = :pool AND a.cidr >= pool.h
),
after_each AS (
  SELECT o.cidr, o.nxt, network(set_masklen(set_masklen(broadcast(o.cidr), 128) + 1, pool.n))::cidr AS c
  FROM ordered o, pool
  WHERE set_masklen(broadcast(o.cidr), 128) < set_masklen(broadcast(pool.p), 128)
)
SELECT c::text AS cidr FROM (
  (SELECT pool.h AS c, 0 AS k FROM pool
    WHERE NOT EXISTS (SELECT 1 FROM ipv6_allocations a WHERE a.pool_id = :pool AND a.cidr = pool.h))
  UNION ALL
  (SELECT e.c, 1 FROM after_each e WHERE e.nxt IS NULL OR e.c < e.nxt ORDER BY e.cidr LIMIT 1)
) q ORDER BY k LIMIT 1`;

/** The pool's next free block, moving its hint there; null when the pool is full. Under the pool's lock. */
export async function takeNextFreeBlock(trx: Knex.Transaction, poolId: number): Promise<string | null> {
  const next = await trx.raw(NEXT_FREE, { pool: poolId } as never);
  const cidr: string | undefined = next.rows[0]?.cidr;
  if (!cidr) return null;
  await trx('ipv6_pools').where({ id: poolId }).update({ scan_from: cidr });
  return cidr;
}
