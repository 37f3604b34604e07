import type { Knex } from 'knex';
import { AppError, conflict, notFound, validationError } from '../../shared/platform/errors';
import {
  deleteIpv6Allocation, findIpv6Allocation, insertIpv6Allocation, listIpv6Allocations, type Ipv6AllocationRow,
} from '../../db/queries/netservices/ipv6-allocations';
import { wgClientOfAllocation } from '../../db/queries/netservices/wg-clients';
import { netservicesQuotaExceeded } from '../../db/queries/netservices/quotas';
import { ADMIN_VIEWER } from '../../db/queries/platform/scope';
import { exactNumber, MAX_SPLIT_BITS, parsePrefix6, prefixCount } from '../../shared/netservices/addresses';
import type { AppDeps } from '../platform/deps';
import { isAdmin, type Principal } from '../platform/auth/principal';
import type { Caller } from '../platform/caller';
import { iso, paginateRows } from '../platform/http/schemas';
import { audit } from '../platform/audit';
import { mayUse, netViewer } from './access';
import type { AllocateBody, CreatePoolBody, UpdatePoolBody } from './schemas';

type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

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

const isExclusionViolation = (err: unknown) => ((err as { code?: string; nativeError?: { code?: string } })?.nativeError ?? (err as { code?: string }))?.code === '23P01';

/** IPv6 prefix pools and allocations. Overlaps are refused by the database's exclusion constraints, not by a check-then-insert. */
export class Ipv6Service {
  constructor(private readonly deps: AppDeps) {}

  private get knex() { return this.deps.knex; }

  private async counts(pool: Row, db: Knex | Knex.Transaction = this.knex) {
    const [{ count }] = await db('ipv6_allocations').where({ pool_id: pool.id }).count<{ count: number }[]>('* as count');
    const mask = Number(String(pool.prefix).split('/')[1]);
    const total = prefixCount(mask, pool.prefix_length);
    const allocated = BigInt(count);
    return { total_prefixes: exactNumber(total), allocated_prefixes: exactNumber(allocated), available_prefixes: exactNumber(total - allocated) };
  }

  async presentPool(pool: Row, db?: Knex | Knex.Transaction) {
    return {
      id: pool.id, name: pool.name, prefix: pool.prefix, prefix_length: pool.prefix_length, description: pool.description ?? null,
      ...(await this.counts(pool, db)), status: pool.status, open_to_customers: pool.open_to_customers, created_at: iso(pool.created_at),
    };
  }

  async poolRow(id: number): Promise<Row> {
    const pool = await this.knex('ipv6_pools').where({ id }).first();
    if (!pool) throw notFound('IPv6 pool', id);
    return pool;
  }

  async listPools(q: { page: number; size: number; search?: string }) {
    const query = this.knex('ipv6_pools').orderBy('id');
    if (q.search) query.whereILike('name', `%${q.search.replace(/[%_\\]/g, '\\$&')}%`);
    const { rows, pagination } = await paginateRows(query, q.page, q.size);
    return { pools: await Promise.all(rows.map((p) => this.presentPool(p))), pagination };
  }

  async createPool(caller: Caller, body: CreatePoolBody) {
    const prefix = parsePrefix6(body.prefix);
    if (typeof prefix === 'string') throw validationError([{ field: 'prefix', location: 'body', message: prefix }]);
    if (body.prefix_length < prefix.length) throw validationError([{ field: 'prefix_length', location: 'body', message: `must be at least the pool's own length (${prefix.length})` }]);
    if (body.prefix_length - prefix.length > MAX_SPLIT_BITS) {
      throw validationError([{ field: 'prefix_length', location: 'body', message: `a pool holds at most 2^${MAX_SPLIT_BITS} prefixes: use a length of at most ${prefix.length + MAX_SPLIT_BITS}` }]);
    }
    const cidr = `${prefix.network}/${prefix.length}`;
    try {
      const [row] = await this.knex('ipv6_pools').insert({
        name: body.name, prefix: cidr, prefix_length: body.prefix_length, description: body.description ?? null, open_to_customers: body.open_to_customers, created_by: caller.principal.userId,
      }).returning('*');
      await audit(this.knex, caller, { module: 'netservices', action: 'ipv6_pool.create', message: `IPv6 pool ${body.name} ${cidr} /${body.prefix_length}`, resourceType: 'ipv6_pool', resourceId: row.id });
      return this.presentPool(row);
    } catch (err) {
      const code = ((err as { code?: string }).code);
      if (code === '23505') throw conflict(`An IPv6 pool named ${body.name} exists`, { field: 'name' });
      if (code === '23P01') {
        const other = await this.knex('ipv6_pools').whereRaw('prefix && ?::cidr', [cidr]).first('id', 'name', 'prefix');
        throw conflict(`${cidr} overlaps pool ${other?.name ?? ''} (${other?.prefix ?? ''})`, { field: 'prefix', pool_id: other?.id });
      }
      throw err;
    }
  }

  /** Opens a pool to customers' allocations (or closes it: their allocations stay), or changes its description. */
  async updatePool(caller: Caller, id: number, body: UpdatePoolBody) {
    await this.poolRow(id);
    const [row] = await this.knex('ipv6_pools').where({ id }).update({ ...body, updated_at: this.knex.fn.now() }).returning('*');
    await audit(this.knex, caller, { module: 'netservices', action: 'ipv6_pool.update', message: `IPv6 pool ${row.name}: ${JSON.stringify(body)}`, resourceType: 'ipv6_pool', resourceId: id });
    return this.presentPool(row);
  }

  async deletePool(caller: Caller, id: number) {
    const pool = await this.poolRow(id);
    const [{ count }] = await this.knex('ipv6_allocations').where({ pool_id: id }).count<{ count: number }[]>('* as count');
    if (Number(count) > 0) throw conflict(`Pool ${pool.name} still has ${count} allocations: release them first`, { allocations: Number(count) });
    await this.knex('ipv6_pools').where({ id }).delete();
    await audit(this.knex, caller, { module: 'netservices', action: 'ipv6_pool.delete', message: `IPv6 pool ${pool.name} deleted`, resourceType: 'ipv6_pool', resourceId: id });
    return { id, name: pool.name, deleted: true };
  }

  presentAllocation(a: Ipv6AllocationRow) {
    return {
      id: a.id, pool_id: a.pool_id, client_name: a.client_name, description: a.description ?? null, allocated_prefix: a.cidr,
      user_id: a.user_id ?? null, status: a.status, allocated_at: iso(a.allocated_at),
    };
  }

  /** The caller's allocation (admins' and managers': anyone's); another user's is a 404. */
  async allocationRow(principal: Principal, id: number): Promise<Ipv6AllocationRow> {
    const row = await findIpv6Allocation(this.knex, netViewer(principal), id);
    if (!row) throw notFound('IPv6 allocation', id);
    return row;
  }

  async listAllocations(principal: Principal, q: { page: number; size: number; pool_id?: number }) {
    const { rows, pagination } = await paginateRows<Ipv6AllocationRow>(listIpv6Allocations(this.knex, netViewer(principal), q), q.page, q.size);
    return { allocations: rows.map((a) => this.presentAllocation(a)), pagination };
  }

  /**
   * The next free prefix (or the one asked for). Allocations in one pool take the pool row's lock, so they queue rather
   * than race; the exclusion constraint is what makes an overlap impossible even so.
   */
  async allocate(caller: Caller, body: AllocateBody, db?: Knex.Transaction): Promise<Ipv6AllocationRow> {
    const run = async (trx: Knex.Transaction) => {
      const pool = await trx('ipv6_pools').where({ id: body.pool_id }).forUpdate().first();
      // A pool closed to customers is not there for them.
      if (!pool || !mayUse(caller.principal, pool)) throw notFound('IPv6 pool', body.pool_id);
      if (pool.status !== 'active') throw conflict(`Pool ${pool.name} is ${pool.status}`);
      await this.checkQuota(trx, caller);
      let cidr: string;
      if (body.prefix) {
        const wanted = parsePrefix6(body.prefix);
        if (typeof wanted === 'string') throw validationError([{ field: 'prefix', location: 'body', message: wanted }]);
        cidr = `${wanted.network}/${wanted.length}`;
        if (wanted.length !== pool.prefix_length) throw validationError([{ field: 'prefix', location: 'body', message: `must be a /${pool.prefix_length}, the pool's delegated length` }]);
        const inside = await trx.raw('SELECT ?::cidr <<= ?::cidr AS inside', [cidr, pool.prefix]);
        if (!inside.rows[0].inside) throw validationError([{ field: 'prefix', location: 'body', message: `is not inside pool ${pool.name} (${pool.prefix})` }]);
      } else {
        const next = await trx.raw(NEXT_FREE, { pool: pool.id } as never);
        if (!next.rows[0]) throw conflict(`Pool ${pool.name} (${pool.prefix}) has no free /${pool.prefix_length} left`, { reason: 'pool_exhausted' });
        cidr = next.rows[0].cidr;
        await trx('ipv6_pools').where({ id: pool.id }).update({ scan_from: cidr });
      }
      try {
        await trx.raw('SAVEPOINT alloc');
        return await insertIpv6Allocation(trx, { pool_id: pool.id, cidr, client_name: body.client_name, description: body.description ?? null, user_id: caller.principal.userId });
      } catch (err) {
        if (!isExclusionViolation(err)) throw err;
        await trx.raw('ROLLBACK TO SAVEPOINT alloc');
        throw conflict(`${cidr} is already allocated (or overlaps an allocation) in pool ${pool.name}`, { field: 'prefix' });
      }
    };
    const row = db ? await run(db) : await this.knex.transaction(run);
    await audit(db ?? this.knex, caller, { module: 'netservices', action: 'ipv6_allocation.create', message: `${row.cidr} to ${row.client_name}`, resourceType: 'ipv6_allocation', resourceId: row.id });
    return row;
  }

  /** One more allocation must fit its owner's quota (admins are not limited): a 409 naming the quota, as the other network quotas answer. */
  private async checkQuota(trx: Knex.Transaction, caller: Caller) {
    const userId = caller.principal.userId;
    if (isAdmin(caller.principal) || userId === null) return;
    const over = await netservicesQuotaExceeded(trx, userId, 'ipv6_allocations', this.deps.config.tenancy.netQuota);
    if (over) throw new AppError('CONFLICT', `Quota exceeded: ipv6_allocations (${over.used} of ${over.limit} used)`, { quota: 'ipv6_allocations', ...over });
  }

  /** Deletes an allocation (already checked to be the caller's); a freed block below the pool's hint moves the hint down to it, so it is handed out again. */
  async releaseIn(trx: Knex.Transaction, row: Ipv6AllocationRow) {
    await deleteIpv6Allocation(trx, ADMIN_VIEWER, row);
  }

  async release(caller: Caller, id: number) {
    const row = await this.allocationRow(caller.principal, id);
    const client = await wgClientOfAllocation(this.knex, id);
    if (client) throw conflict(`${row.cidr} is the address of WireGuard client ${client.name}: delete the client to release it`, { client_id: client.id });
    await this.knex.transaction((trx) => deleteIpv6Allocation(trx, netViewer(caller.principal), row));
    await audit(this.knex, caller, { module: 'netservices', action: 'ipv6_allocation.release', message: `${row.cidr} released`, resourceType: 'ipv6_allocation', resourceId: id });
    return { id, allocated_prefix: row.cidr, released: true };
  }
}
