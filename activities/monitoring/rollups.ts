import type { ActivityDeps } from '../platform/deps';
import { heartbeating } from '../platform/failure';
import { ROLLUP_SECONDS } from '../../shared/monitoring/metrics';

const BATCH_HOURS = 6;
const bin = (column: string) => `date_bin(make_interval(secs => ${ROLLUP_SECONDS}), ${column}, timestamptz '2000-01-01 00:00:00+00')`;

/**
 * Downsampling and retention: raw samples older than the raw window become one rollup row per source and 5-minute
 * bucket (average and maximum of each figure, sample count), in bucket-aligned batches, each one transaction that
 * inserts the rollups and deletes the raw rows (a crash leaves a batch either done or not). Rollups and raw samples
 * older than the retention are deleted.
 */
export function createMonitoringRollupActivities({ knex, config }: ActivityDeps) {
  return {
    async monitoringRollupMetrics(): Promise<{ rolled_up: number; rollups: number; deleted: number }> {
      return heartbeating(async () => {
        const { rawHours, retentionDays } = config.monitoring;
        const step = ROLLUP_SECONDS * 1000;
        const cutoff = new Date(Math.floor((Date.now() - rawHours * 3_600_000) / step) * step);
        let rolledUp = 0, rollups = 0;
        for (;;) {
          const { rows: [first] } = await knex.raw(`select min(${bin('at')}) as b from metric_samples where at < ?`, [cutoff]);
          if (!first?.b) break;
          const from = new Date(first.b);
          const to = new Date(Math.min(cutoff.getTime(), from.getTime() + BATCH_HOURS * 3_600_000));
          await knex.transaction(async (trx) => {
            const { rowCount } = await trx.raw(`
              insert into metric_rollups (source, bucket, kind, host_id, samples, values, max_values)
              select a.source, a.b, min(a.kind), max(a.host_id), max(c.n), jsonb_object_agg(a.key, a.avg), jsonb_object_agg(a.key, a.max)
              from (
                select s.source, ${bin('s.at')} as b, min(s.kind) as kind, max(s.host_id) as host_id, e.key, avg(e.value::float8) as avg, max(e.value::float8) as max
                from metric_samples s, jsonb_each_text(s.values) e
                where s.at >= ? and s.at < ? group by 1, 2, e.key
              ) a join (
                select source, ${bin('at')} as b, count(*) as n from metric_samples where at >= ? and at < ? group by 1, 2
              ) c on c.source = a.source and c.b = a.b
              group by a.source, a.b
              on conflict (source, bucket) do update set samples = metric_rollups.samples + excluded.samples,
                values = metric_rollups.values || excluded.values, max_values = metric_rollups.max_values || excluded.max_values`,
            [from, to, from, to]);
            rollups += rowCount ?? 0;
            rolledUp += await trx('metric_samples').where('at', '>=', from).where('at', '<', to).delete();
          });
        }
        const keepFrom = knex.raw('now() - make_interval(days => ?)', [retentionDays]);
        const deleted = await knex('metric_rollups').where('bucket', '<', keepFrom).delete()
          + await knex('metric_samples').where('at', '<', keepFrom).delete();
        return { rolled_up: rolledUp, rollups, deleted };
      });
    },
  };
}

export type MonitoringRollupActivities = ReturnType<typeof createMonitoringRollupActivities>;
