import { z } from 'zod';
import { conflict, type AppError, type ErrorCode } from '../../../shared/platform/errors';
import { OPERATION_STATUSES, type Progress } from '../../../shared/platform/operations';
import type { Operation } from '../../../db/models/platform/operation';
import { dbId, iso } from '../http/schemas';

export const BASE = '/api/v1/operations';

export const operationSchema = z.object({
  id: z.string(),
  type: z.string(),
  status: z.enum(OPERATION_STATUSES),
  resource: z.object({ type: z.string(), id: z.string(), name: z.string().nullable() }),
  host: z.string().nullable(),
  progress: z.object({ percent: z.number(), step: z.string().nullable(), message: z.string().nullable() }),
  created_by: z.number().nullable(),
  created_at: z.string().nullable(),
  updated_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  result: z.record(z.string(), z.unknown()).nullable(),
  error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }).nullable(),
  links: z.object({ self: z.string(), wait: z.string(), cancel: z.string(), events: z.string(), resource: z.string().nullable() }),
});

export type OperationView = z.infer<typeof operationSchema>;

export function presentOperation(op: Operation, live?: Progress): OperationView {
  const self = `${BASE}/${encodeURIComponent(op.id)}`;
  return {
    id: op.id,
    type: op.type,
    status: op.status,
    resource: { type: op.resource_type, id: op.resource_id, name: op.resource_name },
    host: op.host,
    progress: live ?? { percent: op.progress_percent, step: op.progress_step, message: op.progress_message },
    created_by: op.created_by,
    created_at: iso(op.created_at),
    updated_at: iso(op.updated_at),
    finished_at: iso(op.finished_at),
    result: op.result,
    error: op.error,
    links: { self, wait: `${self}/wait`, cancel: `${self}/cancel`, events: `${self}/events`, resource: op.resource_url ?? null },
  };
}

export const operationEventSchema = z.object({
  id: z.number(), at: z.string().nullable(), level: z.string(), step: z.string().nullable(),
  percent: z.number().nullable(), message: z.string().nullable(), data: z.record(z.string(), z.unknown()).nullable(),
});

export const listOperationsQuery = z.object({
  type: z.string().max(64).optional(),
  status: z.enum(OPERATION_STATUSES).optional(),
  resource_type: z.string().max(64).optional(),
  resource_id: z.string().max(128).optional(),
  user: dbId.optional(),
});

const PASSED_THROUGH: ErrorCode[] = ['VALIDATION_ERROR', 'RESOURCE_NOT_FOUND', 'CONFLICT', 'INSUFFICIENT_PERMISSIONS', 'SERVICE_UNAVAILABLE'];

/**
 * The HTTP error for a failed operation's code: an engine that refused or could not be reached after the retries
 * (ENGINE_ERROR, or an activity's own error type) is a dependency failing, 503; not supported is the caller's 400; a
 * cancel is a conflict; anything else is ours, 500.
 */
export function answerCodeOf(code: string): ErrorCode {
  if ((PASSED_THROUGH as string[]).includes(code)) return code as ErrorCode;
  if (code === 'ENGINE_ERROR' || code === 'Error') return 'SERVICE_UNAVAILABLE';
  if (code === 'NOT_SUPPORTED') return 'BAD_REQUEST';
  if (code === 'CANCELED') return 'CONFLICT';
  return 'INTERNAL_ERROR';
}


/**
 * The 409 for a resource another operation holds: it names the running operation (id, type) only to its creator and
 * admins; anyone else learns only that the resource is busy, not another user's operation id or links.
 */
export function busyConflict(
  viewer: { userId: number | null; admin: boolean },
  running: Pick<Operation, 'id' | 'type' | 'created_by'> | undefined,
  resource: { type: string; id: string | number },
): AppError {
  if (running && (viewer.admin || (viewer.userId !== null && running.created_by === viewer.userId))) {
    return conflict(`Operation ${running.id} is already running on ${resource.type} ${resource.id}`, { operation_id: running.id, operation_type: running.type });
  }
  return conflict(`Another operation is already running on ${resource.type} ${resource.id}; try again when it has finished`, { resource_type: resource.type, resource_id: String(resource.id) });
}
