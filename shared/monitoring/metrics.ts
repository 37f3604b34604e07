/** The figures idcflow records, their unit, and how several sources combine into one platform-wide figure. */
export interface MetricInfo { unit: string; across: 'avg' | 'sum' }

export const HOST_METRICS: Record<string, MetricInfo> = {
  'system.cpu.usage': { unit: 'percent', across: 'avg' },
  'system.cpu.cores': { unit: 'count', across: 'sum' },
  'system.load.1': { unit: 'load', across: 'avg' },
  'system.load.5': { unit: 'load', across: 'avg' },
  'system.load.15': { unit: 'load', across: 'avg' },
  'system.memory.total': { unit: 'bytes', across: 'sum' },
  'system.memory.used': { unit: 'bytes', across: 'sum' },
  'system.memory.free': { unit: 'bytes', across: 'sum' },
  'system.memory.usage': { unit: 'percent', across: 'avg' },
  'system.disk.total': { unit: 'bytes', across: 'sum' },
  'system.disk.used': { unit: 'bytes', across: 'sum' },
  'system.disk.free': { unit: 'bytes', across: 'sum' },
  'system.disk.usage': { unit: 'percent', across: 'avg' },
  'system.network.bytes_sent': { unit: 'bytes', across: 'sum' },
  'system.network.bytes_recv': { unit: 'bytes', across: 'sum' },
  'system.network.packets_sent': { unit: 'packets', across: 'sum' },
  'system.network.packets_recv': { unit: 'packets', across: 'sum' },
  'system.network.bytes_sent_rate': { unit: 'bytes/s', across: 'sum' },
  'system.network.bytes_recv_rate': { unit: 'bytes/s', across: 'sum' },
  'system.uptime': { unit: 'seconds', across: 'avg' },
};

export const PLATFORM_METRICS: Record<string, MetricInfo> = {
  'app.database.pool_size': { unit: 'connections', across: 'sum' },
  'app.database.checked_out': { unit: 'connections', across: 'sum' },
  'app.database.pending': { unit: 'requests', across: 'sum' },
  'app.database.active_connections': { unit: 'connections', across: 'avg' },
  'app.http.requests_rate': { unit: 'requests/s', across: 'sum' },
  'app.http.errors_rate': { unit: 'requests/s', across: 'sum' },
  'app.operations.running': { unit: 'count', across: 'avg' },
  'app.operations.failed_last_hour': { unit: 'count', across: 'avg' },
};

export const METRICS: Record<string, MetricInfo> = { ...HOST_METRICS, ...PLATFORM_METRICS };

export const metricInfo = (name: string): MetricInfo => METRICS[name] ?? { unit: 'value', across: 'avg' };

/** Metric names: dotted lowercase words, the same in samples, rules and queries. */
export const METRIC_NAME = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+){1,5}$/;

/** Raw samples older than the raw window are folded into buckets this long. */
export const ROLLUP_SECONDS = 300;

/** Enough points per series for a chart: the step grows with the window, in whole minutes (5-minute multiples from 5). */
export function stepSeconds(hours: number): number {
  const raw = Math.ceil((hours * 3600) / 288 / 60) * 60;
  return raw <= 60 ? 60 : Math.ceil(raw / ROLLUP_SECONDS) * ROLLUP_SECONDS;
}

/** A sample older than this is no longer a source's "latest" (three sampling periods, at least two minutes). */
export const freshSeconds = (sampleSeconds: number) => Math.max(3 * sampleSeconds, 120);
