import { z } from 'zod';
import { AppError } from '../../shared/platform/errors';
import { ROLES } from '../../shared/platform/permissions';
import type { AppDeps } from '../platform/deps';
import { Reply, route } from '../platform/http/route';
import { dbId } from '../platform/http/schemas';
import { AuthService } from '../platform/auth/service';
import { OperationService } from '../platform/operations/service';
import { obj } from '../dbsync/routes';
import { seedList } from '../dbsync/compat-whalefall';
import { listQuery } from '../dbsync/schemas';
import { UserService, createUserBody, presentUser, username } from './service';
import { UserDeletion } from './deletion';

const userParams = z.object({ user_id: dbId });

/** WhaleFall's (seed 002) sign-in and user routes at its own paths and envelope {status, data, message}: translation only. */
export function whalefallUserRoutes(deps: AppDeps) {
  const auth = new AuthService(deps);
  const users = new UserService(deps);
  const deletion = new UserDeletion(new OperationService(deps), users);
  const common = { tags: ['compat: seed 002 WhaleFall'], surface: 'seed002' as const };
  const seedUser = (u: ReturnType<typeof presentUser>) => ({ ...u, status: u.is_active ? 'active' : 'disabled' });

  return [
    // ----- auth -----
    route({
      ...common, method: 'post', path: '/auth/login', auth: 'public', noStore: true, summary: 'Sign in', message: '登录成功',
      body: z.object({ username: z.string().min(1, 'is required').max(64), password: z.string().min(1, 'is required').max(256) }), response: obj,
      handler: async ({ client, body }) => {
        const r = await auth.login(client, body.username, body.password);
        return new Reply(
          { access_token: r.access_token, refresh_token: r.refresh_token, token_type: r.token_type, expires_in: r.expires_in, user: { id: r.user.id, username: r.user.username, role: r.user.role, email: r.user.email } },
          { headers: { 'Set-Cookie': auth.devices.header(r.device) } },
        );
      },
    }),
    route({
      ...common, method: 'post', path: '/api/refresh', auth: 'public', noStore: true, summary: 'Refresh: Authorization: Bearer <refresh_token> (or {"refresh_token"})', message: 'Token已刷新',
      body: z.object({ refresh_token: z.string().min(1).optional() }).optional(), response: obj,
      handler: ({ ctx, client, body }) => {
        const token = body?.refresh_token ?? /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'))?.[1];
        if (!token) throw new AppError('INVALID_CREDENTIALS', 'A refresh token is required');
        return auth.refresh(client, token);
      },
    }),
    route({
      ...common, method: 'get', path: '/api/me', permission: 'view', summary: 'The signed-in user', response: obj,
      handler: async ({ principal }) => (principal.userId === null
        ? { username: principal.username, role: principal.role, permissions: principal.permissions }
        : { ...seedUser(presentUser(await users.find(principal.userId))), permissions: principal.permissions }),
    }),

    // ----- users -----
    route({ ...common, method: 'get', path: '/api/users', permission: 'admin', summary: 'Users', query: listQuery.extend({ search: z.string().max(100).optional(), role: z.enum(ROLES).optional() }), handler: async ({ query }) => { const r = await users.list({ ...query, size: query.size ?? query.per_page ?? 20 }); return seedList(r.users.map(seedUser), r.pagination); } }),
    route({ ...common, method: 'post', path: '/api/users', permission: 'admin', status: 201, summary: 'Create a user', body: createUserBody, response: obj, message: '用户创建成功', handler: async ({ caller, body }) => seedUser(await users.create(caller, body)) }),
    route({
      ...common, method: 'get', path: '/api/users/stats', permission: 'admin', summary: 'User statistics', response: obj, handler: () => users.stats(),
    }),
    route({
      ...common, method: 'put', path: '/api/users/:user_id', permission: 'admin', summary: 'Update a user (username — unique —, role, email, is_active)', params: userParams,
      body: z.object({ username: username.optional(), role: z.enum(ROLES).optional(), email: z.email().max(255).optional(), is_active: z.boolean().optional(), full_name: z.string().max(255).nullable().optional() }).strict(),
      response: obj, message: '用户更新成功',
      handler: async ({ caller, params, body }) => seedUser(await users.update(caller, params.user_id, body)),
    }),
    route({
      ...common, method: 'delete', path: '/api/users/:user_id', permission: 'admin', summary: 'Delete a user (durable operation with backup; waits like the original answered)', params: userParams, response: obj, message: '用户删除成功',
      handler: ({ caller, params }) => deletion.start(caller, params.user_id, { backup_data: true, notify_user: false, permanent: false }),
    }),
    route({ ...common, method: 'post', path: '/api/users/:user_id/toggle-status', permission: 'admin', summary: 'Enable or disable a user', params: userParams, response: obj, handler: async ({ caller, params }) => seedUser(await users.toggleStatus(caller, params.user_id)) }),
  ];
}
