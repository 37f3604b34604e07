import type { ActivityDeps } from '../platform/deps';
import { notify } from '../../db/notifications';
import { alertsQuery, presentAlert } from '../../db/queries/monitoring/alerts';
import { NOTIFY_CHANNELS } from '../../shared/monitoring/live';
import { alertId, conditionHolds, cooledDown, type Condition } from '../../shared/monitoring/alerts';
import { freshSeconds } from '../../shared/monitoring/metrics';
import { newDeliveryId, publishWebhookEvent, startDeliveryFromActivity } from '../webhooks/publish';

interface RuleRow {
  id: string; name: string; description: string | null; metric_name: string; condition: Condition; threshold: number; level: string;
  cooldown_minutes: number; host: string | null; notify_emails: string[];
}

interface Latest { source: string; host: string | null; value: number }

export interface AlertDelivery { id: number; alert_id: string; channel: 'mail' | 'webhook'; target: string; subject: string; text: string }

/**
 * Alert evaluation, one transaction under an advisory lock (two evaluations never interleave): each enabled rule
 * against the latest fresh sample of its metric from each source. A firing is one `alerts` row (one active per rule and
 * source, a unique index says so) plus its pending deliveries; it resolves when the condition clears, and the same
 * rule and source fire again no sooner than the cooldown after the last firing.
 */
export function createMonitoringAlertActivities({ knex, config, logger }: ActivityDeps) {
  async function latest(trx: typeof knex, metric: string): Promise<Latest[]> {
    const { rows } = await trx.raw(`
      select distinct on (s.source) s.source, h.name as host, (s.values ->> ?)::float8 as value
      from metric_samples s left join hosts h on h.id = s.host_id
      where s.at > now() - make_interval(secs => ?) and (s.values ->> ?) is not null
      order by s.source, s.at desc`, [metric, freshSeconds(config.monitoring.sampleSeconds), metric]);
    return rows as Latest[];
  }

  async function recipients(trx: typeof knex, rule: RuleRow): Promise<string[]> {
    if (rule.notify_emails.length) return rule.notify_emails;
    const admins = await trx('users').where({ role: 'admin', is_active: true }).whereNull('deleted_at').whereNotNull('email').pluck('email');
    return admins as string[];
  }

  return {
    async monitoringEvaluateAlerts(): Promise<{ rules: number; checked: number; fired: string[]; resolved: string[]; suppressed: number }> {
      const fired: string[] = [], resolved: string[] = [];
      let checked = 0, suppressed = 0;
      const now = new Date();
      const rules = await knex.transaction(async (trx) => {
        await trx.raw("select pg_advisory_xact_lock(hashtext('idcflow.monitoring.evaluate'))");
        const rules = await trx('alert_rules').where({ enabled: true }) as RuleRow[];
        const active = await trx('alerts').where({ status: 'active' }).select('id', 'rule_id', 'source');
        const activeByKey = new Map(active.map((a) => [`${a.rule_id}\u0000${a.source}`, a.id as string]));
        const enabledIds = new Set(rules.map((r) => r.id));
        // Each rule's own webhook endpoint (the webhooks domain's store): a firing is one delivery of alert.fired to it.
        const hooks = new Map<string, number>((await trx('webhook_endpoints').whereNotNull('alert_rule_id').where({ enabled: true }).select('alert_rule_id', 'id')).map((e) => [e.alert_rule_id, e.id]));
        const resolve = async (id: string, reason: string, value?: number) => {
          await trx('alerts').where({ id, status: 'active' }).update({
            status: 'resolved', resolved_at: now, resolve_reason: reason, updated_at: now, ...(value === undefined ? {} : { current_value: value }),
          });
          resolved.push(id);
        };
        for (const a of active) if (!enabledIds.has(a.rule_id)) await resolve(a.id, 'rule disabled');
        const lastFired = new Map<string, Date>();
        if (rules.length) {
          const rows = await trx('alerts').whereIn('rule_id', [...enabledIds]).groupBy('rule_id', 'source').select('rule_id', 'source').max('fired_at as last');
          for (const r of rows) lastFired.set(`${r.rule_id}\u0000${r.source}`, new Date(r.last));
        }
        const byMetric = new Map<string, Latest[]>();
        for (const rule of rules) {
          if (!byMetric.has(rule.metric_name)) byMetric.set(rule.metric_name, await latest(trx, rule.metric_name));
          for (const s of byMetric.get(rule.metric_name)!) {
            if (rule.host && s.host !== rule.host) continue;
            checked++;
            const key = `${rule.id}\u0000${s.source}`;
            const open = activeByKey.get(key);
            const holds = conditionHolds(s.value, rule.condition, rule.threshold);
            if (open && holds) {
              await trx('alerts').where({ id: open }).update({ current_value: s.value, updated_at: now });
            } else if (open) {
              await resolve(open, 'condition cleared', s.value);
            } else if (holds) {
              if (!cooledDown(lastFired.get(key) ?? null, rule.cooldown_minutes, now)) { suppressed++; continue; }
              let id = alertId(rule.id, now, s.source);
              if (await trx('alerts').where({ id }).first('id')) id = `${id}_${now.getTime() % 1000}`;
              await trx('alerts').insert({
                id, rule_id: rule.id, source: s.source, host: s.host, status: 'active', level: rule.level, current_value: s.value,
                threshold_value: rule.threshold, fired_at: now, updated_at: now,
              });
              const deliveries = (await recipients(trx, rule)).map((to) => ({ alert_id: id, channel: 'mail', target: to }));
              const endpointId = hooks.get(rule.id);
              if (endpointId) {
                const delivery = newDeliveryId();
                const alert = presentAlert(await alertsQuery(trx).where('a.id', id).first());
                await trx('webhook_deliveries').insert({
                  id: delivery, endpoint_id: endpointId, event_id: `alert:${id}:fired`, event_type: 'alert.fired',
                  payload: JSON.stringify({ type: 'alert.fired', timestamp: now.toISOString(), data: alert }),
                });
                deliveries.push({ alert_id: id, channel: 'webhook', target: delivery });
              }
              if (deliveries.length) await trx('alert_deliveries').insert(deliveries).onConflict(['alert_id', 'channel', 'target']).ignore();
              fired.push(id);
            }
          }
        }
        const changed = [...fired, ...resolved];
        if (changed.length) {
          for (const row of await alertsQuery(trx).whereIn('a.id', changed)) {
            await notify(trx, NOTIFY_CHANNELS.monitoring, { event: 'alert', alert: presentAlert(row) });
          }
        }
        return rules.length;
      });
      if (fired.length || resolved.length) {
        logger.info({ fired, resolved }, 'alerts evaluated');
        // The webhook endpoints (users' subscriptions) of admins hear of every firing and resolution too.
        for (const row of await alertsQuery(knex).whereIn('a.id', [...fired, ...resolved])) {
          const alert = presentAlert(row);
          const event = fired.includes(alert.id) ? 'fired' : 'resolved';
          await publishWebhookEvent(knex, config, { id: `alert:${alert.id}:${event}`, type: `alert.${event}`, timestamp: now.toISOString(), audienceUserId: null, resource: { type: 'alert', id: alert.id }, data: alert as unknown as Record<string, unknown> });
        }
      }
      return { rules, checked, fired, resolved, suppressed };
    },

    /** Deliveries not made yet (mail and webhooks of firings), with the text of each. */
    async monitoringPendingDeliveries(): Promise<AlertDelivery[]> {
      const rows = await knex('alert_deliveries as d').join('alerts as a', 'a.id', 'd.alert_id').join('alert_rules as r', 'r.id', 'a.rule_id')
        .where('d.status', 'pending').orderBy('d.id').limit(200)
        .select('d.id', 'd.alert_id', 'd.channel', 'd.target', 'a.level', 'a.current_value', 'a.threshold_value', 'a.host', 'a.source', 'a.fired_at',
          'r.name', 'r.metric_name', 'r.condition', 'r.description');
      return rows.map((r) => ({
        id: Number(r.id), alert_id: r.alert_id, channel: r.channel, target: r.target,
        subject: `[idcflow ${r.level}] ${r.name}${r.host ? ` on ${r.host}` : ''}`,
        text: [
          `Alert ${r.alert_id} fired at ${new Date(r.fired_at).toISOString()}.`,
          `${r.metric_name} = ${r.current_value} (${r.condition} ${r.threshold_value}) on ${r.host ?? r.source}.`,
          r.description ?? '', '', 'You receive this once per firing; it repeats no sooner than the rule\'s cooldown.',
        ].join('\n'),
      }));
    },

    async monitoringMarkDelivery({ id, status, error }: { id: number; status: 'sent' | 'skipped' | 'failed'; error?: string | null }) {
      await knex('alert_deliveries').where({ id }).update({
        status, last_error: error ?? null, sent_at: status === 'sent' ? knex.fn.now() : null, attempts: knex.raw('attempts + 1'),
      });
    },

    /** Hands a firing's webhook delivery (recorded with the firing) to the webhooks domain's delivery workflow, once. */
    async monitoringStartWebhookDelivery({ id }: { id: number }): Promise<void> {
      const d = await knex('alert_deliveries').where({ id, channel: 'webhook' }).first('status', 'target');
      if (!d || d.status !== 'pending') return;
      await startDeliveryFromActivity(config, d.target);
      await knex('alert_deliveries').where({ id }).update({ status: 'sent', sent_at: knex.fn.now(), attempts: knex.raw('attempts + 1'), last_error: null });
    },
  };
}

export type MonitoringAlertActivities = ReturnType<typeof createMonitoringAlertActivities>;
