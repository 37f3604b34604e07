import crypto from 'node:crypto';
import { z } from 'zod';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { AppError, conflict, notFound } from '../../../shared/platform/errors';
import { TERMINAL_STATUSES, type OperationInput, type Progress, type WorkflowStart } from '../../../shared/platform/operations';
import { sha256 } from '../../../shared/platform/crypto';
import { Operation, OperationEvent } from '../../../db/models/platform/operation';
import { isUniqueViolation } from '../../../db/knex';
import type { AppDeps } from '../deps';
import { isAdmin, viewerOf, type Principal } from '../auth/principal';
import {  iso, paginate } from '../http/schemas';
import { Reply } from '../http/route';
import { progressQuery } from '../../../workflows/platform/operation-signals';
import type { Caller } from '../caller';
import { answerCodeOf, BASE, busyConflict, presentOperation, type listOperationsQuery, type OperationView } from './present';
import { activeOperation, publishingSettled, settleOperations, startOperationWorkflow, START_DEADLINE_MS, type OnSettled } from './settle';

/** A workflow that backs an operation: one input object that carries the operation's id. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OperationWorkflow = (input: OperationInput & any) => Promise<unknown>;
/** The workflow's own input, less the operation id the start fills in: the compiler checks it against the workflow's signature. */
export type WorkflowInput<W extends OperationWorkflow> = Omit<Parameters<W>[0], 'operationId'>;

/** What an operation is and which workflow runs it. */
export interface OperationSpec<W extends OperationWorkflow> {
  type: string;
  /**
   * `id` is the id the resource's own URL takes; `url` is that URL (an operation's `links.resource`), or a function of
   * the operation's id for resources named after their operation (sync sessions, batches).
   */
  resource: { type: string; id: string | number; name?: string | null; url?: string | ((operationId: string) => string) | null };
  host?: string | null;
  /** Stored with the operation; never secrets. */
  params?: Record<string, unknown>;
  workflow: W;
  input: WorkflowInput<W>;
  taskQueue?: string;
  summary: string;
}

export interface Started { operation: Operation; replayed: boolean }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class OperationService {
  private readonly settled: OnSettled;

  constructor(private readonly deps: AppDeps) {
    this.settled = publishingSettled(deps);
  }

  /**
   * The one way to start an operation. A repeated Idempotency-Key answers the operation the first request started
   * (before `prepare` validates again: the first request may have changed what validation sees); otherwise `prepare`
   * checks the request and says what to run, the row is inserted (a second operation on a busy resource is a 409
   * naming the running one) and the workflow is started with the operation's id as its workflow id.
   * `request` is the request as the client sent it, secrets removed: a key reused for another request is a 409.
   */
  async start<W extends OperationWorkflow>(caller: Caller, request: unknown, prepare: () => OperationSpec<W> | Promise<OperationSpec<W>>): Promise<Started> {
    const { temporal, config } = this.deps;
    const { principal, idempotencyKey } = caller;
    const requestHash = sha256(JSON.stringify(request ?? null));
    const replay = await this.replay(principal, idempotencyKey, request);
    if (replay) return replay;
    const spec = await prepare();
    const resourceId = String(spec.resource.id);
    const id = `${spec.type}-${resourceId}-${crypto.randomBytes(6).toString('hex')}`.replace(/[^A-Za-z0-9._-]/g, '_');
    const workflowStart: WorkflowStart = {
      workflowType: spec.workflow.name,
      taskQueue: spec.taskQueue ?? config.taskQueue,
      args: [{ ...spec.input, operationId: id }],
      summary: spec.summary.slice(0, 190),
      attributes: { operationType: spec.type, resourceType: spec.resource.type, resourceId, owner: principal.username, ...(spec.host ? { host: spec.host } : {}) },
    };
    let operation: Operation;
    try {
      operation = await this.insertSettlingBlocker({
        id, type: spec.type, status: 'pending', resource_type: spec.resource.type, resource_id: resourceId,
        resource_name: spec.resource.name ?? null, resource_url: (typeof spec.resource.url === 'function' ? spec.resource.url(id) : spec.resource.url) ?? null, host: spec.host ?? null, created_by: principal.userId,
        idempotency_key: idempotencyKey ?? null, request_hash: requestHash, params: spec.params ?? {}, workflow_start: workflowStart,
      });
    } catch (err) {
      // A simultaneous request with the same key may trip either index first: the key's operation answers both.
      if ((isUniqueViolation(err, 'operations_idempotency') || isUniqueViolation(err, 'operations_one_active_per_resource')) && idempotencyKey) {
        const existing = await this.byIdempotencyKey(principal.userId, idempotencyKey);
        if (existing) return { operation: this.checkSameRequest(existing, requestHash), replayed: true };
      }
      if (isUniqueViolation(err, 'operations_one_active_per_resource')) {
        const running = await Operation.query().where({ resource_type: spec.resource.type, resource_id: resourceId }).whereIn('status', ['pending', 'running']).first();
        throw busyConflict(viewerOf(principal), running, { type: spec.resource.type, id: resourceId });
      }
      throw err;
    }
    // Crash tests hold here (IDCFLOW_FAULT_DELAY="operationStart.gap:ms") to kill the API between the insert and the start.
    if (config.faultDelays['operationStart.gap']) await sleep(config.faultDelays['operationStart.gap']);
    try {
      await startOperationWorkflow(temporal, id, workflowStart);
    } catch (err) {
      // A reconcile may have started it first (the same workflow id): that is this start having happened.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) {
        const error = { code: 'SERVICE_UNAVAILABLE', message: 'Could not start the workflow: the workflow engine is unavailable' };
        await Operation.query().findById(id).where('status', 'pending').patch({ status: 'failed', error, finished_at: new Date(), updated_at: new Date() });
        throw new AppError('SERVICE_UNAVAILABLE', 'The workflow engine is unavailable; nothing was changed', { operation_id: id });
      }
    }
    return { operation, replayed: false };
  }

  /** The operation an earlier request with this Idempotency-Key started, if any (checked before validating again). */
  private async replay(principal: Principal, key: string | undefined, request: unknown): Promise<{ operation: Operation; replayed: true } | null> {
    if (!key) return null;
    const existing = await this.byIdempotencyKey(principal.userId, key);
    return existing ? { operation: this.checkSameRequest(existing, sha256(JSON.stringify(request ?? null))), replayed: true } : null;
  }

  private byIdempotencyKey(createdBy: number | null, key: string) {
    const q = Operation.query().where({ idempotency_key: key });
    return (createdBy === null ? q.whereNull('created_by') : q.where({ created_by: createdBy })).first();
  }

  private checkSameRequest(existing: Operation, requestHash: string): Operation {
    if (existing.request_hash !== requestHash) {
      throw conflict('This Idempotency-Key was used for a different request', { operation_id: existing.id });
    }
    return existing;
  }

  /** An operation the principal may see; anyone else's is a 404, as if it did not exist. */
  async find(principal: Principal, id: string): Promise<Operation> {
    const op = await Operation.query().findById(id);
    if (!op || (!isAdmin(principal) && op.created_by !== principal.userId)) throw notFound('operation', id);
    return op;
  }

  /**
   * Inserts the row; when an active operation holds the resource, settles it against Temporal first (its workflow may
   * have been terminated or lost) and tries once more, so only a live operation blocks new work.
   */
  private async insertSettlingBlocker(row: Partial<Operation>): Promise<Operation> {
    try {
      return await Operation.query().insertAndFetch(row);
    } catch (err) {
      if (!isUniqueViolation(err, 'operations_one_active_per_resource')) throw err;
      if (await activeOperation(this.deps.temporal, { resource_type: row.resource_type, resource_id: row.resource_id }, this.settled)) throw err;
      return Operation.query().insertAndFetch(row);
    }
  }

  private async reconcile(op: Operation): Promise<Operation> {
    return (await settleOperations(this.deps.temporal, [op], undefined, false, this.settled))[0];
  }

  /** Live progress from the workflow's query, by `deadline`; the stored row when the workflow cannot answer by then. */
  private async liveProgress(op: Operation, deadline: number): Promise<Progress | undefined> {
    if (op.status !== 'running' || Date.now() >= deadline) return undefined;
    try {
      return await this.deps.temporal.withDeadline(deadline, () => this.deps.temporal.workflow.getHandle(op.id).query(progressQuery));
    } catch {
      return undefined;
    }
  }

  /** An operation, settled against Temporal and with its live progress, all within a second (the row alone when Temporal is away). */
  async get(principal: Principal, id: string): Promise<OperationView> {
    const deadline = Date.now() + 1000;
    const op = (await settleOperations(this.deps.temporal, [await this.find(principal, id)], 1000, false, this.settled))[0];
    return presentOperation(op, await this.liveProgress(op, deadline));
  }

  async list(principal: Principal, q: z.infer<typeof listOperationsQuery> & { page: number; size: number }) {
    const query = Operation.query().orderBy('created_at', 'desc').orderBy('id');
    for (const key of ['type', 'status', 'resource_type', 'resource_id'] as const) if (q[key]) query.where(key, q[key]!);
    if (!isAdmin(principal)) query.where('created_by', principal.userId ?? -1);
    else if (q.user) query.where('created_by', q.user);
    const { items, pagination } = await paginate(query, q.page, q.size);
    return { operations: (await settleOperations(this.deps.temporal, items, undefined, false, this.settled)).map((op) => presentOperation(op)), pagination };
  }

  /** Long poll: answers when the operation ends or after `timeoutSeconds`, whichever is first. */
  async wait(principal: Principal, id: string, timeoutSeconds: number): Promise<Operation> {
    let op = await this.find(principal, id);
    const deadline = Date.now() + timeoutSeconds * 1000;
    while (!TERMINAL_STATUSES.includes(op.status) && Date.now() < deadline) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), Math.min(deadline - Date.now(), 5000));
      try {
        await this.deps.temporal.withAbortSignal(controller.signal, () => this.deps.temporal.workflow.getHandle(op.id).result());
      } catch {
        // Failure, cancellation and the poll's own timeout all lead to re-reading the row.
      } finally {
        clearTimeout(timer);
      }
      op = await this.reconcile((await Operation.query().findById(id))!);
      // The workflow records its end in an activity just before it closes; give that write a moment.
      if (!TERMINAL_STATUSES.includes(op.status) && Date.now() < deadline) await sleep(50);
    }
    return op;
  }

  async cancel(principal: Principal, id: string): Promise<Operation> {
    const op = await this.find(principal, id);
    if (TERMINAL_STATUSES.includes(op.status)) throw conflict(`Operation ${id} has already ${op.status}`, { status: op.status });
    try {
      await this.deps.temporal.withDeadline(Date.now() + START_DEADLINE_MS, () => this.deps.temporal.workflow.getHandle(id).cancel());
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw new AppError('SERVICE_UNAVAILABLE', 'The workflow engine is unavailable');
    }
    return op;
  }

  async events(principal: Principal, id: string) {
    await this.find(principal, id);
    const events = await OperationEvent.query().where({ operation_id: id }).orderBy('id');
    return events.map((e) => ({ id: e.id, at: iso(e.at), level: e.level, step: e.step, percent: e.percent, message: e.message, data: e.data }));
  }

  /**
   * For endpoints whose seed documents a synchronous answer: wait up to the bound, then answer like the seed
   * (`present` shapes the result) with the operation attached; still running, answer 202 with the operation.
   * `Prefer: respond-async` gets the 202 at once.
   */
  async respond(caller: Caller, started: { operation: Operation }, present: (result: Record<string, unknown>) => Record<string, unknown>, message: string): Promise<Reply> {
    const headers = { Location: `${BASE}/${encodeURIComponent(started.operation.id)}` };
    const async = Boolean(caller.respondAsync);
    const op = async ? started.operation : await this.wait(caller.principal, started.operation.id, this.deps.config.operationWaitSeconds);
    const view = presentOperation(op);
    const ref = { id: view.id, status: view.status, links: view.links };
    if (op.status === 'succeeded') return new Reply({ ...present(op.result ?? {}), operation: ref }, { status: 200, message, headers });
    if (op.status === 'failed' || op.status === 'canceled') {
      const code = op.error?.code ?? 'INTERNAL_ERROR';
      throw new AppError(answerCodeOf(code), op.error?.message ?? `Operation ${op.status}`, { ...(op.error?.details ?? {}), ...(code !== answerCodeOf(code) ? { reason: code } : {}), operation: ref });
    }
    return new Reply({ operation: view }, { status: 202, message: 'Accepted: the operation is still running', headers });
  }

  /** The plain 202 answer of a route that starts an operation. */
  accepted(started: { operation: Operation; replayed: boolean }, message = 'Operation accepted'): Reply {
    const view = presentOperation(started.operation);
    return new Reply({ operation: view }, { status: 202, message: started.replayed ? 'Operation already accepted for this Idempotency-Key' : message, headers: { Location: view.links.self } });
  }
}
