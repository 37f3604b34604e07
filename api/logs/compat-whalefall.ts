import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { Reply, route } from '../platform/http/route';
import { seedList } from '../dbsync/compat-whalefall';
import { LogCenter } from './services';
import { cleanupBody, exportQuery, filterFields, filterOf, logIdParams, obj, seedListQuery, statsQuery } from './schemas';
import { tail, tailQuery } from './tail';

/**
 * Seed 002 (WhaleFall) log center at its own paths and envelope {status, data, message}. Admins only. `/api/statistics`
 * (listed for logs too) and `/api/health` (public there, "log health" here) are served by the dbsync adapter: the
 * latter adds the log store's health for an admin's token; `/api/stats` is the log statistics.
 */
export function whalefallLogRoutes(deps: AppDeps) {
  const center = new LogCenter(deps);
  const common = { tags: ['compat: seed 002 WhaleFall'], surface: 'seed002' as const, permission: 'admin' as const };
  const pageOf = (q: z.output<typeof seedListQuery>) => ({ page: q.page, size: q.per_page ?? q.size, cursor: q.cursor });
  return [
    route({
      ...common, method: 'get', path: '/api/search', summary: 'Search logs (level, module, start_date, end_date, search; full text)', query: seedListQuery,
      handler: async ({ query }) => {
        const r = await center.entries.page(filterOf(query), pageOf(query));
        return seedList(r.entries, r.pagination, '日志搜索成功');
      },
    }),
    route({
      ...common, method: 'get', path: '/api/errors', summary: 'Error logs (ERROR and CRITICAL)', query: seedListQuery,
      handler: async ({ query }) => {
        const r = await center.errors(filterOf(query), pageOf(query));
        return seedList(r.entries, r.pagination, '获取错误日志成功');
      },
    }),
    route({ ...common, method: 'get', path: '/api/modules', summary: 'Log modules', response: z.array(obj), handler: () => center.entries.modules() }),
    route({
      ...common, method: 'get', path: '/api/export', summary: 'Export logs as a direct download (format json, csv or txt), streamed',
      query: exportQuery,
      handler: async ({ caller, query }) => {
        const file = await center.download(caller, filterOf(query), query.format);
        return new Reply(file.body, { raw: true, headers: { 'Content-Type': file.contentType, 'Content-Disposition': `attachment; filename="${file.fileName}"` } });
      },
    }),
    route({
      ...common, method: 'post', path: '/api/cleanup', summary: 'Delete logs older than `days` (an operation; answers when done, or 202 while it runs)', body: cleanupBody, response: obj,
      handler: async ({ caller, body }) => center.operations.respond(caller, await center.cleanup(caller, body), (r) => ({ deleted_count: r.deleted, days: r.days, before: r.before }), '日志清理完成'),
    }),
    route({
      ...common, method: 'get', path: '/api/real-time', summary: 'Real-time logs (server-sent events, `event: log_entry`)', query: z.object({ ...filterFields, ...tailQuery }),
      handler: ({ ctx, query }) => tail(deps, ctx.req, filterOf(query), query.since_id),
    }),
    route({
      ...common, method: 'get', path: '/api/stats', summary: 'Log statistics over a window (default the last 24 hours; `hours`)', query: statsQuery, response: obj,
      handler: ({ query }) => center.stats(filterOf(query), query.hours),
    }),
    route({ ...common, method: 'get', path: '/api/detail/:log_id', summary: 'One log entry', params: logIdParams, response: obj, handler: ({ params }) => center.entries.get(params.log_id) }),
  ];
}
