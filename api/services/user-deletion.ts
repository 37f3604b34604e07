import type Koa from 'koa';
import { z } from 'zod';
import { conflict } from '../../shared/errors';
import type { DeleteUserInput } from '../../workflows/delete-user';
import type { Principal } from '../auth/principal';
import { booleanish } from '../http/schemas';
import type { OperationService } from './operations';
import type { UserService } from './users';

export const deleteUserOptions = z.object({
  reason: z.string().max(500).optional(),
  backup_data: booleanish.default(true),
  notify_user: booleanish.default(false),
  permanent: booleanish.default(false),
});

export type DeleteUserOptions = z.infer<typeof deleteUserOptions>;

/** Starting the delete-user operation, shared by the native route and seed 004's /api/delete_user. */
export class UserDeletion {
  constructor(
    private readonly operations: OperationService,
    private readonly users: UserService,
  ) {}

  async begin(ctx: Koa.Context, principal: Principal, userId: number, opts: DeleteUserOptions) {
    const idempotencyKey = ctx.get('idempotency-key') || undefined;
    const request = { userId, ...opts };
    const replay = await this.operations.replay(principal, idempotencyKey, request);
    if (replay) return replay;
    const user = await this.users.find(userId);
    if (principal.userId === user.id) throw conflict('You cannot delete your own account');
    const args: Omit<DeleteUserInput, 'operationId'> = {
      userId: user.id, reason: opts.reason ?? null, backupData: opts.backup_data, notifyUser: opts.notify_user, permanent: opts.permanent,
    };
    return this.operations.start({
      type: 'user.delete',
      resource: { type: 'user', id: user.id, name: user.username },
      principal,
      idempotencyKey,
      request,
      params: { reason: args.reason, backup_data: args.backupData, notify_user: args.notifyUser, permanent: args.permanent },
      workflow: 'deleteUserWorkflow',
      args,
      summary: `Delete user ${user.username}${opts.permanent ? ' permanently' : ''}${opts.backup_data ? ' with backup' : ''}`,
    });
  }

  async start(ctx: Koa.Context, principal: Principal, userId: number, opts: DeleteUserOptions) {
    const started = await this.begin(ctx, principal, userId, opts);
    return this.operations.respond(ctx, principal, started, (result) => result, 'User deleted');
  }
}
