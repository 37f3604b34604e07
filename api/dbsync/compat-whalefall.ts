import { z } from 'zod';
import { TASK_TYPES } from '../../shared/dbsync/types';
import type { AppDeps } from '../platform/deps';
import { Reply, route } from '../platform/http/route';
import { adhocTestBody, jobBody, jobUpdate, listInstancesQuery, listQuery, rowIdParams } from './schemas';
import { dbsyncServices } from './services';
import { dbId } from '../platform/http/schemas';
import { DashboardService } from './dashboard';
import { VERSION } from '../../shared/platform/version';
import { obj } from './routes';
import { isAdmin, viewerOf } from '../platform/auth/principal';
import { LogCenter } from '../logs/services';

/** WhaleFall's paginated answer: the array in data, pagination beside it. */
export function seedList(items: unknown[], p: { page: number; size: number; total: number; pages: number }, message = '操作成功') {
  return new Reply({ status: 'success', data: items, pagination: { page: p.page, per_page: p.size, total: p.total, pages: p.pages }, message }, { raw: true });
}

const jobParams = z.object({ job_id: z.string().min(1).max(100) });
const batchParams = z.object({ batch_id: z.string().min(1).max(200) });
const sessionParams = z.object({ session_id: z.string().min(1).max(200) });
const credParams = z.object({ credential_id: dbId });

/** Seed 002 (WhaleFall) at its own paths and envelope {status, data, message}: translation only, over the same services. */
export function whalefallRoutes(deps: AppDeps) {
  const { catalog, sync, classification, jobs } = dbsyncServices(deps);
  const dash = new DashboardService(deps);
  const tags = ['compat: seed 002 WhaleFall'];
  const common = { tags, surface: 'seed002' as const };

  return [
    // ----- system -----
    route({
      ...common, method: 'get', path: '/api/health', auth: 'optional', permission: 'view', summary: 'Health check (no token needed); with an admin\'s token it adds the log store\'s health (`logs`), the log center\'s "日志健康检查" at the same path',
      response: obj, message: '服务运行正常',
      handler: async ({ principal }) => ({ status: 'healthy', timestamp: Date.now() / 1000, version: VERSION, ...(principal && isAdmin(principal) ? { logs: await new LogCenter(deps).health() } : {}) }),
    }),
    route({
      ...common, method: 'get', path: '/health/detailed', auth: 'public', summary: 'Detailed health: database and Temporal (redis of the original is Temporal here)', response: obj,
      handler: async () => {
        const s = await dash.status();
        return { status: s.overall, database: s.database.status === 'healthy' ? 'connected' : 'disconnected', temporal: s.temporal.status === 'healthy' ? 'connected' : 'disconnected', timestamp: s.timestamp, version: VERSION };
      },
    }),

    // ----- dashboard -----
    route({ ...common, method: 'get', path: '/api/overview', permission: 'view', summary: 'System overview', response: obj, handler: ({ principal }) => dash.overview(viewerOf(principal)) }),
    route({ ...common, method: 'get', path: '/api/charts', permission: 'view', summary: '7-day charts', response: obj, handler: ({ principal }) => dash.charts(viewerOf(principal)) }),
    route({ ...common, method: 'get', path: '/api/activities', permission: 'view', summary: 'Recent activities (audit trail)', query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }), response: z.array(obj), handler: ({ principal, query }) => dash.activities(principal, query.limit) }),
    route({ ...common, method: 'get', path: '/api/status', permission: 'view', summary: 'System status: CPU, memory, disk, database, Temporal', response: obj, handler: () => dash.status() }),

    // ----- instances -----
    route({ ...common, method: 'get', path: '/api/instances', permission: 'view', summary: 'Instances', query: listQuery.extend(listInstancesQuery.shape), handler: async ({ principal, query }) => { const r = await catalog.listInstances(viewerOf(principal), query); return seedList(r.instances, r.pagination); } }),
    route({ ...common, method: 'get', path: '/api/instances/:id', permission: 'view', summary: 'Instance detail', params: rowIdParams, response: obj, handler: ({ principal, params }) => catalog.getInstance(viewerOf(principal), params.id) }),
    route({ ...common, method: 'post', path: '/api/instances/:id/test', permission: 'view', summary: 'Test a saved instance', params: rowIdParams, response: obj, handler: ({ caller, params }) => catalog.testInstance(caller, params.id) }),
    route({ ...common, method: 'post', path: '/api/test-connection', permission: 'create', summary: 'Test connection parameters (needs create: it reaches any host)', body: adhocTestBody, response: obj, handler: ({ caller, body }) => catalog.testAdhoc(caller, body) }),
    route({
      ...common, method: 'get', path: '/api/statistics', permission: 'view', summary: 'Instance statistics',
      description: 'Seed 002 lists /api/statistics three times (instances, sync, logs). Here it answers instance statistics plus a `sync` section; the unambiguous native paths are /api/v1/db/instances/statistics and /api/v1/db/sessions/statistics.',
      response: obj, handler: async ({ principal }) => ({ ...(await catalog.instanceStatistics(viewerOf(principal))), sync: await sync.syncStatistics(viewerOf(principal)) }),
    }),

    // ----- credentials and types -----
    route({ ...common, method: 'get', path: '/api/credentials', permission: 'view', summary: 'Credentials (never with passwords)', query: listQuery.extend({ search: z.string().max(100).optional() }), handler: async ({ principal, query }) => { const r = await catalog.listCredentials(viewerOf(principal), query); return seedList(r.credentials, r.pagination); } }),
    route({ ...common, method: 'get', path: '/api/credentials/:credential_id', permission: 'view', summary: 'A credential', params: credParams, response: obj, handler: ({ principal, params }) => catalog.getCredential(viewerOf(principal), params.credential_id) }),
    route({ ...common, method: 'get', path: '/api/list', permission: 'view', summary: 'Database types', response: z.array(obj), handler: async () => catalog.listTypes() }),
    route({ ...common, method: 'get', path: '/api/active', permission: 'view', summary: 'Active database types', response: z.array(obj), handler: async () => catalog.activeTypes() }),
    route({ ...common, method: 'get', path: '/api/form-options', permission: 'view', summary: 'Instance form options', response: obj, handler: ({ principal }) => catalog.formOptions(viewerOf(principal)) }),

    // ----- classification batches -----
    route({ ...common, method: 'get', path: '/api/batches', permission: 'view', summary: 'Classification batches', query: listQuery, handler: async ({ principal, query }) => { const r = await classification.listBatches(viewerOf(principal), query); return seedList(r.batches, r.pagination); } }),
    route({ ...common, method: 'get', path: '/api/batches/:batch_id', permission: 'view', summary: 'Batch detail', params: batchParams, response: obj, handler: ({ principal, params }) => classification.getBatch(viewerOf(principal), params.batch_id) }),
    route({ ...common, method: 'get', path: '/api/batches/:batch_id/matches', permission: 'view', summary: 'Batch matches', params: batchParams, query: listQuery.extend({ classification: z.string().max(64).optional() }), handler: async ({ principal, params, query }) => { const r = await classification.batchMatches(viewerOf(principal), params.batch_id, query); return seedList(r.matches, r.pagination); } }),

    // ----- jobs -----
    route({ ...common, method: 'get', path: '/api/jobs', permission: 'scheduler_view', summary: 'Jobs', query: listQuery.extend({ task_type: z.enum(TASK_TYPES).optional() }), handler: async ({ principal, query }) => { const r = await jobs.listJobs(viewerOf(principal), query); return seedList(r.jobs, r.pagination); } }),
    route({ ...common, method: 'post', path: '/api/jobs', permission: 'scheduler_manage', status: 201, summary: 'Create a job (six-field seconds-first or five-field cron)', body: jobBody, response: obj, message: '任务创建成功', handler: ({ caller, body }) => jobs.createJob(caller, body) }),
    route({ ...common, method: 'get', path: '/api/jobs/:job_id', permission: 'scheduler_view', summary: 'Job detail with history', params: jobParams, response: obj, handler: ({ principal, params }) => jobs.getJob(viewerOf(principal), params.job_id) }),
    route({ ...common, method: 'put', path: '/api/jobs/:job_id', permission: 'scheduler_manage', summary: 'Update a job', params: jobParams, body: jobUpdate, response: obj, message: '任务更新成功', handler: ({ caller, params, body }) => jobs.updateJob(caller, params.job_id, body) }),
    route({ ...common, method: 'delete', path: '/api/jobs/:job_id', permission: 'scheduler_manage', summary: 'Delete a job', params: jobParams, response: obj, message: '任务删除成功', handler: ({ caller, params }) => jobs.deleteJob(caller, params.job_id) }),
    ...(['enable', 'disable', 'pause', 'resume'] as const).map((change) => route({
      ...common, method: 'post', path: `/api/jobs/:job_id/${change}`, permission: 'scheduler_manage', summary: `${change} a job`, params: jobParams, response: obj,
      handler: ({ caller, params }) => jobs.setJobState(caller, params.job_id, change),
    })),
    route({ ...common, method: 'post', path: '/api/jobs/:job_id/run', permission: 'scheduler_manage', summary: 'Run a job now', params: jobParams, response: obj, message: '任务已触发', handler: ({ caller, params }) => jobs.runJobNow(caller, params.job_id) }),

    // ----- sync sessions -----
    route({ ...common, method: 'get', path: '/api/sessions', permission: 'view', summary: 'Sync sessions', query: listQuery.extend({ status: z.string().max(16).optional(), sync_type: z.string().max(32).optional() }), handler: async ({ principal, query }) => { const r = await sync.listSessions(viewerOf(principal), query); return seedList(r.sessions, r.pagination); } }),
    route({ ...common, method: 'get', path: '/api/sessions/:session_id', permission: 'view', summary: 'Session detail', params: sessionParams, response: obj, handler: ({ principal, params }) => sync.getSession(viewerOf(principal), params.session_id) }),
    route({ ...common, method: 'post', path: '/api/sessions/:session_id/cancel', permission: 'update', summary: 'Cancel a session', params: sessionParams, response: obj, message: '会话已取消', handler: ({ caller, params }) => sync.cancelSession(caller, params.session_id) }),
    route({ ...common, method: 'get', path: '/api/sessions/:session_id/error-logs', permission: 'view', summary: 'Error logs of a session', params: sessionParams, response: obj, handler: ({ principal, params }) => sync.sessionErrors(viewerOf(principal), params.session_id) }),

  ];
}


