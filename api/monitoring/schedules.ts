import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptionsAction } from '@temporalio/client';
import type { Config } from '../../shared/platform/config';
import { monitoringEvaluateAlertsWorkflow, monitoringRollupWorkflow } from '../../workflows/monitoring/alerts';

export const MONITORING_SCHEDULES = { evaluation: 'monitoring-alert-evaluation', rollup: 'monitoring-metrics-rollup' } as const;

/**
 * Creates (or brings up to date) the Temporal Schedules of monitoring: alert evaluation every
 * IDCFLOW_ALERT_EVALUATION_SECONDS and the hourly rollup of metrics. Run by `npm run migrate` and `npm start`;
 * `suffix` keeps a test's schedules apart from the platform's.
 */
export async function ensureMonitoringSchedules(temporal: Client, config: Pick<Config, 'taskQueue' | 'monitoring'>, suffix = '') {
  const wanted: Array<{ id: string; every: number; action: ScheduleOptionsAction }> = [
    {
      id: MONITORING_SCHEDULES.evaluation + suffix, every: config.monitoring.evaluationSeconds,
      action: { type: 'startWorkflow', workflowType: monitoringEvaluateAlertsWorkflow, args: [], taskQueue: config.taskQueue, workflowId: `${MONITORING_SCHEDULES.evaluation}${suffix}-run`, staticSummary: 'Alert evaluation' },
    },
    {
      id: MONITORING_SCHEDULES.rollup + suffix, every: 3600,
      action: { type: 'startWorkflow', workflowType: monitoringRollupWorkflow, args: [], taskQueue: config.taskQueue, workflowId: `${MONITORING_SCHEDULES.rollup}${suffix}-run`, staticSummary: 'Metrics rollup and retention' },
    },
  ];
  for (const s of wanted) {
    const spec = { intervals: [{ every: `${s.every}s` as const }] };
    try {
      await temporal.schedule.getHandle(s.id).update((prev) => ({ ...prev, spec, action: s.action }));
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
      await temporal.schedule.create({ scheduleId: s.id, spec, action: s.action, policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' } });
    }
  }
}

export async function removeMonitoringSchedules(temporal: Client, suffix = '') {
  for (const id of Object.values(MONITORING_SCHEDULES)) {
    await temporal.schedule.getHandle(id + suffix).delete().catch((err) => { if (!(err instanceof ScheduleNotFoundError)) throw err; });
  }
}
