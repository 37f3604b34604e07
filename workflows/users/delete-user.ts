import { proxyActivities } from '@temporalio/workflow';
import type { UserActivities } from '../../activities/users/deletion';
import type { MailActivities } from '../../activities/platform/mail';
import type { OperationInput } from '../../shared/platform/operations';
import { runOperation } from '../platform/operation';

export interface DeleteUserInput extends OperationInput {
  userId: number;
  reason: string | null;
  backupData: boolean;
  notifyUser: boolean;
  permanent: boolean;
}

export interface DeleteUserResult {
  deleted_user: string;
  deleted_at: string;
  deletion_type: 'soft_delete' | 'hard_delete';
  backup_file: string | null;
  backup_id: number | null;
  backup_sha256: string | null;
  notification_sent: boolean;
  reason: string | null;
}

const users = proxyActivities<UserActivities>({
  startToCloseTimeout: '2m',
  heartbeatTimeout: '10s',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['RESOURCE_NOT_FOUND', 'CONFLICT'] },
});
const mail = proxyActivities<MailActivities>({ startToCloseTimeout: '1m', retry: { maximumAttempts: 3 } });

/** Runbook: delete a user, keeping a checksummed backup of everything that was theirs (seed 004 delete_user). */
export async function deleteUserWorkflow(input: DeleteUserInput): Promise<DeleteUserResult> {
  return runOperation(input.operationId, async (op) => {
    const user = await op.step('check', 5, 'Checking the user can be deleted', () => users.checkUserDeletable({ userId: input.userId }));

    let backup: { id: number; file: string; sha256: string } | null = null;
    if (input.backupData) {
      backup = await op.step('backup', 20, `Exporting ${user.username}'s data to a zip archive`, () =>
        users.exportUserBackup({ operationId: input.operationId, userId: input.userId }));
      op.onUndo('backup', () => users.removeUserBackup({ operationId: input.operationId }));
    }

    const deletion = await op.step('delete', 70, input.permanent ? 'Deleting the user permanently' : 'Deactivating and marking the user deleted', () =>
      users.deleteUserRecord({ operationId: input.operationId, userId: input.userId, permanent: input.permanent, reason: input.reason }));

    let notificationSent = false;
    if (input.notifyUser && user.email) {
      notificationSent = await op.step('notify', 90, `Telling ${user.username} by email`, async () => {
        try {
          return (await mail.sendMail({
            key: `${input.operationId}:notify`,
            to: user.email!,
            subject: 'Your account has been deleted',
            text: `Hello ${user.username},\n\nyour account was deleted${input.reason ? ` (reason: ${input.reason})` : ''}.\n`,
          })).sent;
        } catch {
          return false; // The account is gone either way; a mail that could not go out is reported, not fatal.
        }
      });
    }

    return {
      deleted_user: user.username,
      deleted_at: deletion.deletedAt,
      deletion_type: input.permanent ? 'hard_delete' : 'soft_delete',
      backup_file: backup?.file ?? null,
      backup_id: backup?.id ?? null,
      backup_sha256: backup?.sha256 ?? null,
      notification_sent: notificationSent,
      reason: input.reason,
    };
  });
}
