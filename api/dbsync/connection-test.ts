import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../../shared/platform/errors';
import type { AppDeps } from '../platform/deps';
import type { TestConnectionResult } from '../../activities/dbsync/activities';
import { testConnectionWorkflow } from '../../workflows/dbsync/runbooks';

/** What a worker may add to a test's own timeout (picking the task up, opening the driver) before the API answers anyway. */
export const TEST_GRACE_MS = 5000;

/**
 * Runs a connection test on a worker and answers within its timeout (plus the grace): the worker's result, or, past
 * that, "timeout" when a worker is at it and 503 when none took it up. The workflow is ended either way.
 */
export async function runConnectionTest(
  deps: AppDeps, args: Parameters<typeof testConnectionWorkflow>[0], timeoutSeconds: number, target: string,
): Promise<TestConnectionResult> {
  const { temporal, config } = deps;
  const budgetMs = timeoutSeconds * 1000 + TEST_GRACE_MS;
  const handle = await temporal.workflow.start(testConnectionWorkflow, {
    workflowId: `dbtest-${crypto.randomBytes(8).toString('hex')}`, taskQueue: config.taskQueue, args: [args],
    workflowExecutionTimeout: `${Math.ceil(budgetMs / 1000) + 30}s`,
  }).catch(() => {
    throw new AppError('SERVICE_UNAVAILABLE', 'The connection test could not start: Temporal is unreachable');
  });
  const abort = new AbortController();
  const outcome = await Promise.race([
    handle.result().then((result) => ({ result }), (err: Error) => ({ failed: err })),
    sleep(budgetMs, null, { signal: abort.signal }).catch(() => null),
  ]).finally(() => abort.abort());
  if (outcome && 'result' in outcome) return outcome.result;
  if (outcome) throw new AppError('SERVICE_UNAVAILABLE', `The connection test failed on the worker: ${(outcome.failed.cause as Error | undefined)?.message ?? outcome.failed.message}`);
  const running = await handle.describe().then((d) => (d.raw.pendingActivities ?? []).some((a) => a.lastStartedTime), () => false);
  await handle.terminate('the connection test ran past its timeout').catch(() => undefined);
  if (!running) throw new AppError('SERVICE_UNAVAILABLE', `The connection test could not run: no worker took it up within ${Math.round(budgetMs / 1000)} s`);
  return { success: false, error_type: 'timeout', message: `No answer from ${target} within ${timeoutSeconds} s`, server_version: null, latency_ms: budgetMs };
}
