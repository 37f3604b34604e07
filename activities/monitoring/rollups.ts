import type { ActivityDeps } from '../platform/deps';
import { heartbeating } from '../platform/failure';
import { ROLLUP_SECONDS } from '../../shared/monitoring/metrics';

const BATCH_HOURS = 6;
const bin = (column: string) => `date_bin(make_interval(secs => ${ROLLUP_SECONDS}), ${column}, timestamptz '2000-01-01 00:00:00+00')`;

/**
 * Downsampling and retention: raw samples older than the raw window become one rollup row per source and 5-minute
 * bucket (mean and maximum of each figure, as arrays over `metric_names`, and the sample count), in bucket-aligned
 * batches, each one transaction that inserts the rollups and deletes the raw rows (a crash leaves a batch either done or
 * not). A sample that arrives late for a bucket already rolled up is merged into it, weighted by the counts. Rollups and
 * raw samples older than the retention are deleted.
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
            // Only names not known yet take a number (a conflict would still use one up).
            await trx.raw(`insert into metric_names (name) select distinct e.key from metric_samples s, jsonb_object_keys(s.values) e(key)
              where s.at >= ? and s.at < ? and not exists (select 1 from metric_names n where n.name = e.key) on conflict (name) do nothing`, [from, to]);
            await trx.raw(`create temporary table rollup_batch on commit drop as
              with kv as (
                select s.source, ${bin('s.at')} as b, s.kind, s.host_id, e.key as name, e.value::float8 as v, e.value::float8 as mx, 1 as n
                from metric_samples s, jsonb_each_text(s.values) e where s.at >= ? and s.at < ?
                union all
                select r.source, r.bucket, r.kind, r.host_id, m.name, a.avg, a.max, r.samples
                from metric_rollups r, unnest(r.metric_ids, r.avg_values, r.max_values) as a(id, avg, max), metric_names m
                where r.bucket >= ? and r.bucket < ? and m.id = a.id
              ), counts as (
                select source, b, sum(n)::int as n from (
                  select source, ${bin('at')} as b, count(*) as n from metric_samples where at >= ? and at < ? group by 1, 2
                  union all select source, bucket, samples from metric_rollups where bucket >= ? and bucket < ?
                ) c group by 1, 2
              ), agg as (
                select kv.source, kv.b, min(kv.kind) as kind, max(kv.host_id) as host_id, m.id, sum(kv.v * kv.n) / sum(kv.n) as avg, max(kv.mx) as max
                from kv join metric_names m on m.name = kv.name group by kv.source, kv.b, m.id
              )
              select a.source, a.b as bucket, min(a.kind) as kind, max(a.host_id) as host_id, c.n as samples,
                array_agg(a.id order by a.id) as metric_ids, array_agg(a.avg order by a.id) as avg_values, array_agg(a.max order by a.id) as max_values
              from agg a join counts c on c.source = a.source and c.b = a.b group by a.source, a.b, c.n`,
            [from, to, from, to, from, to, from, to]);
            await trx('metric_rollups').where('bucket', '>=', from).where('bucket', '<', to).delete();
            const { rowCount } = await trx.raw(`insert into metric_rollups (source, bucket, kind, host_id, samples, metric_ids, avg_values, max_values)
              select source, bucket, kind, host_id, samples, metric_ids, avg_values, max_values from rollup_batch`);
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
