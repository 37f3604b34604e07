import crypto from 'node:crypto';
import type Koa from 'koa';
import client from 'prom-client';
import { AppError } from '../../../shared/platform/errors';
import { isDatabaseUnavailable } from '../../../db/knex';
import type { Logger } from '../../../shared/platform/logger';
import { ENVELOPES, type Surface } from './envelope';

/** A request's `ctx.state`: its id, and a child logger carrying it, made only when something logs through it. */
class RequestState {
  [key: string]: unknown;
  private child: Logger | undefined;
  constructor(private readonly logger: Logger, readonly requestId: string) {}
  get log(): Logger {
    return (this.child ??= this.logger.child({ reqId: this.requestId }));
  }
}

/** Request id on every response and log line: the caller's X-Request-Id when it is sane, else a new one. One line per request. */
export function requestContext(logger: Logger): Koa.Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = /^[A-Za-z0-9._-]{8,64}$/.test(incoming) ? incoming : crypto.randomUUID();
    ctx.state = new RequestState(logger, requestId);
    ctx.set('X-Request-Id', requestId);
    const started = performance.now();
    try {
      await next();
    } finally {
      if (logger.isLevelEnabled('info')) {
        const ms = Math.round((performance.now() - started) * 10) / 10;
        logger.info({ reqId: requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms }, 'request');
      }
    }
  };
}

/** On every answer, errors included: browsers never sniff a type other than the one sent. */
export function securityHeaders(): Koa.Middleware {
  return async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    await next();
  };
}

/** An HTML page of ours: never framed (clickjacking), and loading only what `policy` allows. */
export function pageHeaders(ctx: Koa.Context, policy: string): void {
  ctx.set('Content-Security-Policy', `${policy}; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`);
  ctx.set('X-Frame-Options', 'DENY');
}

export function metrics(registry: client.Registry): Koa.Middleware {
  const duration = new client.Histogram({
    name: 'idcflow_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30],
    registers: [registry],
  });
  // One labels object per method, route and status: prom-client copies and checks a new one on every observation otherwise.
  const labelSets = new Map<string, { method: string; route: string; status: string }>();
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const route = (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      const key = `${ctx.method} ${ctx.status} ${route}`;
      let labels = labelSets.get(key);
      if (!labels) labelSets.set(key, (labels = { method: ctx.method, route, status: String(ctx.status) }));
      duration.observe(labels, (performance.now() - started) / 1000);
    }
  };
}

/** Every error leaves in the envelope of the surface that was called; unexpected ones as INTERNAL_ERROR without internals. */
export function errorHandler(): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new AppError('RESOURCE_NOT_FOUND', `No route for ${ctx.method} ${ctx.path}`);
      if ((ctx.status === 405 || ctx.status === 501) && ctx.body === undefined) {
        throw new AppError('METHOD_NOT_ALLOWED', `${ctx.method} is not allowed on ${ctx.path}; see the Allow header`);
      }
    } catch (raw) {
      const err = toAppError(raw);
      if (err.status === 500) {
        // Only type, message and stack: never request bodies, which may hold secrets.
        const e = raw as Error;
        ctx.state.log?.error({ err: { type: e?.name, message: e?.message, stack: e?.stack } }, 'request failed');
      }
      const surface: Surface = ctx.state.surface ?? 'native';
      for (const [k, v] of Object.entries(err.headers)) ctx.set(k, v);
      const envelope = ENVELOPES[surface];
      ctx.status = envelope.status?.(err) ?? err.status;
      ctx.body = envelope.error(err);
    }
  };
}

function toAppError(raw: unknown): AppError {
  if (raw instanceof AppError) return raw;
  if (isDatabaseUnavailable(raw)) return new AppError('SERVICE_UNAVAILABLE', 'The database is unavailable; try again shortly', {}, { 'Retry-After': '2' });
  const e = raw as { status?: number; name?: string; type?: string };
  if (e?.status === 413) return new AppError('PAYLOAD_TOO_LARGE', 'Request body too large', { field: 'body' });
  if (e?.status === 415) return new AppError('BAD_REQUEST', 'Send the body as application/json', { field: 'body' });
  if (e?.status && e.status >= 400 && e.status < 500) {
    const malformed = e.name === 'SyntaxError' || e.type === 'entity.parse.failed';
    return new AppError('BAD_REQUEST', malformed ? 'Malformed JSON body' : 'Bad request', { field: 'body' });
  }
  return new AppError('INTERNAL_ERROR', 'Internal server error');
}
