import crypto from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import { AppError } from '../../shared/platform/errors';
import type { AppDeps } from '../platform/deps';
import { answerCodeOf } from '../platform/operations/present';
import { engineReadWorkflow, IMAGE_LIST_SECONDS, type EngineReadInput } from '../../workflows/compute/runbooks';

const TIMEOUT_MARGIN_SECONDS = 15;

/** Maps a failed engine read (or operation) to the API's error codes. */
function readError(err: unknown): AppError {
  let cause: unknown = err;
  while (cause instanceof TemporalFailure && !(cause instanceof ApplicationFailure) && cause.cause) cause = cause.cause;
  if (err instanceof WorkflowFailedError && err.cause) {
    cause = err.cause;
    while (cause instanceof TemporalFailure && !(cause instanceof ApplicationFailure) && cause.cause) cause = cause.cause;
  }
  if (cause instanceof ApplicationFailure) {
    const code = cause.type ?? 'ENGINE_ERROR';
    if (code === 'SERVICE_UNAVAILABLE') return new AppError('SERVICE_UNAVAILABLE', cause.message, (cause.details?.[0] as Record<string, unknown>) ?? {});
    // The same codes as failed operations answer; a read fails only in the engine, so nothing here is a 500 of ours.
    const answer = answerCodeOf(code) === 'INTERNAL_ERROR' ? 'SERVICE_UNAVAILABLE' : answerCodeOf(code);
    return new AppError(answer, cause.message, answer === code ? {} : { reason: code });
  }
  return new AppError('SERVICE_UNAVAILABLE', `The engine could not be reached: ${(cause as Error)?.message ?? 'unknown error'}`);
}

/** Reads of live engine state, each one bounded engine call through a short workflow: the API never calls an engine itself. */
export class EngineReads {
  constructor(private readonly deps: AppDeps) {}

  /** One bounded engine read through a short workflow (the API never calls an engine itself). */
  async read(hostId: number, kind: EngineReadInput['kind'], ref?: string): Promise<unknown> {
    const { agentWaitSeconds, instanceWaitSeconds } = this.deps.config.compute;
    const waitSeconds = Math.min(agentWaitSeconds, 10);
    try {
      return await this.deps.temporal.workflow.execute(engineReadWorkflow, {
        workflowId: `engine-read-${kind}-${hostId}-${crypto.randomBytes(6).toString('hex')}`,
        taskQueue: this.deps.config.taskQueue,
        args: [{ hostId, kind, ref, instanceWaitSeconds, agentWaitSeconds: waitSeconds }],
        workflowExecutionTimeout: `${waitSeconds + (kind === 'images' ? IMAGE_LIST_SECONDS : 0) + TIMEOUT_MARGIN_SECONDS}s`,
      });
    } catch (err) {
      throw readError(err);
    }
  }
}
