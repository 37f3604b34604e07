import { proxyActivities, uuid4, workflowInfo } from '@temporalio/workflow';
import type { AvailabilityActivities } from '../../activities/availability/backups';
import type { OperationActivities } from '../../activities/platform/operations';
import { backupId as makeBackupId, type BackupType } from '../../shared/availability/backups';
import type { OperationInput } from '../../shared/platform/operations';
import { describeError, runOperation } from '../platform/operation';

const NOT_RETRIED = ['RESOURCE_NOT_FOUND', 'CONFLICT', 'VALIDATION_ERROR', 'SERVICE_UNAVAILABLE'];
const quick = proxyActivities<AvailabilityActivities>({ startToCloseTimeout: '1m', retry: { maximumAttempts: 5, nonRetryableErrorTypes: NOT_RETRIED } });
// Dumps, archives and restores heartbeat: a worker that dies is noticed after the heartbeat timeout, not the deadline.
const long = proxyActivities<AvailabilityActivities>({ startToCloseTimeout: '6h', heartbeatTimeout: '10s', retry: { maximumAttempts: 5, nonRetryableErrorTypes: NOT_RETRIED } });
const operations = proxyActivities<OperationActivities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 10 } });

export interface PlatformBackupInput extends OperationInput {
  backupId: string;
  name: string;
  type: BackupType;
  createdBy: number | null;
  scheduleName?: string | null;
}

export interface PlatformBackupResult {
  backup_id: string; name: string; type: BackupType; file_path: string; size_bytes: number; checksum: string; parts: number; pruned: string[];
}

async function backupRunbook(input: PlatformBackupInput): Promise<PlatformBackupResult> {
  return runOperation(input.operationId, async (op) => {
    await op.step('record', 5, `Recording backup ${input.backupId}`, () => quick.recordBackupStarted({
      backupId: input.backupId, name: input.name, type: input.type, operationId: input.operationId, scheduleName: input.scheduleName ?? null, createdBy: input.createdBy,
    }));
    let failure = 'The backup did not finish';
    op.onUndo('record', () => quick.markBackupFailed({ backupId: input.backupId, error: failure }));
    const written = await op.step('archive', 10, `Writing the ${input.type} archive (pg_dump, files, settings, manifest with SHA-256)`, async () => {
      try {
        return await long.writePlatformBackup({ backupId: input.backupId });
      } catch (err) {
        failure = describeError(err).message;
        throw err;
      }
    });
    const pruned = await op.step('retention', 90, 'Deleting backups beyond the retention (count and age)', () => quick.prunePlatformBackups({ keep: input.backupId }));
    return { backup_id: input.backupId, name: input.name, type: input.type, file_path: written.file, size_bytes: written.size_bytes, checksum: written.sha256, parts: written.parts, pruned };
  });
}

/** Runbook: one platform backup, started through the API. */
export async function platformBackupWorkflow(input: PlatformBackupInput): Promise<PlatformBackupResult> {
  return backupRunbook(input);
}

/** What a backup Temporal Schedule starts: the same runbook, recorded as an operation like one started by hand. */
export async function scheduledPlatformBackupWorkflow(input: { schedule: string }): Promise<PlatformBackupResult | null> {
  const schedule = await quick.loadBackupSchedule({ name: input.schedule });
  if (!schedule) return null;
  const operationId = workflowInfo().workflowId;
  const backupId = makeBackupId(new Date(), uuid4().replace(/-/g, '').slice(0, 6));
  await operations.registerOperation({
    operationId, type: 'availability.backup', resourceType: 'backup', resourceId: backupId, resourceName: `${input.schedule} (scheduled)`,
    createdBy: schedule.created_by, params: { schedule: input.schedule, backup_type: schedule.backup_type, scheduled: true },
  });
  return backupRunbook({ operationId, backupId, name: `${input.schedule} (scheduled)`, type: schedule.backup_type, createdBy: schedule.created_by, scheduleName: input.schedule });
}

export interface PlatformRestoreInput extends OperationInput {
  backupId: string;
  targetDir: string | null;
}

/**
 * Runbook: restore a platform backup. Verify first (nothing is touched by an archive that fails), then refuse writes
 * while the database is replaced in one transaction, then the files; maintenance ends however the restore ends.
 */
export async function platformRestoreWorkflow(input: PlatformRestoreInput) {
  const { operationId, backupId } = input;
  return runOperation(operationId, async (op) => {
    op.onUndo('staging', () => quick.cleanupRestoreStaging({ operationId }));
    const verified = await op.step('verify', 5, `Verifying backup ${backupId}: archive SHA-256, member paths, every part against the manifest`, () => long.verifyPlatformBackup({ backupId, operationId }));
    let database: { entries: number; kept: string[] } | null = null;
    if (verified.database) {
      await op.step('maintenance', 20, 'Maintenance: the API refuses changes (503) while the database is restored', () => quick.setRestoreMaintenance({ operationId, backupId }));
      op.onUndo('maintenance', () => quick.clearRestoreMaintenance({ operationId }));
      database = await op.step('database', 30, 'Restoring the database with pg_restore in one transaction', () => long.restorePlatformDatabase({ operationId }));
    }
    let files = { files: 0, target: '' };
    if (verified.files || verified.config) {
      files = await op.step('files', 80, 'Restoring files inside the target directory', () => long.restorePlatformFiles({ operationId, backupId, targetDir: input.targetDir }));
    }
    if (verified.database) await op.step('end-maintenance', 95, 'Maintenance over: changes are accepted again', () => quick.clearRestoreMaintenance({ operationId }));
    await op.step('cleanup', 98, 'Removing the verified parts', () => quick.cleanupRestoreStaging({ operationId }));
    return {
      backup_id: backupId, database_restored: Boolean(database), tables_kept: database?.kept ?? [], files_restored: files.files, target_dir: files.target || null,
    };
  });
}
