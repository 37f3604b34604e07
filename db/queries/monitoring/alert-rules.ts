import type { Knex } from 'knex';
import type { Condition, Level } from '../../../shared/monitoring/alerts';

/** A row of `alert_rules` (migrations 014, 025: its webhook is an endpoint of the webhooks domain). Admins and managers run them. */
export interface AlertRuleRow {
  id: string;
  name: string;
  description: string | null;
  metric_name: string;
  condition: Condition;
  threshold: number;
  level: Level;
  enabled: boolean;
  cooldown_minutes: number;
  host: string | null;
  notify_emails: string[];
  created_by: number | null;
  created_at: Date;
  updated_at: Date;
}

/** A rule with the webhook endpoint it manages, if any. */
export interface AlertRuleWithWebhook extends AlertRuleRow {
  webhook_endpoint_id: number | null;
  webhook_url: string | null;
  webhook_allow_private: boolean | null;
}

export type AlertRuleInsert = Omit<AlertRuleRow, 'notify_emails' | 'created_at' | 'updated_at'> & { notify_emails: string };
export type AlertRulePatch = Partial<Omit<AlertRuleInsert, 'id' | 'created_by'>>;

/** Rules with their webhook endpoint. */
function rulesWithWebhook(knex: Knex): Knex.QueryBuilder<AlertRuleWithWebhook, AlertRuleWithWebhook[]> {
  return knex('alert_rules as r').leftJoin('webhook_endpoints as e', 'e.alert_rule_id', 'r.id')
    .select('r.*', 'e.id as webhook_endpoint_id', 'e.url as webhook_url', 'e.allow_private as webhook_allow_private') as unknown as Knex.QueryBuilder<AlertRuleWithWebhook, AlertRuleWithWebhook[]>;
}

/** Every rule with its webhook endpoint, in id order: a query to paginate. */
export const listAlertRules = (knex: Knex) => rulesWithWebhook(knex).orderBy('r.id');

export async function findAlertRule(knex: Knex, id: string): Promise<AlertRuleWithWebhook | undefined> {
  return rulesWithWebhook(knex).where('r.id', id).first() as Promise<AlertRuleWithWebhook | undefined>;
}

/** Inserts a rule; false when its id is taken. */
export async function insertAlertRule(trx: Knex.Transaction, row: AlertRuleInsert): Promise<boolean> {
  const inserted = await trx('alert_rules').insert(row).onConflict('id').ignore().returning('id');
  return inserted.length > 0;
}

/** Changes a rule; false when there is none such. */
export async function updateAlertRule(trx: Knex.Transaction, id: string, patch: AlertRulePatch): Promise<boolean> {
  const updated = await trx('alert_rules').where({ id }).update({ ...patch, updated_at: trx.fn.now() }).returning('id');
  return updated.length > 0;
}

/** Locks a rule for its transaction (a delete); false when there is none such. */
export async function lockAlertRule(trx: Knex.Transaction, id: string): Promise<boolean> {
  return Boolean(await trx('alert_rules').where({ id }).forUpdate().first('id'));
}

/** Deletes a rule with its alerts, deliveries and webhook endpoint (the foreign keys cascade). */
export async function deleteAlertRule(trx: Knex.Transaction, id: string): Promise<void> {
  await trx('alert_rules').where({ id }).delete();
}
