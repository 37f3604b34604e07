import type Koa from 'koa';
import type { Knex } from 'knex';
import type { Principal } from '../auth/principal';

export interface AuditRecord {
  module: string;
  action: string;
  message: string;
  level?: 'INFO' | 'WARNING' | 'ERROR';
  resourceType?: string;
  resourceId?: string | number;
  details?: Record<string, unknown>;
  userId?: number | null;
  username?: string | null;
}

/** The audit trail: who did what, from where. It feeds seed 003's /logs and seed 002's activities. */
export async function audit(knex: Knex, ctx: Koa.Context | null, principal: Principal | null, rec: AuditRecord): Promise<void> {
  await knex('audit_log').insert({
    level: rec.level ?? 'INFO',
    module: rec.module,
    action: rec.action,
    message: rec.message,
    user_id: rec.userId !== undefined ? rec.userId : (principal?.userId ?? null),
    username: rec.username !== undefined ? rec.username : (principal?.username ?? null),
    ip_address: ctx?.ip ?? null,
    request_id: ctx?.state.requestId ?? null,
    resource_type: rec.resourceType ?? null,
    resource_id: rec.resourceId !== undefined ? String(rec.resourceId) : null,
    details: JSON.stringify({ ...(rec.details ?? {}), ...(ctx ? { user_agent: ctx.get('user-agent') || undefined } : {}) }),
  });
}
