import type { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { iso } from '../platform/http/schemas';
import { notFound, validationError } from '../../shared/platform/errors';
import { METRICS, freshSeconds, metricInfo, stepSeconds } from '../../shared/monitoring/metrics';
import { latestSamples, recordSample } from '../../db/queries/monitoring/samples';
import type { dashboardSchema, metricsQuery, pushSampleBody } from './schemas';

type Values = Record<string, number>;
const SUMMED = Object.entries(METRICS).filter(([, m]) => m.across === 'sum').map(([n]) => n);
const NO_CACHE = 'idcflow keeps no cache: every answer is read from PostgreSQL';

/** The metrics store read back: the dashboard (latest fresh samples) and series over a window at a chart's resolution. */
export class MetricsService {
  constructor(private readonly deps: AppDeps) {}

  private get knex() { return this.deps.knex; }
  private get freshSeconds() { return freshSeconds(this.deps.config.monitoring.sampleSeconds); }

  private latest(kind: 'host' | 'platform') {
    return latestSamples(this.knex, kind, this.freshSeconds);
  }

  async dashboard(): Promise<z.infer<typeof dashboardSchema>> {
    const [hosts, platform, counts] = await Promise.all([
      this.latest('host'), this.latest('platform'),
      this.knex('alerts').where({ status: 'active' }).groupBy('level').select('level').count<{ level: string; count: string }[]>('* as count'),
    ]);
    const sum = (rows: Array<{ values: Values }>, k: string) => {
      const have = rows.filter((r) => Number.isFinite(r.values[k]));
      return have.length ? have.reduce((s, r) => s + r.values[k], 0) : null;
    };
    const avg = (rows: Array<{ values: Values }>, k: string) => {
      const total = sum(rows, k);
      const n = rows.filter((r) => Number.isFinite(r.values[k])).length;
      return total === null ? null : Math.round((total / n) * 100) / 100;
    };
    const max = (rows: Array<{ values: Values }>, k: string) => {
      const have = rows.map((r) => r.values[k]).filter(Number.isFinite);
      return have.length ? Math.max(...have) : null;
    };
    const percent = (used: number | null, total: number | null) => (used !== null && total ? Math.round((used / total) * 1000) / 10 : null);
    const load = ['system.load.1', 'system.load.5', 'system.load.15'].map((k) => avg(hosts, k));
    const level = Object.fromEntries(counts.map((c) => [c.level, Number(c.count)]));
    const memory = { total: sum(hosts, 'system.memory.total'), used: sum(hosts, 'system.memory.used'), free: sum(hosts, 'system.memory.free') };
    const disk = { total: sum(hosts, 'system.disk.total'), used: sum(hosts, 'system.disk.used'), free: sum(hosts, 'system.disk.free') };
    const asOf = hosts.length ? iso(new Date(Math.max(...hosts.map((h) => new Date(h.at).getTime())))) : null;
    return {
      system_metrics: {
        hosts: hosts.length, as_of: asOf,
        ...(hosts.length ? {} : { reason: `no host agent reported in the last ${this.freshSeconds} seconds` }),
        cpu: { usage: avg(hosts, 'system.cpu.usage'), cores: sum(hosts, 'system.cpu.cores'), load_average: load.every((l) => l !== null) ? load as number[] : null },
        memory: { ...memory, usage_percent: percent(memory.used, memory.total) },
        disk: { ...disk, usage_percent: percent(disk.used, disk.total) },
        network: {
          bytes_sent: sum(hosts, 'system.network.bytes_sent'), bytes_recv: sum(hosts, 'system.network.bytes_recv'),
          packets_sent: sum(hosts, 'system.network.packets_sent'), packets_recv: sum(hosts, 'system.network.packets_recv'),
        },
      },
      application_metrics: {
        database: {
          pool_size: sum(platform, 'app.database.pool_size'), checked_out: sum(platform, 'app.database.checked_out'),
          active_connections: max(platform, 'app.database.active_connections'),
          ...(platform.length ? {} : { reason: `no API process sampled itself in the last ${this.freshSeconds} seconds` }),
        },
        http: { requests_per_second: sum(platform, 'app.http.requests_rate'), errors_per_second: sum(platform, 'app.http.errors_rate') },
        operations: { running: max(platform, 'app.operations.running'), failed_last_hour: max(platform, 'app.operations.failed_last_hour') },
        cache: { hit_rate: null, miss_rate: null, memory_usage: null, reason: NO_CACHE },
      },
      alerts: {
        active: Object.values(level).reduce((a, b) => a + b, 0), critical: level.critical ?? 0, error: level.error ?? 0, warning: level.warning ?? 0, info: level.info ?? 0,
      },
    };
  }

  /** Series of one kind over the last `hours`, one point per step (weighted over raw samples and rollups), per host or combined. */
  async series(kind: 'host' | 'platform', q: z.infer<typeof metricsQuery>) {
    const step = stepSeconds(q.hours);
    let hostId: number | null = null;
    if (q.host) {
      const host = await this.knex('hosts').where({ name: q.host }).first('id');
      if (!host) throw notFound('host', q.host);
      hostId = host.id;
    }
    const since = new Date(Date.now() - q.hours * 3_600_000);
    const hostFilter = hostId === null ? '' : 'and host_id = ?';
    const hostArgs = hostId === null ? [] : [hostId];
    const nameFilter = q.name ? '= ?' : 'like ?';
    const name = q.name ?? (kind === 'host' ? 'system.%' : 'app.%');
    // One metric is read straight from each raw sample; several are expanded from it.
    const rawPoints = q.name
      ? `select s.source, s.at as t, ?::text as name, (s.values ->> ?)::float8 as v, (s.values ->> ?)::float8 as mx, 1 as n
        from metric_samples s where s.kind = ? and s.at >= ? ${hostFilter.replace('host_id', 's.host_id')} and (s.values ->> ?) is not null`
      : `select s.source, s.at as t, e.key as name, e.value::float8 as v, e.value::float8 as mx, 1 as n
        from metric_samples s, jsonb_each_text(s.values) e where s.kind = ? and s.at >= ? ${hostFilter.replace('host_id', 's.host_id')} and e.key ${nameFilter}`;
    const rawArgs = q.name ? [name, name, name, kind, since, ...hostArgs, name] : [kind, since, ...hostArgs, name];
    const { rows } = await this.knex.raw(`
      with points as (
        ${rawPoints}
        union all
        select r.source, r.bucket, m.name, a.avg, a.max, r.samples
        from metric_rollups r, unnest(r.metric_ids, r.avg_values, r.max_values) as a(id, avg, max), metric_names m
        where r.kind = ? and r.bucket >= ? ${hostFilter.replace('host_id', 'r.host_id')} and m.id = a.id and m.name ${nameFilter}
      ), per_source as (
        select source, date_bin(make_interval(secs => ?), t, timestamptz '2000-01-01 00:00:00+00') as b, name, sum(v * n) / sum(n) as v, max(mx) as m
        from points group by 1, 2, 3
      )
      select b, name, case when name = any(?) then sum(v) else avg(v) end as value, max(m) as max
      from per_source group by b, name order by name, b`,
    [...rawArgs, kind, since, ...hostArgs, name, step, SUMMED]);
    return (rows as Array<{ b: Date; name: string; value: number; max: number | null }>).map((r) => ({
      name: r.name, value: Math.round(r.value * 1000) / 1000, timestamp: iso(r.b)!,
      tags: { type: kind === 'host' ? 'system' : 'application', host: q.host ?? 'all' },
      metadata: { unit: metricInfo(r.name).unit, step_seconds: step, max: r.max },
    }));
  }

  async push(body: z.infer<typeof pushSampleBody>) {
    const host = await this.knex('hosts').where({ name: body.host }).whereNull('deleted_at').first('id', 'name');
    if (!host) throw notFound('host', body.host);
    const at = body.timestamp ? new Date(body.timestamp) : new Date();
    if (at.getTime() > Date.now() + 300_000) throw validationError([{ field: 'timestamp', location: 'body', message: 'must not be in the future' }]);
    const { retentionDays } = this.deps.config.monitoring;
    if (at.getTime() < Date.now() - retentionDays * 86_400_000) throw validationError([{ field: 'timestamp', location: 'body', message: `must be within the retention (${retentionDays} days)` }]);
    await recordSample(this.knex, { source: `host:${host.name}`, kind: 'host', hostId: host.id, host: host.name, at, values: body.values });
    return { host: host.name, timestamp: at.toISOString(), values: Object.keys(body.values).length };
  }
}
