import type { OperationError, OperationStatus } from '../../shared/platform/operations';
import type { ActivityDeps } from './deps';
import { publishOperationEnded } from '../webhooks/publish';

const TERMINAL = ['succeeded', 'failed', 'canceled'];

/** One step of a runbook as its event log records it; `key` makes the write safe to repeat. */
interface StepEvent {
  key: string;
  step: string;
  percent: number;
  message: string;
  level: 'info' | 'warn';
}

const eventRow = (operationId: string, e: StepEvent) => ({ operation_id: operationId, event_key: e.key, step: e.step, percent: e.percent, message: e.message, level: e.level });

/** Keeps the operations table and its event log in step with the workflow; every call is safe to repeat. */
export function createOperationActivities({ knex, config }: ActivityDeps) {
  return {
    /**
     * The row of an operation that something other than the API started (a schedule): same table, same history.
     * While an earlier run on the same resource is still active, the run is recorded against `<resource>#<run>`.
     */
    async registerOperation(e: { operationId: string; type: string; resourceType: string; resourceId: string; resourceName: string | null; createdBy: number | null; params: Record<string, unknown> }): Promise<void> {
      const row = { id: e.operationId, type: e.type, status: 'pending', resource_type: e.resourceType, resource_name: e.resourceName, created_by: e.createdBy, params: JSON.stringify(e.params) };
      try {
        await knex('operations').insert({ ...row, resource_id: e.resourceId }).onConflict('id').ignore();
      } catch (err) {
        if ((err as { constraint?: string }).constraint !== 'operations_one_active_per_resource') throw err;
        await knex('operations').insert({ ...row, resource_id: `${e.resourceId}#${e.operationId}` }).onConflict('id').ignore();
      }
    },

    /** `event`: the first step's, written with the start (one local activity instead of two). */
    async operationStarted({ operationId, event }: { operationId: string; event?: StepEvent }): Promise<void> {
      // Started: the stored start request (kept for a reconcile) is no longer needed.
      const progress = event ? { progress_percent: event.percent, progress_step: event.step, progress_message: event.message } : {};
      await knex('operations').where({ id: operationId, status: 'pending' }).update({ status: 'running', workflow_start: null, ...progress, updated_at: knex.fn.now() });
      await knex('operation_events').insert([
        { operation_id: operationId, event_key: 'started', step: 'started', percent: 0, message: 'Operation started' },
        ...(event ? [eventRow(operationId, event)] : []),
      ]).onConflict(['operation_id', 'event_key']).ignore();
    },

    async recordStep(e: { operationId: string } & StepEvent): Promise<void> {
      const inserted = await knex('operation_events').insert(eventRow(e.operationId, e)).onConflict(['operation_id', 'event_key']).ignore().returning('id');
      if (inserted.length) {
        await knex('operations').where({ id: e.operationId }).whereNotIn('status', TERMINAL)
          .update({ progress_percent: e.percent, progress_step: e.step, progress_message: e.message, updated_at: knex.fn.now() });
      }
    },

    async operationFinished(e: { operationId: string; status: Extract<OperationStatus, 'succeeded' | 'failed' | 'canceled'>; result?: Record<string, unknown>; error?: OperationError }): Promise<void> {
      // The row and the event at once: both are safe to repeat, and nothing reads one expecting the other first.
      await Promise.all([knex('operations').where({ id: e.operationId }).whereNotIn('status', TERMINAL).update({
        status: e.status,
        result: e.result ? JSON.stringify(e.result) : null,
        error: e.error ? JSON.stringify(e.error) : null,
        progress_percent: e.status === 'succeeded' ? 100 : knex.ref('progress_percent'),
        progress_step: e.status,
        progress_message: e.status === 'succeeded' ? 'Succeeded' : e.error?.message ?? e.status,
        finished_at: knex.fn.now(),
        updated_at: knex.fn.now(),
      }), knex('operation_events')
        .insert({ operation_id: e.operationId, event_key: 'finished', step: e.status, level: e.status === 'succeeded' ? 'info' : 'error', message: e.error?.message ?? 'Operation succeeded', data: e.error ? JSON.stringify(e.error) : null })
        .onConflict(['operation_id', 'event_key']).ignore()]);
      await publishOperationEnded({ knex, config }, e.operationId);
    },
  };
}

export type OperationActivities = ReturnType<typeof createOperationActivities>;
