import type Koa from 'koa';
import type { Principal } from './auth/principal';
import { DEVICE_COOKIE } from './auth/device-cookie';

/** Where a request came from: kept in the audit trail and in sessions. */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  /** The sign-in device cookie the request carried (read by sign-ins only; see auth/device-cookie.ts). */
  device?: string | null;
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
  return {
    ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null, requestId: (ctx.state.requestId as string | undefined) ?? null,
    device: ctx.cookies.get(DEVICE_COOKIE) ?? null,
  };
}

export function callerOf(ctx: Koa.Context, principal: Principal): Caller {
  const { device: _device, ...client } = clientOf(ctx); // the device cookie is for sign-ins only, never carried further
  return {
    ...client,
    principal,
    idempotencyKey: ctx.get('idempotency-key') || undefined,
    respondAsync: /respond-async/i.test(ctx.get('prefer')),
  };
}

/** A caller acting for the platform itself (schedules, start-up tasks). */
export const systemCaller = (principal: Principal): Caller => ({ principal, ip: null, userAgent: null, requestId: null });
