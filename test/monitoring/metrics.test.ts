import os from 'node:os';
import { startTestApi, expectError, eventually, type TestApi, type TestUser } from '../support/api';
import { addHost } from '../support/compute';
import { spawnAgent } from '../support/agents';
import { testHost } from './support';
import { parseNetDev, hostMetricsCollector } from '../../activities/monitoring/host-metrics';
import { monitoringRollupWorkflow } from '../../workflows/monitoring/alerts';

describe('monitoring: the metrics store, dashboard and series', () => {
  let api: TestApi;
  let admin: string;
  let manager: TestUser, viewer: TestUser, user: TestUser;

  beforeAll(async () => {
    api = await startTestApi({ IDCFLOW_METRICS_SAMPLE_SECONDS: '1' });
    admin = await api.admin();
    [manager, viewer, user] = await Promise.all([api.createUser('manager'), api.createUser('viewer'), api.createUser('user')]);
  });
  afterAll(async () => { await api?.close(); });

  it('collects this machine\'s figures, network bytes and packets included', async () => {
    const text = 'Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n'
      + '    lo: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n  eth0: 2048 20 0 0 0 0 0 0 1024 10 0 0 0 0 0 0\n  eth1: 2 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n';
    expect(parseNetDev(text)).toEqual({ bytes_recv: 2050, packets_recv: 21, bytes_sent: 1025, packets_sent: 11 });
    const collect = hostMetricsCollector();
    collect();
    await new Promise((r) => setTimeout(r, 50));
    const v = collect();
    for (const k of ['system.cpu.cores', 'system.memory.total', 'system.memory.usage', 'system.load.1', 'system.network.bytes_recv', 'system.network.packets_sent', 'system.network.bytes_recv_rate']) {
      expect(typeof v[k]).toBe('number');
    }
    expect(v['system.memory.usage']).toBeGreaterThan(0);
  });

  it('a host agent records its machine\'s figures at its own pace; the metrics API answers them for its host', async () => {
    const host = await addHost(api, { use_agent: true });
    const agent = await spawnAgent(api, host, { ...process.env, LOG_LEVEL: 'info', IDCFLOW_METRICS_SAMPLE_SECONDS: '1' });
    try {
      // One sample at the start, then one a second: three within a few seconds.
      const samples = () => api.deps.knex('metric_samples').where({ source: `host:${host.name}`, kind: 'host', host_id: host.id }).orderBy('at');
      await eventually(async () => (await samples()).length >= 3, 20_000, 'three samples from the agent');
      const series = async (name: string) => {
        const res = await api.call('GET', `/api/v1/monitoring/metrics/system?hours=1&host=${host.name}&name=${name}`, { token: manager.token });
        expect(res.status).toBe(200);
        return res.body.data as Array<{ name: string; value: number; tags: { host: string } }>;
      };
      // The agent runs on this machine: its figures are this machine's.
      const cores = await series('system.cpu.cores');
      expect(cores.length).toBeGreaterThan(0);
      expect(cores.every((p) => p.value === os.cpus().length && p.tags.host === host.name)).toBe(true);
      expect((await series('system.memory.total')).every((p) => p.value === os.totalmem())).toBe(true);
      const used = await series('system.memory.usage');
      expect(used.length).toBeGreaterThan(0);
      expect(used.every((p) => p.value > 0 && p.value < 100)).toBe(true);
      expect(Object.keys((await samples()).at(-1).values)).toEqual(expect.arrayContaining(['system.cpu.usage', 'system.load.1', 'system.disk.total', 'system.network.bytes_recv', 'system.uptime']));
    } finally {
      await agent.stop();
    }
  });

  it('records pushed samples; refuses bad input, no token, other roles and unknown hosts', async () => {
    const host = await testHost(api.deps.knex);
    const ok = await api.call('POST', '/api/v1/monitoring/metrics', { token: admin, body: { host: host.name, values: { 'system.cpu.usage': 12.5 } } });
    expect(ok.status).toBe(201);
    expect(ok.body.data).toMatchObject({ host: host.name, values: 1 });
    expectError(await api.call('POST', '/api/v1/monitoring/metrics', { token: admin, body: { host: host.name, values: { 'Bad Name': 1 } } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', '/api/v1/monitoring/metrics', { token: admin, body: { host: host.name, values: {} } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', '/api/v1/monitoring/metrics', { token: admin, body: { host: host.name, values: { 'system.cpu.usage': 'high' } } }), 422, 'VALIDATION_ERROR');
    const future = await api.call('POST', '/api/v1/monitoring/metrics', { token: admin, body: { host: host.name, timestamp: new Date(Date.now() + 3_600_000).toISOString(), values: { 'system.cpu.usage': 1 } } });
    expectError(future, 422, 'VALIDATION_ERROR');
    expect(future.body.error.details.field).toBe('timestamp');
    expectError(await api.call('POST', '/api/v1/monitoring/metrics', { token: admin, body: { host: host.name, timestamp: '1999-01-01T00:00:00Z', values: { 'system.cpu.usage': 1 } } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', '/api/v1/monitoring/metrics', { body: { host: host.name, values: { 'system.cpu.usage': 1 } } }), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('POST', '/api/v1/monitoring/metrics', { token: manager.token, body: { host: host.name, values: { 'system.cpu.usage': 1 } } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('POST', '/api/v1/monitoring/metrics', { token: admin, body: { host: 'no-such-host', values: { 'system.cpu.usage': 1 } } }), 404, 'RESOURCE_NOT_FOUND');
  });

  it('answers the dashboard from the latest samples, with null and a reason for what it does not have', async () => {
    const [a, b] = [await testHost(api.deps.knex), await testHost(api.deps.knex)];
    const values = (cpu: number, used: number) => ({
      'system.cpu.usage': cpu, 'system.cpu.cores': 4, 'system.load.1': 1, 'system.load.5': 2, 'system.load.15': 3,
      'system.memory.total': 1000, 'system.memory.used': used, 'system.memory.free': 1000 - used, 'system.disk.total': 2000, 'system.disk.used': 500, 'system.disk.free': 1500,
      'system.network.bytes_sent': 10, 'system.network.bytes_recv': 20, 'system.network.packets_sent': 1, 'system.network.packets_recv': 2,
    });
    for (const [h, cpu, used] of [[a, 20, 250], [b, 40, 750]] as const) {
      expect((await api.call('POST', '/api/v1/monitoring/metrics', { token: admin, body: { host: h.name, values: values(cpu, used) } })).status).toBe(201);
    }
    // The API samples itself (every second here): the database pool and the request rate come from the store.
    const dash = await eventually(async () => {
      const res = await api.call('GET', '/api/v1/monitoring/dashboard', { token: viewer.token });
      return res.status === 200 && res.body.data.application_metrics.database.pool_size !== null ? res.body.data : null;
    }, 30_000, 'a platform sample');
    expect(dash.system_metrics.hosts).toBeGreaterThanOrEqual(2);
    expect(dash.system_metrics.cpu.cores).toBeGreaterThanOrEqual(8);
    expect(dash.system_metrics.memory.total).toBeGreaterThanOrEqual(2000);
    expect(dash.system_metrics.network.bytes_recv).toBeGreaterThanOrEqual(40);
    expect(dash.application_metrics.database.pool_size).toBeGreaterThan(0);
    expect(dash.application_metrics.database.active_connections).toBeGreaterThan(0);
    expect(dash.application_metrics.cache).toEqual({ hit_rate: null, miss_rate: null, memory_usage: null, reason: expect.stringContaining('no cache') });
    expect(dash.alerts).toEqual(expect.objectContaining({ active: expect.any(Number), critical: expect.any(Number), warning: expect.any(Number), info: expect.any(Number) }));
    expectError(await api.call('GET', '/api/v1/monitoring/dashboard'), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('GET', '/api/v1/monitoring/dashboard', { token: user.token }), 403, 'INSUFFICIENT_PERMISSIONS');
  });

  it('answers /metrics/system per host and combined, at a chart\'s step, in the seed\'s shape', async () => {
    const host = await testHost(api.deps.knex);
    const now = Date.now();
    for (let i = 0; i < 6; i++) {
      const res = await api.call('POST', '/api/v1/monitoring/metrics', { token: admin, body: { host: host.name, timestamp: new Date(now - i * 60_000).toISOString(), values: { 'system.cpu.usage': 10 + i, 'system.memory.usage': 50 } } });
      expect(res.status).toBe(201);
    }
    const res = await api.call('GET', `/api/v1/monitoring/metrics/system?hours=1&host=${host.name}`, { token: manager.token });
    expect(res.status).toBe(200);
    const cpu = res.body.data.filter((p: { name: string }) => p.name === 'system.cpu.usage');
    expect(cpu).toHaveLength(6);
    expect(cpu[0]).toEqual({ name: 'system.cpu.usage', value: expect.any(Number), timestamp: expect.any(String), tags: { type: 'system', host: host.name }, metadata: { unit: 'percent', step_seconds: 60, max: expect.any(Number) } });
    expect(cpu.map((p: { value: number }) => p.value).sort()).toEqual([10, 11, 12, 13, 14, 15]);
    const day = await api.call('GET', `/api/v1/monitoring/metrics/system?hours=24&host=${host.name}&name=system.cpu.usage`, { token: manager.token });
    expect(day.body.data.every((p: { metadata: { step_seconds: number } }) => p.metadata.step_seconds === 300)).toBe(true);
    expect(day.body.data.length).toBeLessThanOrEqual(3);
    expect(day.body.data.length).toBeGreaterThanOrEqual(1);
    expect(day.body.data.every((p: { name: string; value: number }) => p.name === 'system.cpu.usage' && p.value >= 10 && p.value <= 15)).toBe(true);
    expect(Math.max(...day.body.data.map((p: { metadata: { max: number } }) => p.metadata.max))).toBe(15);
    const combined = await api.call('GET', '/api/v1/monitoring/metrics/system?name=system.memory.usage', { token: manager.token });
    expect(combined.body.data.every((p: { tags: { host: string } }) => p.tags.host === 'all')).toBe(true);
    const app = await api.call('GET', '/api/v1/monitoring/metrics/application?hours=1', { token: manager.token });
    expect(app.body.data.some((p: { name: string }) => p.name === 'app.database.pool_size')).toBe(true);
    for (const q of ['hours=0', 'hours=abc', 'hours=1.5', 'name=NOT%20A%20NAME']) {
      expectError(await api.call('GET', `/api/v1/monitoring/metrics/system?${q}`, { token: manager.token }), 422, 'VALIDATION_ERROR');
    }
    expectError(await api.call('GET', '/api/v1/monitoring/metrics/system?host=no-such-host', { token: manager.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', '/api/v1/monitoring/metrics/system'), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('GET', '/api/v1/monitoring/metrics/system', { token: user.token }), 403, 'INSUFFICIENT_PERMISSIONS');
  });

  it('folds raw samples past the raw window into 5-minute rollups (a Temporal workflow) and keeps the series', async () => {
    const host = await testHost(api.deps.knex);
    const source = `host:${host.name}`;
    // Aligned to 20 minutes: the step of a 96-hour window, so the 10 minutes of samples make one point.
    const start = new Date(Math.floor((Date.now() - 3 * 86_400_000) / 1_200_000) * 1_200_000);
    const rows = Array.from({ length: 20 }, (_, i) => ({
      source, kind: 'host', host_id: host.id, at: new Date(start.getTime() + i * 30_000), values: JSON.stringify({ 'system.cpu.usage': i, 'system.memory.usage': 50 }),
    }));
    await api.deps.knex('metric_samples').insert(rows);
    const result = await api.deps.temporal.workflow.execute(monitoringRollupWorkflow, { taskQueue: api.config.taskQueue, workflowId: `test-rollup-${host.name}` });
    expect(result.rolled_up).toBeGreaterThanOrEqual(20);
    expect(Number((await api.deps.knex('metric_samples').where({ source }).count('* as n').first())!.n)).toBe(0);
    const rollups = await api.deps.knex('metric_rollups as r').where({ source }).orderBy('bucket')
      .select('r.samples', api.deps.knex.raw("r.avg_values[array_position(r.metric_ids, (select id from metric_names where name = 'system.cpu.usage'))] as cpu"),
        api.deps.knex.raw("r.max_values[array_position(r.metric_ids, (select id from metric_names where name = 'system.cpu.usage'))] as cpu_max"));
    expect(rollups.map((r) => r.samples)).toEqual([10, 10]);
    expect(rollups[0].cpu).toBeCloseTo(4.5);
    expect(rollups[0].cpu_max).toBe(9);

    const res = await api.call('GET', `/api/v1/monitoring/metrics/system?hours=96&host=${host.name}&name=system.cpu.usage`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(1);
    expect(res.body.data[0].metadata.step_seconds).toBe(1200);
    expect(res.body.data[0].value).toBeCloseTo(9.5);
    expect(res.body.data[0].metadata.max).toBe(19);

    // A sample arriving late for a bucket already rolled up is merged into it, weighted.
    await api.deps.knex('metric_samples').insert({ source, kind: 'host', host_id: host.id, at: new Date(start.getTime() + 60_000), values: JSON.stringify({ 'system.cpu.usage': 100 }) });
    await api.deps.temporal.workflow.execute(monitoringRollupWorkflow, { taskQueue: api.config.taskQueue, workflowId: `test-rollup-late-${host.name}` });
    const merged = await api.deps.knex('metric_rollups as r').where({ source }).orderBy('bucket').first('r.samples', 'r.metric_ids',
      api.deps.knex.raw("r.avg_values[array_position(r.metric_ids, (select id from metric_names where name = 'system.cpu.usage'))] as cpu"));
    expect(merged.samples).toBe(11);
    expect(merged.cpu).toBeCloseTo((45 + 100) / 11);
    expect(merged.metric_ids).toHaveLength(2);
  });
});
