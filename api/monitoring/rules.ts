import crypto from 'node:crypto';
import type { AppDeps } from '../platform/deps';
import type { Caller } from '../platform/caller';
import { audit } from '../platform/audit';
import { iso, paginateRows } from '../platform/http/schemas';
import { conflict, notFound } from '../../shared/platform/errors';
import { notify } from '../../db/notifications';
import { activeAlerts, alertsByIds, findAlert, listAlerts, presentAlert, resolveActiveAlertsOfRule, type AlertWithRule } from '../../db/queries/monitoring/alerts';
import {
  deleteAlertRule, findAlertRule, insertAlertRule, listAlertRules, lockAlertRule, updateAlertRule, type AlertRulePatch, type AlertRuleWithWebhook,
} from '../../db/queries/monitoring/alert-rules';
import { found } from '../../db/queries/platform/found';
import { NOTIFY_CHANNELS } from '../../shared/monitoring/live';
import type { CreateRuleBody, UpdateRuleBody } from './schemas';
import { applyRuleWebhook, checkRuleWebhook } from './rule-webhooks';

/** Alert rules (admins and managers) and the alerts they raised; the evaluation itself is a Temporal Schedule. */
export class AlertRuleService {
  constructor(private readonly deps: AppDeps) {}

  private get knex() { return this.deps.knex; }

  present(r: AlertRuleWithWebhook, webhookSecret?: string) {
    return {
      id: r.id, name: r.name, description: r.description ?? null, metric_name: r.metric_name, condition: r.condition, threshold: Number(r.threshold),
      level: r.level, enabled: r.enabled, cooldown_minutes: Number(r.cooldown_minutes), host: r.host ?? null, notify_emails: r.notify_emails ?? [],
      webhook_url: r.webhook_url ?? null, webhook_allow_private: r.webhook_allow_private ?? false, webhook_endpoint_id: r.webhook_endpoint_id ?? null,
      ...(webhookSecret ? { webhook_secret: webhookSecret } : {}), created_at: iso(r.created_at), updated_at: iso(r.updated_at),
    };
  }

  row(id: string): Promise<AlertRuleWithWebhook> {
    return found(findAlertRule(this.knex, id), 'alert rule', id);
  }

  async list(q: { page: number; size: number }) {
    const { rows, pagination } = await paginateRows<AlertRuleWithWebhook>(listAlertRules(this.knex), q.page, q.size);
    return { rules: rows.map((r) => this.present(r)), pagination };
  }

  async create(caller: Caller, body: CreateRuleBody) {
    const id = body.id ?? `rule_${crypto.randomBytes(4).toString('hex')}`;
    const { webhook_url: url, webhook_allow_private: allowPrivate, ...fields } = body;
    const hook = await checkRuleWebhook(this.knex, caller, null, { url, allowPrivate });
    const secret = await this.knex.transaction(async (trx) => {
      const inserted = await insertAlertRule(trx, {
        id, name: fields.name, description: fields.description ?? null, metric_name: fields.metric_name, condition: fields.condition, threshold: fields.threshold,
        level: fields.level, enabled: fields.enabled ?? true, cooldown_minutes: fields.cooldown_minutes ?? 5, host: fields.host ?? null,
        notify_emails: JSON.stringify(fields.notify_emails ?? []), created_by: caller.principal.userId,
      });
      if (!inserted) throw conflict(`An alert rule with id ${id} already exists`, { id });
      return applyRuleWebhook(trx, this.deps.config.masterKey, caller, id, hook);
    });
    await audit(this.knex, caller, { module: 'monitoring', action: 'alert_rule_create', message: `Alert rule ${id}: ${body.metric_name} ${body.condition} ${body.threshold}`, resourceType: 'alert_rule', resourceId: id });
    return this.present(await this.row(id), secret);
  }

  async update(caller: Caller, id: string, body: UpdateRuleBody) {
    await this.row(id);
    const { webhook_url: url, webhook_allow_private: allowPrivate, ...fields } = body;
    const hook = await checkRuleWebhook(this.knex, caller, id, { url, allowPrivate });
    const changes: AlertRulePatch = { ...fields, notify_emails: fields.notify_emails ? JSON.stringify(fields.notify_emails) : undefined };
    const secret = await this.knex.transaction(async (trx) => {
      if (!(await updateAlertRule(trx, id, changes))) throw notFound('alert rule', id);
      return applyRuleWebhook(trx, this.deps.config.masterKey, caller, id, hook);
    });
    await audit(this.knex, caller, { module: 'monitoring', action: 'alert_rule_update', message: `Alert rule ${id} changed: ${Object.keys(body).join(', ')}`, resourceType: 'alert_rule', resourceId: id });
    return this.present(await this.row(id), secret);
  }

  /** Deleting a rule resolves its active alerts first (said on the live channel), then removes it and its history. */
  async remove(caller: Caller, id: string) {
    await this.knex.transaction(async (trx) => {
      if (!(await lockAlertRule(trx, id))) throw notFound('alert rule', id);
      const resolved = await resolveActiveAlertsOfRule(trx, id, 'rule deleted');
      for (const a of await alertsByIds(trx, resolved)) {
        await notify(trx, NOTIFY_CHANNELS.monitoring, { event: 'alert', alert: presentAlert(a) });
      }
      await deleteAlertRule(trx, id);
    });
    await audit(this.knex, caller, { module: 'monitoring', action: 'alert_rule_delete', message: `Alert rule ${id} deleted`, resourceType: 'alert_rule', resourceId: id });
    return { id, deleted: true };
  }

  async active() {
    return (await activeAlerts(this.knex, 1000)).map(presentAlert);
  }

  async alerts(q: { page: number; size: number; status?: string; level?: string; rule_id?: string }) {
    const { rows, pagination } = await paginateRows<AlertWithRule>(listAlerts(this.knex, q), q.page, q.size);
    return { alerts: rows.map(presentAlert), pagination };
  }

  async alert(id: string) {
    return presentAlert(await found(findAlert(this.knex, id), 'alert', id));
  }
}
