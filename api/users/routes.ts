import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { notFound } from '../../shared/platform/errors';
import type { AppDeps } from '../platform/deps';
import { Reply, route } from '../platform/http/route';
import { dbId, idParams, iso, pageQuery, paginate, pagination } from '../platform/http/schemas';
import { OperationService } from '../platform/operations/service';
import { operationSchema } from '../platform/operations/present';
import { UserDeletion, deleteUserOptions } from './deletion';
import { createUserBody, listUsersQuery, password, presentUser, updateUserBody, UserService, userSchema } from './service';
import { UserBackup } from '../../db/models/users/user-backup';

export function userRoutes(deps: AppDeps) {
  const users = new UserService(deps);
  const operations = new OperationService(deps);
  const deletion = new UserDeletion(operations, users);
  const tags = ['users'];
  const backupSchema = z.object({ id: z.number(), user_id: z.number(), username: z.string(), operation_id: z.string(), file: z.string(), size_bytes: z.number(), sha256: z.string(), created_at: z.string().nullable() });
  const presentBackup = (b: UserBackup) => ({ id: b.id, user_id: b.user_id, username: b.username, operation_id: b.operation_id, file: b.file_path, size_bytes: Number(b.size_bytes), sha256: b.sha256, created_at: iso(b.created_at) });

  return [
    route({
      method: 'get', path: '/users', tags, permission: 'admin', summary: 'List users',
      query: pageQuery.extend(listUsersQuery.shape),
      response: z.object({ users: z.array(userSchema), pagination }),
      handler: ({ query }) => users.list(query),
    }),
    route({
      method: 'post', path: '/users', tags, permission: 'admin', summary: 'Create a user', status: 201,
      body: createUserBody, response: userSchema, message: 'User created',
      handler: ({ caller, body }) => users.create(caller, body),
    }),
    route({
      method: 'get', path: '/users/stats', tags, permission: 'admin', summary: 'User counts by state and role',
      response: z.object({ total_users: z.number(), active_users: z.number(), inactive_users: z.number(), deleted_users: z.number(), logged_in_last_24h: z.number(), created_last_7d: z.number(), by_role: z.record(z.string(), z.number()) }),
      handler: () => users.stats(),
    }),
    route({
      method: 'get', path: '/users/:id', tags, permission: 'view', summary: 'A user (yourself, or anyone for an admin)',
      params: idParams, response: userSchema,
      handler: async ({ principal, params }) => presentUser(await users.visible(principal, params.id)),
    }),
    route({
      method: 'put', path: '/users/:id', tags, permission: 'update', summary: 'Update a user (email and name for yourself; role and is_active for an admin)',
      params: idParams, body: updateUserBody, response: userSchema, message: 'User updated',
      handler: ({ caller, params, body }) => users.update(caller, params.id, body),
    }),
    route({
      method: 'delete', path: '/users/:id', tags, permission: 'admin', startsOperation: true,
      summary: 'Delete a user as a durable operation, with an optional backup of their data',
      description: 'Waits for the operation up to IDCFLOW_OPERATION_WAIT_SECONDS and answers 200 with the deletion details; still running, or with `Prefer: respond-async`, answers 202 with the operation.',
      params: idParams, query: deleteUserOptions,
      response: z.object({
        deleted_user: z.string().optional(), deleted_at: z.string().optional(), deletion_type: z.string().optional(),
        backup_file: z.string().nullable().optional(), backup_id: z.number().nullable().optional(), backup_sha256: z.string().nullable().optional(),
        notification_sent: z.boolean().optional(), reason: z.string().nullable().optional(),
        operation: z.union([operationSchema, z.object({ id: z.string(), status: z.string(), links: z.record(z.string(), z.string()) })]),
      }),
      handler: ({ caller, params, query }) => deletion.start(caller, params.id, query),
    }),
    route({
      method: 'post', path: '/users/:id/reset-password', tags, permission: 'view', summary: 'Set a new password (admins for anyone; everyone for themselves with current_password)',
      description: 'Your own password needs `current_password` (admins too); wrong ones are paced per account (429 with Retry-After past the login failure limit). '
        + 'Ends every session of the user (but the one changing its own password) and every OAuth grant with its codes and tokens; `revoke_api_tokens: true` revokes the user\'s API tokens too. The answer counts what ended.',
      params: idParams,
      body: z.object({ new_password: password, current_password: z.string().max(256).optional(), revoke_api_tokens: z.boolean().default(false) }),
      response: z.object({ sessions_ended: z.number(), oauth_grants_ended: z.number(), oauth_tokens_ended: z.number(), api_tokens_revoked: z.number() }),
      message: 'Password reset',
      handler: ({ caller, params, body }) => users.resetPassword(caller, params.id, body),
    }),
    route({
      method: 'post', path: '/users/:id/toggle-status', tags, permission: 'admin', summary: 'Enable or disable a user',
      params: idParams, response: userSchema, message: 'User status changed',
      handler: ({ caller, params }) => users.toggleStatus(caller, params.id),
    }),
    route({
      method: 'get', path: '/user-backups', tags, permission: 'admin', summary: 'Backups made when users were deleted',
      query: pageQuery.extend({ user_id: dbId.optional() }),
      response: z.object({ backups: z.array(backupSchema), pagination }),
      handler: async ({ query }) => {
        const q = UserBackup.query().orderBy('id', 'desc');
        if (query.user_id) q.where({ user_id: query.user_id });
        const { items, pagination } = await paginate(q, query.page, query.size);
        return { backups: items.map(presentBackup), pagination };
      },
    }),
    route({
      method: 'get', path: '/user-backups/:id/download', tags, permission: 'admin', summary: 'Download a user backup (zip); X-Checksum-SHA256 carries its checksum',
      params: idParams,
      handler: async ({ ctx, params }) => {
        const backup = await UserBackup.query().findById(params.id);
        const file = backup && path.join(deps.config.dataDir, backup.file_path);
        if (!backup || !file || !fs.existsSync(file)) throw notFound('user backup', params.id);
        ctx.set('Content-Type', 'application/zip');
        ctx.set('Content-Disposition', `attachment; filename="${path.basename(file)}"`);
        return new Reply(fs.createReadStream(file), { raw: true, headers: { 'X-Checksum-SHA256': backup.sha256 } });
      },
    }),
  ];
}
