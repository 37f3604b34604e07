import type { Knex } from 'knex';

const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString() : null);

/** An alert (one firing) as seed 003 shows it, with its rule's name and description. */
export function presentAlert(a: Record<string, any>) { // eslint-disable-line @typescript-eslint/no-explicit-any
  return {
    id: a.id as string, rule_id: a.rule_id as string, name: a.name as string, description: (a.description ?? null) as string | null,
    level: a.level as string, status: a.status as string, metric_name: a.metric_name as string, host: (a.host ?? null) as string | null,
    source: a.source as string, threshold_value: Number(a.threshold_value), current_value: a.current_value === null ? null : Number(a.current_value),
    created_at: iso(a.fired_at)!, updated_at: iso(a.updated_at)!, resolved_at: iso(a.resolved_at), resolve_reason: (a.resolve_reason ?? null) as string | null,
  };
}

export type AlertView = ReturnType<typeof presentAlert>;

/** Alerts joined with their rule's name, description and metric. */
export const alertsQuery = (knex: Knex | Knex.Transaction) => knex('alerts as a').join('alert_rules as r', 'r.id', 'a.rule_id')
  .select('a.*', 'r.name', 'r.description', 'r.metric_name');
