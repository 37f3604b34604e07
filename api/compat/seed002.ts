import { z } from 'zod';
import { AppError, validationError } from '../../shared/errors';
import { ROLES } from '../../shared/permissions';
import { TASK_TYPES } from '../../shared/dbsync/types';
import type { AppDeps } from '../deps';
import { Reply, route } from '../http/route';
import { AuthService } from '../services/auth';
import { UserService, createUserBody, presentUser } from '../services/users';
import { OperationService } from '../services/operations';
import { UserDeletion } from '../services/user-deletion';
import { adhocTestBody, DbsyncService, jobBody, jobUpdate, listInstancesQuery, listQuery, rowIdParams } from '../services/dbsync';
import { dbId } from '../http/schemas';
import { DashboardService } from '../services/dashboard';
import { VERSION } from '../version';
import { obj } from '../routes/dbsync';

/** Seed 002's paginated answer: the array in data, pagination beside it. */
function seedList(items: unknown[], p: { page: number; size: number; total: number; pages: number }, message = '操作成功') {
  return new Reply({ status: 'success', data: items, pagination: { page: p.page, per_page: p.size, total: p.total, pages: p.pages }, message }, { raw: true });
}

const jobParams = z.object({ job_id: z.string().min(1).max(100) });
const batchParams = z.object({ batch_id: z.string().min(1).max(200) });
const sessionParams = z.object({ session_id: z.string().min(1).max(200) });
const userParams = z.object({ user_id: dbId });
const credParams = z.object({ credential_id: dbId });

/** Seed 002 (WhaleFall) at its own paths and envelope {status, data, message}: translation only, over the same services. */
export function seed002Routes(deps: AppDeps) {
  const svc = new DbsyncService(deps);
  const dash = new DashboardService(deps);
  const auth = new AuthService(deps);
  const users = new UserService(deps);
  const deletion = new UserDeletion(new OperationService(deps), users);
  const tags = ['compat: seed 002 WhaleFall'];
  const common = { tags, surface: 'seed002' as const };
  const seedUser = (u: ReturnType<typeof presentUser>) => ({ ...u, status: u.is_active ? 'active' : 'disabled' });

  return [
    // ----- system -----
    route({ ...common, method: 'get', path: '/api/health', auth: 'public', summary: 'Health check (public)', response: obj, message: '服务运行正常', handler: async () => ({ status: 'healthy', timestamp: Date.now() / 1000, version: VERSION }) }),
    route({
      ...common, method: 'get', path: '/health/detailed', auth: 'public', summary: 'Detailed health: database and Temporal (redis of the original is Temporal here)', response: obj,
      handler: async () => {
        const s = await dash.status();
        return { status: s.overall, database: s.database.status === 'healthy' ? 'connected' : 'disconnected', temporal: s.temporal.status === 'healthy' ? 'connected' : 'disconnected', timestamp: s.timestamp, version: VERSION };
      },
    }),

    // ----- auth -----
    route({
      ...common, method: 'post', path: '/auth/login', auth: 'public', summary: 'Sign in', message: '登录成功',
      body: z.object({ username: z.string().min(1, 'is required').max(64), password: z.string().min(1, 'is required').max(256) }), response: obj,
      handler: async ({ ctx, body }) => {
        const r = await auth.login(ctx, body.username, body.password);
        return { access_token: r.access_token, refresh_token: r.refresh_token, token_type: r.token_type, expires_in: r.expires_in, user: { id: r.user.id, username: r.user.username, role: r.user.role, email: r.user.email } };
      },
    }),
    route({
      ...common, method: 'post', path: '/api/refresh', auth: 'public', summary: 'Refresh: Authorization: Bearer <refresh_token> (or {"refresh_token"})', message: 'Token已刷新',
      body: z.object({ refresh_token: z.string().min(1).optional() }).optional(), response: obj,
      handler: ({ ctx, body }) => {
        const token = body?.refresh_token ?? /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'))?.[1];
        if (!token) throw new AppError('INVALID_CREDENTIALS', 'A refresh token is required');
        return auth.refresh(ctx, token);
      },
    }),
    route({
      ...common, method: 'get', path: '/api/me', summary: 'The signed-in user', response: obj,
      handler: async ({ principal }) => (principal.userId === null
        ? { username: principal.username, role: principal.role, permissions: principal.permissions }
        : { ...seedUser(presentUser(await users.find(principal.userId))), permissions: principal.permissions }),
    }),

    // ----- dashboard -----
    route({ ...common, method: 'get', path: '/api/overview', permission: 'view', summary: 'System overview', response: obj, handler: () => dash.overview() }),
    route({ ...common, method: 'get', path: '/api/charts', permission: 'view', summary: '7-day charts', response: obj, handler: () => dash.charts() }),
    route({ ...common, method: 'get', path: '/api/activities', permission: 'view', summary: 'Recent activities (audit trail)', query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }), response: z.array(obj), handler: ({ query }) => dash.activities(query.limit) }),
    route({ ...common, method: 'get', path: '/api/status', permission: 'view', summary: 'System status: CPU, memory, disk, database, Temporal', response: obj, handler: () => dash.status() }),

    // ----- instances -----
    route({ ...common, method: 'get', path: '/api/instances', permission: 'view', summary: 'Instances', query: listQuery.extend(listInstancesQuery.shape), handler: async ({ query }) => { const r = await svc.listInstances(query); return seedList(r.instances, r.pagination); } }),
    route({ ...common, method: 'get', path: '/api/instances/:id', permission: 'view', summary: 'Instance detail', params: rowIdParams, response: obj, handler: ({ params }) => svc.getInstance(params.id) }),
    route({ ...common, method: 'post', path: '/api/instances/:id/test', permission: 'view', summary: 'Test a saved instance', params: rowIdParams, response: obj, handler: ({ ctx, principal, params }) => svc.testInstance(ctx, principal, params.id) }),
    route({ ...common, method: 'post', path: '/api/test-connection', permission: 'create', summary: 'Test connection parameters (needs create: it reaches any host)', body: adhocTestBody, response: obj, handler: ({ ctx, principal, body }) => svc.testAdhoc(ctx, principal, body) }),
    route({
      ...common, method: 'get', path: '/api/statistics', permission: 'view', summary: 'Instance statistics',
      description: 'Seed 002 lists /api/statistics three times (instances, sync, logs). Here it answers instance statistics plus a `sync` section; the unambiguous native paths are /api/v1/db/instances/statistics and /api/v1/db/sessions/statistics.',
      response: obj, handler: async () => ({ ...(await svc.instanceStatistics()), sync: await svc.syncStatistics() }),
    }),

    // ----- credentials and types -----
    route({ ...common, method: 'get', path: '/api/credentials', permission: 'view', summary: 'Credentials (never with passwords)', query: listQuery.extend({ search: z.string().max(100).optional() }), handler: async ({ query }) => { const r = await svc.listCredentials(query); return seedList(r.credentials, r.pagination); } }),
    route({ ...common, method: 'get', path: '/api/credentials/:credential_id', permission: 'view', summary: 'A credential', params: credParams, response: obj, handler: ({ params }) => svc.getCredential(params.credential_id) }),
    route({ ...common, method: 'get', path: '/api/list', permission: 'view', summary: 'Database types', response: z.array(obj), handler: async () => svc.listTypes() }),
    route({ ...common, method: 'get', path: '/api/active', permission: 'view', summary: 'Active database types', response: z.array(obj), handler: async () => svc.activeTypes() }),
    route({ ...common, method: 'get', path: '/api/form-options', permission: 'view', summary: 'Instance form options', response: obj, handler: () => svc.formOptions() }),

    // ----- classification batches -----
    route({ ...common, method: 'get', path: '/api/batches', permission: 'view', summary: 'Classification batches', query: listQuery, handler: async ({ query }) => { const r = await svc.listBatches(query); return seedList(r.batches, r.pagination); } }),
    route({ ...common, method: 'get', path: '/api/batches/:batch_id', permission: 'view', summary: 'Batch detail', params: batchParams, response: obj, handler: ({ params }) => svc.getBatch(params.batch_id) }),
    route({ ...common, method: 'get', path: '/api/batches/:batch_id/matches', permission: 'view', summary: 'Batch matches', params: batchParams, query: listQuery.extend({ classification: z.string().max(64).optional() }), handler: async ({ params, query }) => { const r = await svc.batchMatches(params.batch_id, query); return seedList(r.matches, r.pagination); } }),

    // ----- jobs -----
    route({ ...common, method: 'get', path: '/api/jobs', permission: 'scheduler_view', summary: 'Jobs', query: listQuery.extend({ task_type: z.enum(TASK_TYPES).optional() }), handler: async ({ query }) => { const r = await svc.listJobs(query); return seedList(r.jobs, r.pagination); } }),
    route({ ...common, method: 'post', path: '/api/jobs', permission: 'scheduler_manage', status: 201, summary: 'Create a job (six-field seconds-first or five-field cron)', body: jobBody, response: obj, message: '任务创建成功', handler: ({ ctx, principal, body }) => svc.createJob(ctx, principal, body) }),
    route({ ...common, method: 'get', path: '/api/jobs/:job_id', permission: 'scheduler_view', summary: 'Job detail with history', params: jobParams, response: obj, handler: ({ params }) => svc.getJob(params.job_id) }),
    route({ ...common, method: 'put', path: '/api/jobs/:job_id', permission: 'scheduler_manage', summary: 'Update a job', params: jobParams, body: jobUpdate, response: obj, message: '任务更新成功', handler: ({ ctx, principal, params, body }) => svc.updateJob(ctx, principal, params.job_id, body) }),
    route({ ...common, method: 'delete', path: '/api/jobs/:job_id', permission: 'scheduler_manage', summary: 'Delete a job', params: jobParams, response: obj, message: '任务删除成功', handler: ({ ctx, principal, params }) => svc.deleteJob(ctx, principal, params.job_id) }),
    ...(['enable', 'disable', 'pause', 'resume'] as const).map((change) => route({
      ...common, method: 'post', path: `/api/jobs/:job_id/${change}`, permission: 'scheduler_manage', summary: `${change} a job`, params: jobParams, response: obj,
      handler: ({ ctx, principal, params }) => svc.setJobState(ctx, principal, params.job_id, change),
    })),
    route({ ...common, method: 'post', path: '/api/jobs/:job_id/run', permission: 'scheduler_manage', summary: 'Run a job now', params: jobParams, response: obj, message: '任务已触发', handler: ({ ctx, principal, params }) => svc.runJobNow(ctx, principal, params.job_id) }),

    // ----- sync sessions -----
    route({ ...common, method: 'get', path: '/api/sessions', permission: 'view', summary: 'Sync sessions', query: listQuery.extend({ status: z.string().max(16).optional(), sync_type: z.string().max(32).optional() }), handler: async ({ query }) => { const r = await svc.listSessions(query); return seedList(r.sessions, r.pagination); } }),
    route({ ...common, method: 'get', path: '/api/sessions/:session_id', permission: 'view', summary: 'Session detail', params: sessionParams, response: obj, handler: ({ params }) => svc.getSession(params.session_id) }),
    route({ ...common, method: 'post', path: '/api/sessions/:session_id/cancel', permission: 'update', summary: 'Cancel a session', params: sessionParams, response: obj, message: '会话已取消', handler: ({ ctx, principal, params }) => svc.cancelSession(ctx, principal, params.session_id) }),
    route({ ...common, method: 'get', path: '/api/sessions/:session_id/error-logs', permission: 'view', summary: 'Error logs of a session', params: sessionParams, response: obj, handler: ({ params }) => svc.sessionErrors(params.session_id) }),

    // ----- users -----
    route({ ...common, method: 'get', path: '/api/users', permission: 'admin', summary: 'Users', query: listQuery.extend({ search: z.string().max(100).optional(), role: z.enum(ROLES).optional() }), handler: async ({ query }) => { const r = await users.list({ ...query, size: query.size ?? query.per_page ?? 20 }); return seedList(r.users.map(seedUser), r.pagination); } }),
    route({ ...common, method: 'post', path: '/api/users', permission: 'admin', status: 201, summary: 'Create a user', body: createUserBody, response: obj, message: '用户创建成功', handler: async ({ ctx, principal, body }) => seedUser(await users.create(ctx, principal, body)) }),
    route({
      ...common, method: 'get', path: '/api/users/stats', permission: 'admin', summary: 'User statistics', response: obj, handler: () => users.stats(),
    }),
    route({
      ...common, method: 'put', path: '/api/users/:user_id', permission: 'admin', summary: 'Update a user (role, email, is_active; usernames do not change)', params: userParams,
      body: z.object({ username: z.string().max(64).optional(), role: z.enum(ROLES).optional(), email: z.email().max(255).optional(), is_active: z.boolean().optional(), full_name: z.string().max(255).nullable().optional() }).strict(),
      response: obj, message: '用户更新成功',
      handler: async ({ ctx, principal, params, body }) => {
        const { username, ...rest } = body;
        if (username !== undefined && username.toLowerCase() !== (await users.find(params.user_id)).username.toLowerCase()) {
          throw validationError([{ field: 'username', message: 'usernames cannot be changed' }]);
        }
        return seedUser(await users.update(ctx, principal, params.user_id, rest));
      },
    }),
    route({
      ...common, method: 'delete', path: '/api/users/:user_id', permission: 'admin', summary: 'Delete a user (durable operation with backup; waits like the original answered)', params: userParams, response: obj, message: '用户删除成功',
      handler: ({ ctx, principal, params }) => deletion.start(ctx, principal, params.user_id, { backup_data: true, notify_user: false, permanent: false }),
    }),
    route({ ...common, method: 'post', path: '/api/users/:user_id/toggle-status', permission: 'admin', summary: 'Enable or disable a user', params: userParams, response: obj, handler: async ({ ctx, principal, params }) => seedUser(await users.toggleStatus(ctx, principal, params.user_id)) }),
  ];
}


