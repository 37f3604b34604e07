import os from 'node:os';
import crypto from 'node:crypto';
import type client from 'prom-client';
import type { AppDeps } from '../platform/deps';
import { recordSample } from '../../db/queries/monitoring/samples';

interface Pool { max: number; numUsed(): number; numPendingAcquires(): number }

/** Requests and 5xx answers counted so far by the API's own request histogram (prom-client). */
async function requestCounts(registry: client.Registry): Promise<{ all: number; errors: number }> {
  const metric = registry.getSingleMetric('idcflow_http_request_duration_seconds');
  if (!metric) return { all: 0, errors: 0 };
  const { values } = await metric.get();
  let all = 0, errors = 0;
  for (const v of values) {
    if ((v as { metricName?: string }).metricName !== 'idcflow_http_request_duration_seconds_count') continue;
    all += v.value;
    if (String(v.labels.status).startsWith('5')) errors += v.value;
  }
  return { all, errors };
}

/**
 * This API process samples itself into the metrics store every IDCFLOW_METRICS_SAMPLE_SECONDS: its database pool,
 * the database's connections, its request and 5xx rates, running and recently failed operations.
 */
export function startPlatformSampler(deps: AppDeps, registry: client.Registry): { source: string; stop(): void } {
  const source = `api:${os.hostname()}:${process.pid}:${crypto.randomBytes(2).toString('hex')}`;
  let last = { at: Date.now(), all: 0, errors: 0 };
  void requestCounts(registry).then((c) => { last = { at: Date.now(), ...c }; });
  const sample = async () => {
    const pool = (deps.knex.client as { pool?: Pool }).pool;
    const counts = await requestCounts(registry);
    const now = Date.now();
    const seconds = Math.max((now - last.at) / 1000, 0.001);
    const [{ rows: [db] }, [ops]] = await Promise.all([
      deps.knex.raw('select count(*)::int as n from pg_stat_activity where datname = current_database()'),
      deps.knex('operations').select(
        deps.knex.raw("count(*) filter (where status in ('pending', 'running'))::int as running"),
        deps.knex.raw("count(*) filter (where status = 'failed' and finished_at > now() - interval '1 hour')::int as failed"),
      ),
    ]);
    const values: Record<string, number> = {
      'app.database.active_connections': db.n,
      'app.http.requests_rate': Math.max(0, counts.all - last.all) / seconds,
      'app.http.errors_rate': Math.max(0, counts.errors - last.errors) / seconds,
      'app.operations.running': ops.running,
      'app.operations.failed_last_hour': ops.failed,
    };
    if (pool) Object.assign(values, { 'app.database.pool_size': pool.max, 'app.database.checked_out': pool.numUsed(), 'app.database.pending': pool.numPendingAcquires() });
    last = { at: now, ...counts };
    await recordSample(deps.knex, { source, kind: 'platform', values });
  };
  const run = () => { sample().catch((err) => deps.logger.warn({ err: (err as Error).message }, 'sampling the platform metrics failed')); };
  const first = setTimeout(run, 1000);
  const timer = setInterval(run, deps.config.monitoring.sampleSeconds * 1000);
  first.unref();
  timer.unref();
  return { source, stop: () => { clearTimeout(first); clearInterval(timer); } };
}
