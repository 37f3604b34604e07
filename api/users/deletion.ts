import { z } from 'zod';
import { conflict } from '../../shared/platform/errors';
import { deleteUserWorkflow } from '../../workflows/users/delete-user';
import type { Caller } from '../platform/caller';
import { booleanish } from '../platform/http/schemas';
import type { OperationService } from '../platform/operations/service';
import type { UserService } from './service';

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

  begin(caller: Caller, userId: number, opts: DeleteUserOptions) {
    return this.operations.start(caller, { userId, ...opts }, async () => {
      const user = await this.users.find(userId);
      if (caller.principal.userId === user.id) throw conflict('You cannot delete your own account');
      const input = { userId: user.id, reason: opts.reason ?? null, backupData: opts.backup_data, notifyUser: opts.notify_user, permanent: opts.permanent };
      return {
        type: 'user.delete',
        resource: { type: 'user', id: user.id, name: user.username, url: `/api/v1/users/${user.id}` },
        params: { reason: input.reason, backup_data: input.backupData, notify_user: input.notifyUser, permanent: input.permanent },
        workflow: deleteUserWorkflow,
        input,
        summary: `Delete user ${user.username}${opts.permanent ? ' permanently' : ''}${opts.backup_data ? ' with backup' : ''}`,
      };
    });
  }

  async start(caller: Caller, userId: number, opts: DeleteUserOptions) {
    const started = await this.begin(caller, userId, opts);
    return this.operations.respond(caller, started, (result) => result, 'User deleted');
  }
}
