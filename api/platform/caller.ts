import type Koa from 'koa';
import type { Principal } from './auth/principal';

/** Where a request came from: kept in the audit trail and in sessions. */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

/** Who asks, and how: what a service needs of a request, without the request. A workflow, a CLI or a test can build one. */
export interface Caller extends ClientInfo {
  principal: Principal;
  /** The request's Idempotency-Key: a repeated request returns the operation the first one started. */
  idempotencyKey?: string;
  /** `Prefer: respond-async`: answer 202 at once instead of waiting for the operation. */
  respondAsync?: boolean;
}

export function clientOf(ctx: Koa.Context): ClientInfo {
  return { ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null, requestId: (ctx.state.requestId as string | undefined) ?? null };
}

export function callerOf(ctx: Koa.Context, principal: Principal): Caller {
  return {
    ...clientOf(ctx),
    principal,
    idempotencyKey: ctx.get('idempotency-key') || undefined,
    respondAsync: /respond-async/i.test(ctx.get('prefer')),
  };
}

/** A caller acting for the platform itself (schedules, start-up tasks). */
export const systemCaller = (principal: Principal): Caller => ({ principal, ip: null, userAgent: null, requestId: null });
