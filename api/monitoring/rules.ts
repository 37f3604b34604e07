import crypto from 'node:crypto';
import type { AppDeps } from '../platform/deps';
import type { Caller } from '../platform/caller';
import { audit } from '../platform/audit';
import { iso, paginateRows } from '../platform/http/schemas';
import { conflict, notFound } from '../../shared/platform/errors';
import { notify } from '../../db/notifications';
import { alertsQuery, presentAlert } from '../../db/queries/monitoring/alerts';
import { NOTIFY_CHANNELS } from '../../shared/monitoring/live';
import type { CreateRuleBody, UpdateRuleBody } from './schemas';
import { applyRuleWebhook, checkRuleWebhook, rulesWithWebhook } from './rule-webhooks';

type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Alert rules (admins and managers) and the alerts they raised; the evaluation itself is a Temporal Schedule. */
export class AlertRuleService {
  constructor(private readonly deps: AppDeps) {}

  private get knex() { return this.deps.knex; }

  present(r: Row, webhookSecret?: string) {
    return {
      id: r.id, name: r.name, description: r.description ?? null, metric_name: r.metric_name, condition: r.condition, threshold: Number(r.threshold),
      level: r.level, enabled: r.enabled, cooldown_minutes: Number(r.cooldown_minutes), host: r.host ?? null, notify_emails: r.notify_emails ?? [],
      webhook_url: r.webhook_url ?? null, webhook_allow_private: r.webhook_allow_private ?? false, webhook_endpoint_id: r.webhook_endpoint_id ?? null,
      ...(webhookSecret ? { webhook_secret: webhookSecret } : {}), created_at: iso(r.created_at), updated_at: iso(r.updated_at),
    };
  }

  async row(id: string): Promise<Row> {
    const r = await rulesWithWebhook(this.knex).where('r.id', id).first();
    if (!r) throw notFound('alert rule', id);
    return r;
  }

  async list(q: { page: number; size: number }) {
    const { rows, pagination } = await paginateRows(rulesWithWebhook(this.knex).orderBy('r.id'), q.page, q.size);
    return { rules: rows.map((r) => this.present(r)), pagination };
  }

  async create(caller: Caller, body: CreateRuleBody) {
    const id = body.id ?? `rule_${crypto.randomBytes(4).toString('hex')}`;
    const { webhook_url: url, webhook_allow_private: allowPrivate, ...fields } = body;
    const hook = await checkRuleWebhook(this.knex, caller, null, { url, allowPrivate });
    const secret = await this.knex.transaction(async (trx) => {
      const [row] = await trx('alert_rules').insert({
        id, name: fields.name, description: fields.description ?? null, metric_name: fields.metric_name, condition: fields.condition, threshold: fields.threshold,
        level: fields.level, enabled: fields.enabled ?? true, cooldown_minutes: fields.cooldown_minutes ?? 5, host: fields.host ?? null,
        notify_emails: JSON.stringify(fields.notify_emails ?? []), created_by: caller.principal.userId,
      }).onConflict('id').ignore().returning('id');
      if (!row) throw conflict(`An alert rule with id ${id} already exists`, { id });
      return applyRuleWebhook(trx, this.deps.config.masterKey, caller, id, hook);
    });
    await audit(this.knex, caller, { module: 'monitoring', action: 'alert_rule_create', message: `Alert rule ${id}: ${body.metric_name} ${body.condition} ${body.threshold}`, resourceType: 'alert_rule', resourceId: id });
    return this.present(await this.row(id), secret);
  }

  async update(caller: Caller, id: string, body: UpdateRuleBody) {
    await this.row(id);
    const { webhook_url: url, webhook_allow_private: allowPrivate, ...fields } = body;
    const hook = await checkRuleWebhook(this.knex, caller, id, { url, allowPrivate });
    const changes: Row = { ...fields, updated_at: this.knex.fn.now() };
    if (fields.notify_emails) changes.notify_emails = JSON.stringify(fields.notify_emails);
    const secret = await this.knex.transaction(async (trx) => {
      const [row] = await trx('alert_rules').where({ id }).update(changes).returning('id');
      if (!row) throw notFound('alert rule', id);
      return applyRuleWebhook(trx, this.deps.config.masterKey, caller, id, hook);
    });
    await audit(this.knex, caller, { module: 'monitoring', action: 'alert_rule_update', message: `Alert rule ${id} changed: ${Object.keys(body).join(', ')}`, resourceType: 'alert_rule', resourceId: id });
    return this.present(await this.row(id), secret);
  }

  /** Deleting a rule resolves its active alerts first (said on the live channel), then removes it and its history. */
  async remove(caller: Caller, id: string) {
    await this.knex.transaction(async (trx) => {
      const rule = await trx('alert_rules').where({ id }).forUpdate().first('id');
      if (!rule) throw notFound('alert rule', id);
      const resolved = await trx('alerts').where({ rule_id: id, status: 'active' })
        .update({ status: 'resolved', resolved_at: trx.fn.now(), resolve_reason: 'rule deleted', updated_at: trx.fn.now() }, ['id']);
      for (const a of await alertsQuery(trx).whereIn('a.id', resolved.map((r: Row) => r.id))) {
        await notify(trx, NOTIFY_CHANNELS.monitoring, { event: 'alert', alert: presentAlert(a) });
      }
      await trx('alert_rules').where({ id }).delete();
    });
    await audit(this.knex, caller, { module: 'monitoring', action: 'alert_rule_delete', message: `Alert rule ${id} deleted`, resourceType: 'alert_rule', resourceId: id });
    return { id, deleted: true };
  }

  async active() {
    const rows = await alertsQuery(this.knex).where('a.status', 'active').orderBy('a.fired_at', 'desc').limit(1000);
    return rows.map(presentAlert);
  }

  async alerts(q: { page: number; size: number; status?: string; level?: string; rule_id?: string }) {
    const query = alertsQuery(this.knex).orderBy('a.fired_at', 'desc');
    if (q.status) query.where('a.status', q.status);
    if (q.level) query.where('a.level', q.level);
    if (q.rule_id) query.where('a.rule_id', q.rule_id);
    const { rows, pagination } = await paginateRows(query, q.page, q.size);
    return { alerts: rows.map(presentAlert), pagination };
  }

  async alert(id: string) {
    const row = await alertsQuery(this.knex).where('a.id', id).first();
    if (!row) throw notFound('alert', id);
    return presentAlert(row);
  }
}
