export type ErrorCode =
  | 'VALIDATION_ERROR'
  | 'BAD_REQUEST'
  | 'PAYLOAD_TOO_LARGE'
  | 'INVALID_CREDENTIALS'
  | 'TOKEN_EXPIRED'
  | 'INSUFFICIENT_PERMISSIONS'
  | 'RESOURCE_NOT_FOUND'
  | 'CONFLICT'
  | 'PRECONDITION_FAILED'
  | 'METHOD_NOT_ALLOWED'
  | 'RATE_LIMIT_EXCEEDED'
  | 'INTERNAL_ERROR'
  | 'SERVICE_UNAVAILABLE';

const STATUS: Record<ErrorCode, number> = {
  VALIDATION_ERROR: 422,
  BAD_REQUEST: 400,
  PAYLOAD_TOO_LARGE: 413,
  INVALID_CREDENTIALS: 401,
  TOKEN_EXPIRED: 401,
  INSUFFICIENT_PERMISSIONS: 403,
  RESOURCE_NOT_FOUND: 404,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  METHOD_NOT_ALLOWED: 405,
  RATE_LIMIT_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
};

export interface FieldError {
  field: string;
  /** body, query or params */
  location?: string;
  message: string;
}

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

export const notFound = (what: string, id: string | number) =>
  new AppError('RESOURCE_NOT_FOUND', `${what} ${id} not found`, { resource: what, id: String(id) });

export const forbidden = (message = 'You do not have permission for this action') =>
  new AppError('INSUFFICIENT_PERMISSIONS', message);

export const conflict = (message: string, details: Record<string, unknown> = {}) => new AppError('CONFLICT', message, details);

/** A validation error naming each bad field; `field`/`message` repeat the first one, as seed 003 shows. */
export function validationError(errors: FieldError[], message = 'Validation failed'): AppError {
  const [first] = errors;
  return new AppError('VALIDATION_ERROR', message, { field: first?.field, message: first?.message, errors });
}

/** Why a request cannot go ahead, said once for the API (an HTTP error) and for the runbooks (a failure). */
export interface Problem {
  code: 'CONFLICT' | 'VALIDATION_ERROR';
  message: string;
  field?: string;
  details?: Record<string, unknown>;
}

/** A rule's problem as the API answers it: 422 naming the field, or 409. */
export function problemError(p: Problem): AppError {
  if (p.code === 'CONFLICT') return conflict(p.message, { ...(p.field ? { field: p.field } : {}), ...(p.details ?? {}) });
  return validationError([{ field: p.field ?? 'body', message: p.message }], p.field ? `${p.field} ${p.message}` : p.message);
}

/** Runs a write; a unique-key violation becomes a 409 with this message (and the field that clashed). */
export async function uniqueOr409<T>(write: () => Promise<T>, message: string, field?: string): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const e = err as { code?: string; nativeError?: { code?: string } };
    if ((e?.nativeError ?? e)?.code === '23505') throw conflict(message, field ? { field } : {});
    throw err;
  }
}
