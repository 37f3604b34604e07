import { proxyActivities } from '@temporalio/workflow';
import type { MonitoringAlertActivities } from '../../activities/monitoring/alerts';
import type { MonitoringRollupActivities } from '../../activities/monitoring/rollups';
import type { MailActivities } from '../../activities/platform/mail';

const db = proxyActivities<MonitoringAlertActivities>({ startToCloseTimeout: '1m', retry: { maximumAttempts: 5 } });
const mail = proxyActivities<MailActivities>({ startToCloseTimeout: '1m', retry: { initialInterval: '2s', maximumInterval: '30s', maximumAttempts: 5 } });
const webhook = proxyActivities<MonitoringAlertActivities>({ startToCloseTimeout: '30s', retry: { initialInterval: '2s', maximumInterval: '30s', maximumAttempts: 5 } });
const rollup = proxyActivities<MonitoringRollupActivities>({ startToCloseTimeout: '30m', heartbeatTimeout: '30s', retry: { maximumAttempts: 5 } });

/**
 * One alert evaluation (what the Schedule starts every IDCFLOW_ALERT_EVALUATION_SECONDS): the rules against the
 * latest samples, then every delivery still pending — each mail at most once (the outbox key is the alert and the
 * recipient), each webhook handed to the webhooks domain's delivery workflow (signed, retried, logged).
 */
export async function monitoringEvaluateAlertsWorkflow() {
  const evaluation = await db.monitoringEvaluateAlerts();
  const deliveries = await db.monitoringPendingDeliveries();
  let delivered = 0, failed = 0;
  for (const d of deliveries) {
    try {
      if (d.channel === 'mail') {
        const sent = await mail.sendMail({ key: `monitoring-alert:${d.alert_id}:${d.target}`, to: d.target, subject: d.subject, text: d.text });
        await db.monitoringMarkDelivery({ id: d.id, status: sent.sent ? 'sent' : 'skipped', error: sent.reason ?? null });
      } else {
        await webhook.monitoringStartWebhookDelivery({ id: d.id });
      }
      delivered++;
    } catch (err) {
      failed++;
      await db.monitoringMarkDelivery({ id: d.id, status: 'failed', error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { ...evaluation, delivered, failed };
}

/** Downsampling and retention of the metrics store (hourly Schedule). */
export async function monitoringRollupWorkflow() {
  return rollup.monitoringRollupMetrics();
}
