import {
  CancellationScope, CancelledFailure, executeChild, isCancellation, proxyActivities, workflowInfo,
} from '@temporalio/workflow';
import type { AdhocTarget, DbsyncActivities, SyncRecordResult, TestConnectionResult } from '../../activities/dbsync/activities';
import type { OperationActivities } from '../../activities/platform/operations';
import { searchAttributeKeys, type OperationInput } from '../../shared/platform/operations';
import { describeError, runOperation, type OperationRun } from '../platform/operation';

const dbsync = proxyActivities<DbsyncActivities>({
  startToCloseTimeout: '2m',
  retry: { maximumAttempts: 10, maximumInterval: '10s', nonRetryableErrorTypes: ['RESOURCE_NOT_FOUND', 'CONFLICT'] },
});
/** Long work that heartbeats (syncing an instance, classifying every account): a dead worker's is retried in seconds. */
const syncing = proxyActivities<DbsyncActivities>({
  startToCloseTimeout: '15m',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 5, nonRetryableErrorTypes: ['RESOURCE_NOT_FOUND'] },
});

const operations = proxyActivities<OperationActivities>({ startToCloseTimeout: '15s', retry: { maximumInterval: '10s' } });
const probing = proxyActivities<DbsyncActivities>({ startToCloseTimeout: '2m', retry: { maximumAttempts: 2 } });

/** Test a connection from a worker (the API never talks to database servers itself). */
export async function testConnectionWorkflow(input: { instanceId?: number; adhoc?: AdhocTarget; timeoutMs?: number }): Promise<TestConnectionResult> {
  return probing.dbTestConnection(input);
}

/** One instance of a sync session: read its accounts, store them, log the changes. */
export async function syncInstanceWorkflow(input: { sessionId: string; instanceId: number }): Promise<SyncRecordResult> {
  return syncing.syncInstanceAccounts(input);
}

export interface SyncSessionInput {
  syncType: 'manual_single' | 'manual_batch' | 'manual_task' | 'scheduled_task';
  instanceIds: number[] | null;
  dbType: string | null;
  createdBy: number | null;
  jobId: string | null;
  concurrency: number;
}

export interface SyncSessionResult {
  session_id: string;
  status: string;
  total_instances: number;
  successful_instances: number;
  failed_instances: number;
  cancelled_instances: number;
}

/**
 * Runbook of a sync session: create the session and its per-instance records, run one child workflow per instance with
 * bounded concurrency, record the outcome. A cancel lets running instances finish and starts no new one.
 */
async function runSyncSession(sessionId: string, input: SyncSessionInput, operationId: string | null, op?: OperationRun): Promise<SyncSessionResult> {
  let cancelled = false;
  CancellationScope.current().cancelRequested.catch(() => { cancelled = true; });
  const create = () => dbsync.createSyncSession({ sessionId, syncType: input.syncType, createdBy: input.createdBy, jobId: input.jobId, operationId, instanceIds: input.instanceIds, dbType: input.dbType });
  const { instances } = op ? await op.step('prepare', 5, 'Creating the sync session and its instance records', create) : await create();
  const queue = instances.filter((i) => i.status === 'pending' || i.status === 'running');
  let finished = instances.length - queue.length;
  await CancellationScope.nonCancellable(async () => {
    const lane = async () => {
      while (!cancelled && queue.length) {
        const inst = queue.shift()!;
        const run = async () => {
          try {
            await executeChild(syncInstanceWorkflow, {
              workflowId: `${sessionId}--i${inst.id}`,
              args: [{ sessionId, instanceId: inst.id }],
              staticSummary: `Sync accounts of ${inst.name}`.slice(0, 190),
              typedSearchAttributes: [
                { key: searchAttributeKeys.operationType, value: 'dbsync.instance_sync' },
                { key: searchAttributeKeys.resourceType, value: 'db_instance' },
                { key: searchAttributeKeys.resourceId, value: String(inst.id) },
              ],
            });
          } catch (err) {
            await dbsync.failSyncRecord({ sessionId, instanceId: inst.id, error: describeError(err).message });
          }
        };
        const percent = 10 + Math.round((80 * finished) / Math.max(1, instances.length));
        if (op) await op.step(`sync:${inst.id}`, percent, `Syncing accounts of ${inst.name}`, run);
        else await run();
        finished++;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(input.concurrency, queue.length)) }, lane));
  });
  // guardedSession marks the instances not started as cancelled and ends the session.
  if (cancelled) throw new CancelledFailure('The sync session was cancelled');
  const finish = () => dbsync.finishSyncSession({ sessionId });
  return op ? op.step('finish', 95, 'Recording the session outcome', finish) : finish();
}

async function guardedSession(sessionId: string, input: SyncSessionInput, operationId: string | null, op?: OperationRun) {
  try {
    return await runSyncSession(sessionId, input, operationId, op);
  } catch (err) {
    // Whatever stage it stopped at, the session row ends; repeating these is harmless.
    await CancellationScope.nonCancellable(async () => {
      if (isCancellation(err)) {
        await dbsync.cancelSyncRecords({ sessionId });
        await dbsync.finishSyncSession({ sessionId, status: 'cancelled', error: 'Cancelled by request' });
      } else {
        await dbsync.finishSyncSession({ sessionId, status: 'failed', error: describeError(err).message });
      }
    });
    throw err;
  }
}

/** A sync session started from the API: an operation whose id is also the session id. */
export async function syncSessionWorkflow(input: SyncSessionInput & OperationInput): Promise<SyncSessionResult> {
  return runOperation(input.operationId, (op) => guardedSession(input.operationId, input, input.operationId, op));
}

export interface ClassifyInput {
  batchType: 'manual' | 'scheduled';
  instanceIds: number[] | null;
  dbType: string | null;
  createdBy: number | null;
  jobId: string | null;
}

async function runClassification(batchId: string, input: ClassifyInput, operationId: string | null, op?: OperationRun) {
  try {
    const create = () => dbsync.createClassificationBatch({ batchId, batchType: input.batchType, createdBy: input.createdBy, jobId: input.jobId, operationId, instanceIds: input.instanceIds, dbType: input.dbType });
    if (op) await op.step('prepare', 10, 'Creating the classification batch', create); else await create();
    const classify = () => syncing.classifyAccounts({ batchId });
    return op ? await op.step('classify', 30, 'Evaluating the rules against every active account', classify) : await classify();
  } catch (err) {
    await CancellationScope.nonCancellable(() => dbsync.failClassificationBatch({ batchId, status: isCancellation(err) ? 'cancelled' : 'failed', error: describeError(err).message }));
    throw err;
  }
}

/** A classification run ("batch") started from the API. */
export async function classifyAccountsWorkflow(input: ClassifyInput & OperationInput) {
  return runOperation(input.operationId, (op) => runClassification(input.operationId, input, input.operationId, op));
}

/** What a job's Temporal Schedule starts: the job is read at run time; the run's id is the session or batch id. */
export async function scheduledJobWorkflow(input: { jobId: string }) {
  const job = await dbsync.loadScheduledJob({ jobId: input.jobId });
  const id = workflowInfo().workflowId;
  const classify = job.task_type === 'classify_accounts';
  await operations.registerOperation({
    operationId: id, type: classify ? 'dbsync.classify' : 'dbsync.accounts', resourceType: 'job', resourceId: job.id, resourceName: job.name,
    createdBy: job.created_by, params: { job_id: job.id, scheduled: true },
  });
  const common = { instanceIds: job.instance_ids, dbType: job.db_type, createdBy: job.created_by, jobId: job.id };
  return runOperation<object>(id, (op) => (classify
    ? runClassification(id, { ...common, batchType: 'scheduled' }, id, op)
    : guardedSession(id, { ...common, syncType: 'scheduled_task', concurrency: job.concurrency }, id, op)));
}
