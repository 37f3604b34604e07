import { z } from 'zod';
import type { Knex } from 'knex';
import type { AppDeps } from '../platform/deps';
import { route } from '../platform/http/route';
import { Operation } from '../../db/models/platform/operation';
import { presentOperation } from '../platform/operations/present';
import { OPERATION_STATUSES } from '../../shared/platform/operations';
import { LogEntries } from './entries';
import { obj } from './schemas';

/** Seed 001's paging (`page`, `limit`). */
const pageLimit = z.object({
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

const countBy = async (knex: Knex, table: string, column: string, live = true) => {
  const q = knex(table).select(column).count('* as n').groupBy(column);
  if (live) q.whereNull('deleted_at');
  const rows = await q;
  const by = Object.fromEntries(rows.map((r: Record<string, unknown>) => [String(r[column]), Number(r.n)]));
  return { total: Object.values(by).reduce((a, b) => a + b, 0), by };
};
const count = async (knex: Knex, table: string, live = false) => {
  const q = knex(table).count('* as n');
  if (live) q.whereNull('deleted_at');
  return Number((await q)[0].n);
};

/** Seed 001's counts: hosts, instances, users, networking, operations and the last day's log errors. */
export async function platformCounts(knex: Knex) {
  const [hosts, instances, users, operations, portForwards, addresses, proxies, dbInstances, errors] = await Promise.all([
    countBy(knex, 'hosts', 'engine_type'), countBy(knex, 'instances', 'state'), countBy(knex, 'users', 'role'),
    countBy(knex, 'operations', 'status', false), count(knex, 'port_forwards'), count(knex, 'instance_addresses'), count(knex, 'reverse_proxies'),
    count(knex, 'db_instances', true),
    knex('log_entries').whereIn('level', ['ERROR', 'CRITICAL']).where('at', '>=', new Date(Date.now() - 86_400_000)).count('* as n'),
  ]);
  return {
    host_count: hosts.total, hosts_by_engine: hosts.by, vm_count: instances.total, vms_by_state: instances.by, user_count: users.total, users_by_role: users.by,
    nat_count: portForwards, ip_count: addresses, proxy_count: proxies, db_instance_count: dbInstances,
    tasks: { total: operations.total, ...Object.fromEntries(OPERATION_STATUSES.map((s) => [s, operations.by[s] ?? 0])) },
    errors_last_24h: Number(errors[0].n),
  };
}

/** Seed 001 (OpenIDCS) system statistics, log records and task records, over the log center and the operations. Admins only. */
export function openidcsLogRoutes(deps: AppDeps) {
  const entries = new LogEntries(deps.knex);
  const common = { tags: ['compat: seed 001 OpenIDCS'], surface: 'seed001' as const, permission: 'admin' as const };
  return [
    route({ ...common, method: 'get', path: '/api/system/statis', summary: 'Counts of hosts, VMs, users, NAT rules, IPs, proxies, tasks', response: obj, handler: () => platformCounts(deps.knex) }),
    route({
      ...common, method: 'get', path: '/api/system/logger/detail', summary: 'Log records, newest first (the log center\'s store)', query: pageLimit, response: obj,
      handler: async ({ query }) => {
        const r = await entries.page({}, { page: query.page, size: query.limit });
        return { logs: r.entries, total: r.pagination.total, total_exact: r.pagination.total_exact, page: query.page, limit: query.limit, pages: r.pagination.pages };
      },
    }),
    route({
      ...common, method: 'get', path: '/api/system/tasker', summary: 'Task records: the operations, newest first', query: pageLimit.extend({ status: z.enum(OPERATION_STATUSES).optional() }), response: obj,
      handler: async ({ query }) => {
        const q = Operation.query().orderBy('created_at', 'desc').orderBy('id');
        if (query.status) q.where('status', query.status);
        const page = await q.page(query.page - 1, query.limit);
        return { tasks: page.results.map((op) => presentOperation(op)), total: page.total, page: query.page, limit: query.limit, pages: Math.ceil(page.total / query.limit) };
      },
    }),
  ];
}
