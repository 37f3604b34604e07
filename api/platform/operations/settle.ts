import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';

type PendingActivity = NonNullable<WorkflowExecutionDescription['raw']['pendingActivities']>[number];
/** temporal.api.enums.v1.PendingActivityState */
const PENDING_ACTIVITY_STATE_STARTED = 2;
import { Operation } from '../../../db/models/platform/operation';
import type { ActivityDeps } from '../../../activities/platform/deps';
import { publishOperationEnded } from '../../../activities/webhooks/publish';
import { searchAttributeKeys, TERMINAL_STATUSES, type OperationError, type OperationStatus, type WorkflowStart } from '../../../shared/platform/operations';

/** Temporal calls made while a request waits are bounded: an unreachable server answers 503, never a hang. */
export const START_DEADLINE_MS = 5000;
/** How long reads may spend asking Temporal about the rows they show, all together. */
const READ_BUDGET_MS = 1000;
/** A pending row younger than this may still have the API's start in flight (bounded above). */
export const START_GRACE_MS = 2 * START_DEADLINE_MS;
/** A pending row with no stored start (a workflow registered it, then starts it as a child) is given this long. */
const REGISTERED_GRACE_MS = 10 * 60_000;
const PARALLEL = 8;
export const ACTIVE_STATUSES: OperationStatus[] = ['pending', 'running'];

const TEMPORAL_STATUS: Record<string, OperationStatus | undefined> = {
  COMPLETED: 'succeeded', FAILED: 'failed', CANCELLED: 'canceled', TERMINATED: 'failed', TIMED_OUT: 'failed',
};

/** Starts (or, from a reconcile, starts again: idempotent by workflow id) the workflow of an operation. */
export function startOperationWorkflow(temporal: Client, id: string, start: WorkflowStart) {
  return temporal.withDeadline(Date.now() + START_DEADLINE_MS, () => temporal.workflow.start(start.workflowType, {
    workflowId: id,
    taskQueue: start.taskQueue,
    args: start.args,
    staticSummary: start.summary,
    typedSearchAttributes: Object.entries(start.attributes).map(([k, value]) => ({ key: searchAttributeKeys[k as keyof typeof searchAttributeKeys], value: value! })),
  }));
}

type Verdict = { status: OperationStatus; error: OperationError | null; finished_at: Date } | null;

/** What Temporal says of one active row: its end when the workflow ended unrecorded, null to leave it as it is. */
async function verdictOf(temporal: Client, op: Operation, deadline: number, unstick: boolean): Promise<Verdict> {
  try {
    const description = await temporal.withDeadline(deadline, () => temporal.workflow.getHandle(op.id).describe());
    const status = TEMPORAL_STATUS[description.status.name];
    if (!status) {
      if (unstick) await failOverdueActivities(temporal, op.id, description.runId, description.raw.pendingActivities ?? [], deadline);
      return null;
    }
    const error = status === 'succeeded' ? null : { code: description.status.name, message: `The workflow ended as ${description.status.name.toLowerCase()} without recording an outcome` };
    return { status, error, finished_at: description.closeTime ?? new Date() };
  } catch (err) {
    // Temporal unreachable or slow: the row stays as it is, a later read or sweep settles it.
    if (!(err instanceof WorkflowNotFoundError)) return null;
  }
  const age = Date.now() - new Date(op.created_at).getTime();
  if (op.status === 'running') {
    return { status: 'failed', error: { code: 'WORKFLOW_LOST', message: 'The workflow is gone from Temporal (terminated and removed, or lost with its database)' }, finished_at: new Date() };
  }
  if (op.workflow_start && age >= START_GRACE_MS) {
    try {
      await startOperationWorkflow(temporal, op.id, op.workflow_start);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) return null;
    }
    return null;
  }
  if (!op.workflow_start && age >= REGISTERED_GRACE_MS) {
    return { status: 'failed', error: { code: 'WORKFLOW_NEVER_STARTED', message: 'The workflow of this operation was never started (the process that recorded it stopped first); nothing was done' }, finished_at: new Date() };
  }
  return null;
}

type Timestamp = { seconds?: unknown; nanos?: number | null } | null | undefined;
const seconds = (v: unknown) => (v && typeof v === 'object' && 'toNumber' in v ? (v as { toNumber(): number }).toNumber() : Number(v ?? 0));
const millis = (t: Timestamp) => (t ? seconds(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0);
/** Beyond its own timeout: Temporal should have timed the attempt out by now. */
const OVERDUE_MARGIN_MS = 5000;

/**
 * An activity attempt started before the Temporal server restarted may be left started with its timeout never firing
 * (seen with the dev server's SQLite store): past its heartbeat or start-to-close timeout, it is failed by id, as a
 * retryable failure, so its retry policy runs it again (activities are idempotent).
 */
async function failOverdueActivities(temporal: Client, workflowId: string, runId: string, pending: PendingActivity[], deadline: number) {
  for (const a of pending) {
    if (a.state !== PENDING_ACTIVITY_STATE_STARTED || !a.activityId) continue;
    const heartbeat = millis(a.activityOptions?.heartbeatTimeout as Timestamp);
    const timeout = heartbeat || millis(a.activityOptions?.startToCloseTimeout as Timestamp);
    const since = Math.max(millis(a.lastStartedTime as Timestamp), heartbeat ? millis(a.lastHeartbeatTime as Timestamp) : 0);
    if (!timeout || !since || Date.now() < since + timeout + OVERDUE_MARGIN_MS) continue;
    await temporal.withDeadline(deadline, () => temporal.activity.fail({ workflowId, runId, activityId: a.activityId! }, new Error('The attempt outlived its timeout without Temporal timing it out; retried')))
      .catch(() => undefined);
  }
}

/** Told of every row a settlement ended (its webhook event is published there); it handles its own failures. */
export type OnSettled = (op: Operation) => Promise<void>;

/** Publishes the `operation.*` webhook event of a row a settlement ended, as the workflow would have; a failure is logged. */
export const publishingSettled = (deps: Pick<ActivityDeps, 'knex' | 'config' | 'logger'>): OnSettled => (op) =>
  publishOperationEnded(deps, op.id).catch((err) => deps.logger.warn({ operationId: op.id, err: { message: (err as Error).message } }, 'the webhook event of a settled operation was not published'));

async function record(op: Operation, v: NonNullable<Verdict>, onSettled?: OnSettled): Promise<Operation> {
  const [updated] = await Operation.query().whereIn('id', [op.id]).whereNotIn('status', TERMINAL_STATUSES as OperationStatus[]).patch({
    status: v.status, error: v.error, finished_at: v.finished_at, updated_at: new Date(),
    progress_step: v.status, progress_message: v.error?.message ?? 'Succeeded',
  }).returning('*') as unknown as Operation[];
  if (!updated) return (await Operation.query().findById(op.id)) ?? op;
  await Operation.knex()('operation_events')
    .insert({ operation_id: op.id, event_key: 'finished', step: v.status, level: v.error ? 'error' : 'info', message: v.error?.message ?? 'Operation succeeded', data: v.error ? JSON.stringify(v.error) : null })
    .onConflict(['operation_id', 'event_key']).ignore();
  await onSettled?.(updated);
  return updated;
}

/** Runs `fn` on every item, at most `limit` at once, keeping the order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/**
 * Brings active rows in line with Temporal, wherever rows are read or block: a workflow that ended without recording it
 * (terminated, timed out) settles its row; a running row whose workflow is gone fails as lost; a pending row whose workflow
 * never started is started from its stored request (idempotent by workflow id), or fails when there is none.
 * Temporal is asked about several rows at once, all within `budgetMs`; rows it cannot answer for stay as they are.
 * `unstick` (the sweep) also fails activity attempts Temporal left running past their timeout; `onSettled` hears of
 * every row ended here.
 */
export async function settleOperations(temporal: Client, ops: Operation[], budgetMs = READ_BUDGET_MS, unstick = false, onSettled?: OnSettled): Promise<Operation[]> {
  const deadline = Date.now() + budgetMs;
  return mapLimit(ops, PARALLEL, async (op) => {
    if (TERMINAL_STATUSES.includes(op.status) || Date.now() >= deadline) return op;
    const verdict = await verdictOf(temporal, op, deadline, unstick);
    return verdict ? record(op, verdict, onSettled) : op;
  });
}

/** The first operation still active among those `where` selects, after settling them: what blocks new work, if anything. */
export async function activeOperation(temporal: Client, where: Partial<Pick<Operation, 'host' | 'resource_type' | 'resource_id'>>, onSettled?: OnSettled): Promise<Operation | undefined> {
  const active = await Operation.query().where(where).whereIn('status', ACTIVE_STATUSES).orderBy('created_at').limit(20);
  if (!active.length) return undefined;
  return (await settleOperations(temporal, active, READ_BUDGET_MS, false, onSettled)).find((op) => !TERMINAL_STATUSES.includes(op.status));
}
