import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Config } from '../../shared/platform/config';
import { searchAttributeKeys } from '../../shared/platform/operations';
import { logRetentionWorkflow } from '../../workflows/logs/cleanup';

export const LOG_RETENTION_SCHEDULE = 'idcflow-log-retention';
/** Daily, at a quiet minute. */
export const LOG_RETENTION_CRON = '17 3 * * *';
export const CLEANUP_BATCH = 5000;

/**
 * The retention Schedule (IDCFLOW_LOG_RETENTION_DAYS; 0 removes it): every day a `logs.cleanup` operation deletes the
 * entries older than that, in batches. Made or brought up to date when a worker starts; visible and pausable in the
 * Temporal UI like any Schedule.
 */
export async function ensureLogRetentionSchedule(temporal: Client, config: Config): Promise<'created' | 'updated' | 'removed' | 'unchanged'> {
  const handle = temporal.schedule.getHandle(LOG_RETENTION_SCHEDULE);
  const days = config.logs.retentionDays;
  const action = {
    type: 'startWorkflow' as const, workflowType: logRetentionWorkflow, args: [{ days, batchSize: CLEANUP_BATCH }] as [{ days: number; batchSize: number }],
    taskQueue: config.taskQueue, workflowId: `${LOG_RETENTION_SCHEDULE}-run`, staticSummary: `Log retention: delete entries older than ${days} days`,
    typedSearchAttributes: [
      { key: searchAttributeKeys.operationType, value: 'logs.cleanup' },
      { key: searchAttributeKeys.resourceType, value: 'log_store' },
      { key: searchAttributeKeys.resourceId, value: 'log_entries' },
    ],
  };
  let existing: Awaited<ReturnType<typeof handle.describe>> | null = null;
  try {
    existing = await handle.describe();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  if (!days) {
    if (!existing) return 'unchanged';
    await handle.delete();
    return 'removed';
  }
  if (!existing) {
    await temporal.schedule.create({
      scheduleId: LOG_RETENTION_SCHEDULE, spec: { cronExpressions: [LOG_RETENTION_CRON] }, action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
    });
    return 'created';
  }
  const current = existing.action.type === 'startWorkflow' ? (existing.action.args?.[0] as { days?: number } | undefined) : undefined;
  if (current?.days === days && existing.action.type === 'startWorkflow' && existing.action.taskQueue === config.taskQueue) return 'unchanged';
  await handle.update((prev) => ({ ...prev, action }));
  return 'updated';
}
