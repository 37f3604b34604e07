import { z } from 'zod';
import { notFound } from '../../shared/platform/errors';
import { ROLE_PERMISSIONS } from '../../shared/platform/permissions';
import type { AppDeps } from '../platform/deps';
import { isAdmin } from '../platform/auth/principal';
import { TwoFactorService } from '../platform/auth/two-factor';
import { route } from '../platform/http/route';
import { booleanish } from '../platform/http/schemas';
import { OperationService } from '../platform/operations/service';
import { UserDeletion } from './deletion';
import { UserService } from './service';

/** "2023-01-01 12:00:00", the date format of seed 004. */
export const seedDate = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString().replace('T', ' ').slice(0, 19) : null);

const credentials = {
  api_token: z.string().optional(),
  server_token: z.string().optional(),
  username: z.string().max(64).optional(),
};

/** Seed 004 (user-data service) user endpoints: credentials travel in the JSON body. */
export function userDataServiceRoutes(deps: AppDeps) {
  const users = new UserService(deps);
  const operations = new OperationService(deps);
  const deletion = new UserDeletion(operations, users);
  const twoFactor = new TwoFactorService(deps.knex, deps.config.masterKey);
  const tags = ['compat: seed 004 user data'];
  const common = { tags, surface: 'seed004' as const, credentials: 'body' as const };
  return [
    route({
      ...common, method: 'post', path: '/api/get_user_info', permission: 'view', summary: 'A user’s profile and stats (yourself; anyone with admin rights or server_token)',
      body: z.object({ ...credentials, include_sensitive: z.boolean().optional() }),
      handler: async ({ principal, body }) => {
        const target = body.username ?? principal.username;
        const admin = isAdmin(principal);
        // Someone else's name answers as an unknown one does, so the answer never says which usernames exist.
        if (!admin && target.toLowerCase() !== principal.username.toLowerCase()) throw notFound('user', target);
        const user = await users.findByUsername(target);
        const profile = user.profile as Record<string, unknown>;
        const info: Record<string, unknown> = {
          username: user.username,
          profile: { display_name: user.full_name, email: user.email, ...profile },
          stats: { register_time: seedDate(user.created_at), last_login: seedDate(user.last_login), login_count: user.login_count },
          roles: [user.role],
          permissions: ROLE_PERMISSIONS[user.role],
        };
        if (body.include_sensitive && admin) {
          Object.assign(info.stats as object, { failed_login_attempts: user.failed_login_attempts, last_failed_login: seedDate(user.last_failed_login), last_ip: user.last_ip });
          info.account_status = user.is_active ? 'active' : 'disabled';
          info.security = {
            two_factor_enabled: await twoFactor.required(user.id), email_verified: user.email_verified, password_last_changed: seedDate(user.password_changed_at), locked_until: seedDate(user.locked_until),
          };
        }
        return info;
      },
    }),
    route({
      ...common, method: 'post', path: '/api/delete_user', permission: 'admin', startsOperation: true,
      summary: 'Delete a user (durable operation with backup); waits for it like the original answered',
      body: z.object({
        ...credentials,
        target_user: z.string().min(1, 'is required').max(64),
        reason: z.string().max(500).optional(),
        backup_data: booleanish.default(true),
        notify_user: booleanish.default(false),
        permanent: booleanish.default(false),
      }),
      handler: async ({ caller, body }) => {
        const target = await users.findByUsername(body.target_user);
        const started = await deletion.begin(caller, target.id, { reason: body.reason, backup_data: body.backup_data, notify_user: body.notify_user, permanent: body.permanent });
        return operations.respond(caller, started, (r) => ({
          details: {
            deleted_user: r.deleted_user,
            deleted_at: seedDate(r.deleted_at as string),
            backup_file: r.backup_file,
            notification_sent: r.notification_sent,
            deletion_type: r.deletion_type,
          },
        }), '用户删除成功');
      },
    }),
  ];
}
