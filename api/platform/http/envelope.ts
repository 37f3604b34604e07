import type { AppError } from '../../../shared/platform/errors';

/** The response conventions of each surface: idcflow's own (seed 003) and the compat surfaces of seeds 000/001/002/004. */
export type Surface = 'native' | 'seed000' | 'seed001' | 'seed002' | 'seed004';

let lastMs = 0;
let lastIso = '';
/** The answer's timestamp (formatted once per millisecond). */
const now = () => {
  const ms = Date.now();
  if (ms !== lastMs) { lastMs = ms; lastIso = new Date(ms).toISOString(); }
  return lastIso;
};

interface Envelope {
  success(data: unknown, message: string | undefined, status: number): unknown;
  error(err: AppError): unknown;
  /** The HTTP status of an error on this surface, when its seed documents another than idcflow's. */
  status?(err: AppError): number;
}

const plainObject = (data: unknown) => (data && typeof data === 'object' && !Array.isArray(data) ? data : { data });

export const ENVELOPES: Record<Surface, Envelope> = {
  native: {
    success: (data, message) => ({ success: true, data: data ?? null, ...(message ? { message } : {}), timestamp: now() }),
    error: (err) => ({ success: false, error: { code: err.code, message: err.message, details: err.details }, timestamp: now() }),
  },
  // OpenIDCS: {code, msg, data}
  seed001: {
    success: (data, message, status) => ({ code: status, msg: message ?? 'success', data: data ?? {} }),
    error: (err) => ({ code: err.status, msg: err.message, data: { error: err.code, details: err.details } }),
  },
  // WhaleFall: {status, data, message}
  seed002: {
    success: (data, message) => ({ status: 'success', data: data ?? null, message: message ?? '操作成功' }),
    error: (err) => ({ status: 'error', error: err.code, message: err.message, code: err.status, details: err.details }),
  },
  // DERP rental and user-data service: plain JSON objects. Seed 000 documents invalid data as 400 {"error": …}.
  seed000: {
    success: (data, message) => ({ ...(message ? { message } : {}), ...plainObject(data) }),
    error: (err) => ({ error: err.message, code: err.code, details: err.details }),
    status: (err) => (err.code === 'VALIDATION_ERROR' ? 400 : err.status),
  },
  seed004: {
    success: (data, message) => ({ ...(message ? { message } : {}), ...plainObject(data) }),
    error: (err) => ({ error: err.message, code: err.code, details: err.details }),
  },
};
