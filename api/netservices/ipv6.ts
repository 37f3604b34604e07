import type { Knex } from 'knex';
import { AppError, conflict, notFound, validationError } from '../../shared/platform/errors';
import {
  countPoolAllocations, deleteIpv6Allocation, findIpv6Allocation, insertIpv6Allocation, listIpv6Allocations, type Ipv6AllocationRow,
} from '../../db/queries/netservices/ipv6-allocations';
import {
  deleteIpv6Pool, insertIpv6Pool, ipv6PoolById, listIpv6Pools, lockIpv6Pool, poolOverlapping, takeNextFreeBlock, updateIpv6Pool, type Ipv6PoolRow,
} from '../../db/queries/netservices/ipv6-pools';
import { cidrInside } from '../../db/queries/platform/inet';
import { underSavepoint } from '../../db/queries/platform/savepoint';
import { found } from '../../db/queries/platform/found';
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

const isExclusionViolation = (err: unknown) => ((err as { code?: string; nativeError?: { code?: string } })?.nativeError ?? (err as { code?: string }))?.code === '23P01';

/** IPv6 prefix pools and allocations. Overlaps are refused by the database's exclusion constraints, not by a check-then-insert. */
export class Ipv6Service {
  constructor(private readonly deps: AppDeps) {}

  private get knex() { return this.deps.knex; }

  private async counts(pool: Ipv6PoolRow, db: Knex | Knex.Transaction = this.knex) {
    const count = await countPoolAllocations(db, pool.id);
    const mask = Number(String(pool.prefix).split('/')[1]);
    const total = prefixCount(mask, pool.prefix_length);
    const allocated = BigInt(count);
    return { total_prefixes: exactNumber(total), allocated_prefixes: exactNumber(allocated), available_prefixes: exactNumber(total - allocated) };
  }

  async presentPool(pool: Ipv6PoolRow, db?: Knex | Knex.Transaction) {
    return {
      id: pool.id, name: pool.name, prefix: pool.prefix, prefix_length: pool.prefix_length, description: pool.description ?? null,
      ...(await this.counts(pool, db)), status: pool.status, open_to_customers: pool.open_to_customers, created_at: iso(pool.created_at),
    };
  }

  poolRow(id: number): Promise<Ipv6PoolRow> {
    return found(ipv6PoolById(this.knex, id), 'IPv6 pool', id);
  }

  async listPools(q: { page: number; size: number; search?: string }) {
    const { rows, pagination } = await paginateRows<Ipv6PoolRow>(listIpv6Pools(this.knex, q.search), q.page, q.size);
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
      const row = await insertIpv6Pool(this.knex, {
        name: body.name, prefix: cidr, prefix_length: body.prefix_length, description: body.description ?? null, open_to_customers: body.open_to_customers, created_by: caller.principal.userId,
      });
      await audit(this.knex, caller, { module: 'netservices', action: 'ipv6_pool.create', message: `IPv6 pool ${body.name} ${cidr} /${body.prefix_length}`, resourceType: 'ipv6_pool', resourceId: row.id });
      return this.presentPool(row);
    } catch (err) {
      const code = ((err as { code?: string }).code);
      if (code === '23505') throw conflict(`An IPv6 pool named ${body.name} exists`, { field: 'name' });
      if (code === '23P01') {
        const other = await poolOverlapping(this.knex, cidr);
        throw conflict(`${cidr} overlaps pool ${other?.name ?? ''} (${other?.prefix ?? ''})`, { field: 'prefix', pool_id: other?.id });
      }
      throw err;
    }
  }

  /** Opens a pool to customers' allocations (or closes it: their allocations stay), or changes its description. */
  async updatePool(caller: Caller, id: number, body: UpdatePoolBody) {
    await this.poolRow(id);
    const row = await found(updateIpv6Pool(this.knex, id, body), 'IPv6 pool', id);
    await audit(this.knex, caller, { module: 'netservices', action: 'ipv6_pool.update', message: `IPv6 pool ${row.name}: ${JSON.stringify(body)}`, resourceType: 'ipv6_pool', resourceId: id });
    return this.presentPool(row);
  }

  async deletePool(caller: Caller, id: number) {
    const pool = await this.poolRow(id);
    const count = await countPoolAllocations(this.knex, id);
    if (count > 0) throw conflict(`Pool ${pool.name} still has ${count} allocations: release them first`, { allocations: count });
    await deleteIpv6Pool(this.knex, id);
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
    return found(findIpv6Allocation(this.knex, netViewer(principal), id), 'IPv6 allocation', id);
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
      const pool = await lockIpv6Pool(trx, body.pool_id);
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
        if (!(await cidrInside(trx, cidr, pool.prefix))) throw validationError([{ field: 'prefix', location: 'body', message: `is not inside pool ${pool.name} (${pool.prefix})` }]);
      } else {
        const next = await takeNextFreeBlock(trx, pool.id);
        if (!next) throw conflict(`Pool ${pool.name} (${pool.prefix}) has no free /${pool.prefix_length} left`, { reason: 'pool_exhausted' });
        cidr = next;
      }
      try {
        return await underSavepoint(trx, 'alloc', () => insertIpv6Allocation(trx, {
          pool_id: pool.id, cidr, client_name: body.client_name, description: body.description ?? null, user_id: caller.principal.userId,
        }));
      } catch (err) {
        if (!isExclusionViolation(err)) throw err;
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
