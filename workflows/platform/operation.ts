import {
  ActivityFailure, ApplicationFailure, CancellationScope, isCancellation, patched, proxyLocalActivities, setCurrentDetails, setHandler,
  TemporalFailure,
} from '@temporalio/workflow';
import type { OperationActivities } from '../../activities/platform/operations';
import type { OperationError, Progress } from '../../shared/platform/operations';
import { progressQuery } from './operation-signals';

// Bookkeeping writes are short and idempotent: local activities, run by the worker that runs the workflow,
// without a round trip through the server for each step.
const bookkeeping = proxyLocalActivities<OperationActivities>({
  startToCloseTimeout: '15s',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
});

/** A failure's code, message and details, as activities raise them (ApplicationFailure type = error code). */
export function describeError(err: unknown): OperationError {
  if (isCancellation(err)) return { code: 'CANCELED', message: 'The operation was canceled' };
  const failure = err instanceof ActivityFailure && err.cause ? err.cause : err;
  if (failure instanceof ApplicationFailure) {
    const details = failure.details?.[0];
    return { code: failure.type ?? 'INTERNAL_ERROR', message: failure.message, ...(details && typeof details === 'object' ? { details: details as Record<string, unknown> } : {}) };
  }
  return { code: 'INTERNAL_ERROR', message: err instanceof Error ? err.message : String(err) };
}

/** The state of one running operation: its steps, progress and the undo actions of the steps done so far. */
export class OperationRun {
  progress: Progress = { percent: 0, step: 'starting', message: 'Starting' };
  private readonly undoStack: Array<{ name: string; undo: () => Promise<unknown> }> = [];
  private seq = 0;
  private started = false;

  /**
   * `overlapped`: each step's event is written while the step runs (two local activities of one activation) and the
   * first one with the operation's start, instead of one write after another before it; false replays the histories
   * of operations started before (see runOperation).
   */
  constructor(readonly operationId: string, readonly overlapped = false) {}

  private async record(step: string, percent: number, message: string, level: 'info' | 'warn' = 'info') {
    this.progress = { percent, step, message };
    setCurrentDetails(`**${step}** (${percent}%): ${message}`);
    const event = { key: `${++this.seq}:${step}`, step, percent, message, level };
    if (this.overlapped && !this.started) {
      this.started = true;
      return bookkeeping.operationStarted({ operationId: this.operationId, event });
    }
    await bookkeeping.recordStep({ operationId: this.operationId, ...event });
  }

  /** Marks the operation running (with no step recorded yet): at the start, or at the end of a runbook that recorded no step. */
  async begin(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await bookkeeping.operationStarted({ operationId: this.operationId });
  }

  /** Runs one step of the runbook, recording it in the operation's event log as it starts; both end before the next step. */
  async step<T>(step: string, percent: number, message: string, action: () => Promise<T>): Promise<T> {
    if (!this.overlapped) {
      await this.record(step, percent, message);
      return action();
    }
    const [recorded, done] = await Promise.allSettled([this.record(step, percent, message), action()]);
    if (done.status === 'rejected') throw done.reason;
    if (recorded.status === 'rejected') throw recorded.reason;
    return done.value;
  }

  /** Registers how to undo a step that has succeeded; undone in reverse order if a later step fails or on cancel. */
  onUndo(name: string, undo: () => Promise<unknown>): void {
    this.undoStack.push({ name, undo });
  }

  /** Undoes every step done, newest first; an undo that fails is recorded and the others still run. */
  async undoAll(): Promise<Array<{ step: string } & OperationError>> {
    const failures: Array<{ step: string } & OperationError> = [];
    while (this.undoStack.length) {
      const { name, undo } = this.undoStack.pop()!;
      await this.record(`undo:${name}`, this.progress.percent, `Undoing ${name}`, 'warn');
      try {
        await undo();
      } catch (err) {
        const failure = describeError(err);
        failures.push({ step: name, ...failure });
        await this.record(`undo-failed:${name}`, this.progress.percent, `Undoing ${name} failed: ${failure.message}`, 'warn');
      }
    }
    return failures;
  }
}

/**
 * Wraps an operation workflow: marks it running, keeps the operations row and the event log in step,
 * and on failure or cancellation undoes what was done before recording the outcome.
 */
export async function runOperation<T extends object>(operationId: string, body: (op: OperationRun) => Promise<T>): Promise<T> {
  // Operations started before the overlapped bookkeeping replay their history as it was written.
  const op = new OperationRun(operationId, patched('operation-overlapped-bookkeeping'));
  setHandler(progressQuery, () => op.progress);
  if (!op.overlapped) await op.begin();
  try {
    const result = await body(op);
    await op.begin();
    op.progress = { percent: 100, step: 'done', message: 'Succeeded' };
    await bookkeeping.operationFinished({ operationId, status: 'succeeded', result: result as Record<string, unknown> });
    return result;
  } catch (err) {
    const canceled = isCancellation(err);
    const error = describeError(err);
    await CancellationScope.nonCancellable(async () => {
      await op.begin();
      const undoFailures = await op.undoAll();
      // A rollback that could not finish is said, with what is left to put right by hand.
      if (undoFailures.length) error.details = { ...error.details, undo_failures: undoFailures };
      await bookkeeping.operationFinished({ operationId, status: canceled ? 'canceled' : 'failed', error });
    });
    if (err instanceof TemporalFailure) throw err;
    throw ApplicationFailure.nonRetryable(error.message, error.code);
  }
}
