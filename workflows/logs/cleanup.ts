import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { LogActivities } from '../../activities/logs/activities';
import type { OperationActivities } from '../../activities/platform/operations';
import type { OperationInput } from '../../shared/platform/operations';
import { runOperation } from '../platform/operation';

// The purge heartbeats after every batch: a worker that dies is noticed after 10 s and another carries on.
const purge = proxyActivities<LogActivities>({ startToCloseTimeout: '6h', heartbeatTimeout: '10s', retry: { maximumAttempts: 20 } });
const operations = proxyActivities<OperationActivities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 10 } });

export interface LogCleanupInput extends OperationInput {
  /** ISO time: entries older than this go. */
  before: string;
  days: number;
  batchSize: number;
}

export interface LogCleanupResult { deleted: number; batches: number; before: string; days: number }

async function cleanupRunbook(input: LogCleanupInput): Promise<LogCleanupResult> {
  return runOperation(input.operationId, async (op) => {
    const r = await op.step('purge', 10, `Deleting log entries older than ${input.before} (${input.days} days), ${input.batchSize} at a time`,
      () => purge.purgeLogEntries({ before: input.before, batchSize: input.batchSize }));
    return { deleted: r.deleted, batches: r.batches, before: input.before, days: input.days };
  });
}

/** Runbook: delete log entries older than N days, started through the API. */
export async function logCleanupWorkflow(input: LogCleanupInput): Promise<LogCleanupResult> {
  return cleanupRunbook(input);
}

/** What the retention Schedule starts each day: the same runbook, recorded as an operation. */
export async function logRetentionWorkflow(input: { days: number; batchSize: number }): Promise<LogCleanupResult> {
  const info = workflowInfo();
  const operationId = info.workflowId;
  const before = new Date(info.startTime.getTime() - input.days * 86_400_000).toISOString();
  await operations.registerOperation({
    operationId, type: 'logs.cleanup', resourceType: 'log_store', resourceId: 'log_entries', resourceName: `retention ${input.days} days (scheduled)`,
    createdBy: null, params: { days: input.days, before, scheduled: true },
  });
  return cleanupRunbook({ operationId, before, days: input.days, batchSize: input.batchSize });
}
