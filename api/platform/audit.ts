import type { Knex } from 'knex';
import type { Principal } from './auth/principal';
import type { ClientInfo } from './caller';

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

/** Who did it and from where: a caller, or just a client before anyone signed in. */
export type AuditSource = Partial<ClientInfo> & { principal?: Principal | null };

/** The audit trail: who did what, from where. It feeds seed 003's /logs and seed 002's activities. */
export async function audit(knex: Knex, from: AuditSource | null, rec: AuditRecord): Promise<void> {
  const principal = from?.principal ?? null;
  await knex('audit_log').insert({
    level: rec.level ?? 'INFO',
    module: rec.module,
    action: rec.action,
    message: rec.message,
    user_id: rec.userId !== undefined ? rec.userId : (principal?.userId ?? null),
    username: rec.username !== undefined ? rec.username : (principal?.username ?? null),
    ip_address: from?.ip ?? null,
    request_id: from?.requestId ?? null,
    resource_type: rec.resourceType ?? null,
    resource_id: rec.resourceId !== undefined ? String(rec.resourceId) : null,
    details: JSON.stringify({ ...(rec.details ?? {}), ...(from?.userAgent ? { user_agent: from.userAgent } : {}) }),
  });
}
