import type { Knex } from 'knex';

const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString() : null);

/** A row of `alerts` (migration 014): one firing of a rule for one source. */
export interface AlertRow {
  id: string;
  rule_id: string;
  source: string;
  host: string | null;
  status: 'active' | 'resolved';
  level: string;
  current_value: number | null;
  threshold_value: number;
  fired_at: Date;
  resolved_at: Date | null;
  resolve_reason: string | null;
  updated_at: Date;
}

/** An alert with its rule's name, description and metric. */
export interface AlertWithRule extends AlertRow {
  name: string;
  description: string | null;
  metric_name: string;
}

/** An alert (one firing) as seed 003 shows it, with its rule's name and description. */
export function presentAlert(a: AlertWithRule) {
  return {
    id: a.id, rule_id: a.rule_id, name: a.name, description: a.description ?? null,
    level: a.level, status: a.status as string, metric_name: a.metric_name, host: a.host ?? null,
    source: a.source, threshold_value: Number(a.threshold_value), current_value: a.current_value === null ? null : Number(a.current_value),
    created_at: iso(a.fired_at)!, updated_at: iso(a.updated_at)!, resolved_at: iso(a.resolved_at), resolve_reason: a.resolve_reason ?? null,
  };
}

export type AlertView = ReturnType<typeof presentAlert>;

/** Alerts joined with their rule's name, description and metric (rows: AlertWithRule). */
export const alertsQuery = (knex: Knex | Knex.Transaction) => knex('alerts as a').join('alert_rules as r', 'r.id', 'a.rule_id')
  .select('a.*', 'r.name', 'r.description', 'r.metric_name');

const typedAlerts = (knex: Knex | Knex.Transaction) => alertsQuery(knex) as unknown as Knex.QueryBuilder<AlertWithRule, AlertWithRule[]>;

export async function findAlert(knex: Knex, id: string): Promise<AlertWithRule | undefined> {
  return typedAlerts(knex).where('a.id', id).first() as Promise<AlertWithRule | undefined>;
}

export async function alertsByIds(knex: Knex | Knex.Transaction, ids: string[]): Promise<AlertWithRule[]> {
  return typedAlerts(knex).whereIn('a.id', ids);
}

/** The active alerts, newest first, at most `limit`. */
export async function activeAlerts(knex: Knex, limit: number): Promise<AlertWithRule[]> {
  return typedAlerts(knex).where('a.status', 'active').orderBy('a.fired_at', 'desc').limit(limit);
}

/** Alerts newest first, optionally of one status, level or rule: a query to paginate. */
export function listAlerts(knex: Knex, f: { status?: string; level?: string; rule_id?: string }) {
  const q = typedAlerts(knex).orderBy('a.fired_at', 'desc');
  if (f.status) q.where('a.status', f.status);
  if (f.level) q.where('a.level', f.level);
  if (f.rule_id) q.where('a.rule_id', f.rule_id);
  return q;
}

/** Resolves a rule's active alerts (it is being deleted); the ids resolved. */
export async function resolveActiveAlertsOfRule(trx: Knex.Transaction, ruleId: string, reason: string): Promise<string[]> {
  const rows: Array<{ id: string }> = await trx('alerts').where({ rule_id: ruleId, status: 'active' })
    .update({ status: 'resolved', resolved_at: trx.fn.now(), resolve_reason: reason, updated_at: trx.fn.now() }, ['id']);
  return rows.map((r) => r.id);
}
