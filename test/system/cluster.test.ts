import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { useOwnDatabase } from '../userdata/own-database';
import { startTestApi, expectError, eventually, type TestApi, type TestUser } from '../support/api';
import { spawnEntrypoint } from '../support/processes';
import { joinCluster, sweepClusterNodes, withLease } from '../../activities/system/node-presence';
import { startProcessRuntime } from '../../activities/system/process-runtime';
import { createLogger } from '../../shared/platform/logger';

// Cluster membership is server-wide (every process of the database registers): a database of this file's own.
let api: TestApi;
let admin: string;
let user: TestUser;
let health: http.Server;
let healthUrl: string;
let mode: 'ok' | 'fail' | 'hang' = 'ok';

const N = '/api/v1/cluster/nodes';

beforeAll(async () => {
  await useOwnDatabase('system_cluster');
  api = await startTestApi({ IDCFLOW_NODE_HEARTBEAT_SECONDS: '1', IDCFLOW_NODE_STALE_SECONDS: '3', IDCFLOW_NODE_PROBE_TIMEOUT_MS: '1500' });
  admin = await api.admin();
  user = await api.createUser('user');
  // An external node's health endpoint, on loopback.
  health = http.createServer((_req, res) => {
    if (mode === 'hang') return;
    res.writeHead(mode === 'ok' ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: mode }));
  });
  await new Promise<void>((r) => health.listen(0, '127.0.0.1', r));
  healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/health`;
}, 60_000);
afterAll(async () => {
  health?.closeAllConnections();
  await new Promise((r) => health?.close(r));
  await api?.close();
});

const nodeOf = async (id: string) => (await api.call('GET', `${N}/${encodeURIComponent(id)}`, { token: admin })).body.data;

describe('cluster nodes of idcflow\'s own processes', () => {
  it('lists this API process, healthy, with its heartbeat, load, capabilities and version; the status counts it', async () => {
    const status = await api.call('GET', '/api/v1/cluster/status', { token: admin });
    expect(status.status).toBe(200);
    const self = api.deps.system.nodeId!;
    expect(self).toMatch(/^api:/);
    expect(status.body.data).toMatchObject({ current_node_id: self, is_leader: false, stale_after_seconds: 3, load_balancer: { strategy: expect.any(String) } });
    const me = status.body.data.nodes.find((n: { id: string }) => n.id === self);
    expect(me).toMatchObject({
      kind: 'api', host: '127.0.0.1', port: Number(new URL(api.url).port), status: 'healthy', last_heartbeat: expect.any(String),
      load_factor: expect.any(Number), capabilities: ['api', 'compat'], metadata: { version: expect.any(String), environment: 'test', pid: process.pid }, is_current: true,
    });
    expect(status.body.data.healthy_nodes).toBeGreaterThanOrEqual(1);
    expect(status.body.data.services.idcflow.nodes).toContain(self);
    const list = await api.call('GET', `${N}?kind=api&size=100`, { token: admin });
    expect(list.body.data.pagination).toMatchObject({ page: 1, size: 100 });
    expect(list.body.data.nodes.map((n: { id: string }) => n.id)).toContain(self);
    expect(list.body.data.nodes.every((n: { kind: string }) => n.kind === 'api')).toBe(true);
  });

  it('turns a process that stops heartbeating unhealthy; one that stops cleanly says stopped', async () => {
    const child = await spawnEntrypoint('workers/api.ts', [], { ...process.env, PORT: '0', LOG_LEVEL: 'info', IDCFLOW_NODE_HEARTBEAT_SECONDS: '0.5' }, 'idcflow API listening');
    try {
      const node = await eventually(async () => {
        const nodes = (await api.call('GET', `${N}?kind=api&size=100`, { token: admin })).body.data.nodes as Array<{ id: string; metadata: { pid: number } }>;
        return nodes.find((n) => n.metadata.pid === child.proc.pid);
      }, 20_000, 'the spawned API to register');
      const first = (await nodeOf(node.id)).last_heartbeat;
      await eventually(async () => (await nodeOf(node.id)).last_heartbeat > first, 10_000, 'a later heartbeat');
      expect((await nodeOf(node.id)).status).toBe('healthy');
      child.proc.kill('SIGKILL');
      await eventually(async () => (await nodeOf(node.id)).status === 'unhealthy', 20_000, 'the killed API to turn unhealthy');
      const status = (await api.call('GET', '/api/v1/cluster/status', { token: admin })).body.data;
      expect(status.unhealthy_nodes).toBeGreaterThanOrEqual(1);
      expect(status.services.idcflow.nodes).not.toContain(node.id);
    } finally {
      await child.stop('SIGKILL');
    }
    const worker = await joinCluster(api.deps.knex, api.config, createLogger('silent'), { kind: 'worker', capabilities: ['workflows'] });
    expect((await nodeOf(worker.id)).status).toBe('healthy');
    await worker.stop();
    expect((await nodeOf(worker.id)).status).toBe('stopped');
    const removed = await api.call('DELETE', `${N}/${encodeURIComponent(worker.id)}`, { token: admin });
    expect(removed.status).toBe(200);
    expectError(await api.call('GET', `${N}/${encodeURIComponent(worker.id)}`, { token: admin }), 404, 'RESOURCE_NOT_FOUND');
  }, 90_000);

  it('checks an API node with a real probe of its liveness route, and a worker by its heartbeat', async () => {
    const self = api.deps.system.nodeId!;
    const res = await api.call('POST', `${N}/${encodeURIComponent(self)}/health-check`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ node_id: self, is_healthy: true, status: 'healthy', check: { method: 'http', ok: true, status_code: 200, url: `${api.url}/api/v1/status/health` } });
    const worker = await joinCluster(api.deps.knex, api.config, createLogger('silent'), { kind: 'worker', capabilities: ['workflows'] });
    try {
      const byHeartbeat = await api.call('POST', `${N}/${encodeURIComponent(worker.id)}/health-check`, { token: admin });
      expect(byHeartbeat.body.data).toMatchObject({ is_healthy: true, check: { method: 'heartbeat', stale_after_seconds: 3 } });
    } finally {
      await worker.stop();
    }
    // A running process cannot be removed (it would register again at its next heartbeat).
    expectError(await api.call('DELETE', `${N}/${encodeURIComponent(self)}`, { token: admin }), 409, 'CONFLICT');
  });
});

describe('work one process does alone: an advisory-lock lease', () => {
  it('lets one holder at a time run the sweep, which forgets processes silent for a day and keeps external nodes', async () => {
    const { knex } = api.deps;
    let release!: () => void;
    const holding = new Promise<void>((r) => { release = r; });
    let entered!: () => void;
    const inside = new Promise<void>((r) => { entered = r; });
    const first = withLease(knex, 'idcflow:test-lease', async () => { entered(); await holding; return 'first'; });
    await inside;
    expect(await withLease(knex, 'idcflow:test-lease', async () => 'second')).toEqual({ held: false });
    release();
    expect(await first).toEqual({ held: true, result: 'first' });
    expect(await withLease(knex, 'idcflow:test-lease', async () => 'third')).toEqual({ held: true, result: 'third' });

    const old = new Date(Date.now() - 2 * 86_400_000);
    await knex('cluster_nodes').insert([
      { id: 'worker:gone:1', kind: 'worker', host: 'gone', status: 'running', last_heartbeat: old },
      { id: 'ext-old', kind: 'external', host: 'x', health_url: 'http://127.0.0.1:9/', status: 'registered', last_heartbeat: old },
    ]);
    // The API's own heartbeat may have swept first: either way the silent worker is gone and the external node stays.
    expect(await sweepClusterNodes(knex)).toBeLessThanOrEqual(1);
    expect(await knex('cluster_nodes').whereIn('id', ['worker:gone:1', 'ext-old']).pluck('id')).toEqual(['ext-old']);
    await knex('cluster_nodes').where({ id: 'ext-old' }).delete();
  });
});

describe('external nodes: POST /cluster/nodes and /cluster/nodes/{id}/health-check', () => {
  it('registers a node by its health URL and probes it for real: healthy, failing, not answering within the bound', async () => {
    const added = await api.call('POST', N, { token: admin, body: { id: 'edge-1', health_url: healthUrl, capabilities: ['api', 'cache'], metadata: { version: '3.0.0', environment: 'production' } } });
    expect(added.status).toBe(201);
    expect(added.body.data).toMatchObject({ message: expect.any(String), node: { id: 'edge-1', kind: 'external', host: '127.0.0.1', status: 'unknown', health_url: healthUrl, capabilities: ['api', 'cache'], metadata: { environment: 'production' } } });
    const audit = await api.deps.knex('audit_log').where({ module: 'system', action: 'cluster_node_add', resource_id: 'edge-1' }).first();
    expect(audit).toBeTruthy();

    mode = 'ok';
    const ok = await api.call('POST', `${N}/edge-1/health-check`, { token: admin });
    expect(ok.status).toBe(200);
    expect(ok.body.data).toMatchObject({ node_id: 'edge-1', is_healthy: true, status: 'healthy', last_checked: expect.any(String), check: { ok: true, status_code: 200, url: healthUrl } });
    expect(await nodeOf('edge-1')).toMatchObject({ status: 'healthy', last_heartbeat: expect.any(String), last_check: { ok: true } });

    mode = 'fail';
    const failing = await api.call('POST', `${N}/edge-1/health-check`, { token: admin });
    expect(failing.body.data).toMatchObject({ is_healthy: false, status: 'unhealthy', check: { ok: false, status_code: 503, error: 'answered HTTP 503' } });
    expect((await nodeOf('edge-1')).status).toBe('unhealthy');

    mode = 'hang';
    const started = Date.now();
    const silent = await api.call('POST', `${N}/edge-1/health-check`, { token: admin });
    expect(silent.body.data).toMatchObject({ is_healthy: false, check: { ok: false, status_code: null, error: 'no answer within 1500 ms' } });
    expect(Date.now() - started).toBeLessThan(15_000);
    mode = 'ok';
  }, 60_000);

  it('has workers probe external nodes with every heartbeat: a node that stops answering turns unhealthy by itself', async () => {
    mode = 'ok';
    expect((await api.call('POST', N, { token: admin, body: { id: 'edge-auto', health_url: healthUrl } })).status).toBe(201);
    const worker = await startProcessRuntime(api.deps.knex, api.config, createLogger('silent'), { kind: 'worker', capabilities: ['workflows'] });
    try {
      const seen = await eventually(async () => { const n = await nodeOf('edge-auto'); return n.status === 'healthy' ? n : null; }, 15_000, 'the first probe');
      await eventually(async () => (await nodeOf('edge-auto')).last_heartbeat > seen.last_heartbeat, 15_000, 'a later successful probe');
      mode = 'fail';
      await eventually(async () => (await nodeOf('edge-auto')).status === 'unhealthy', 15_000, 'the failing node to turn unhealthy');
      expect((await nodeOf('edge-auto')).last_check).toMatchObject({ ok: false, status_code: 503 });
      mode = 'ok';
      await eventually(async () => (await nodeOf('edge-auto')).status === 'healthy', 15_000, 'the node to be healthy again');
    } finally {
      mode = 'ok';
      await worker.stop();
      await api.call('DELETE', `${N}/edge-auto`, { token: admin });
    }
  }, 60_000);

  it('takes the seed\'s body (host and port), refuses a taken id, bad input naming the field, non-http URLs', async () => {
    const port = Number(new URL(healthUrl).port);
    const seedBody = { id: 'node4', host: '127.0.0.1', port, status: 'healthy', load_factor: 0.0, capabilities: ['api', 'cache'], metadata: { version: '3.0.0', environment: 'production' } };
    const added = await api.call('POST', N, { token: admin, body: seedBody });
    expect(added.status).toBe(201);
    expect(added.body.data.node).toMatchObject({ id: 'node4', port, health_url: `http://127.0.0.1:${port}/health`, status: 'unknown' });
    expectError(await api.call('POST', N, { token: admin, body: seedBody }), 409, 'CONFLICT');
    expectError(await api.call('POST', N, { token: admin, body: { id: api.deps.system.nodeId, health_url: healthUrl } }), 409, 'CONFLICT');
    for (const [url, message] of [['file:///etc/passwd', 'http or https'], ['ftp://127.0.0.1/x', 'http or https'], ['gopher://127.0.0.1:70/', 'http or https'], ['not a url', 'absolute URL'], ['http://user:pw@127.0.0.1/', 'credentials']]) {
      const bad = await api.call('POST', N, { token: admin, body: { id: 'edge-x', health_url: url } });
      expectError(bad, 422, 'VALIDATION_ERROR');
      expect(bad.body.error.details.errors[0]).toMatchObject({ field: 'health_url', message: expect.stringContaining(message) });
    }
    const noWhere = await api.call('POST', N, { token: admin, body: { id: 'edge-x' } });
    expectError(noWhere, 422, 'VALIDATION_ERROR');
    expect(noWhere.body.error.details.field).toBe('health_url');
    // A host that cannot be put in a URL (the fuzzer's "R>", or a colon where no IPv6 address is) is refused, not a 500.
    for (const host of ['R>', 'a:b']) {
      const badHost = await api.call('POST', N, { token: admin, body: { id: 'edge-x', host, port: 138 } });
      expectError(badHost, 422, 'VALIDATION_ERROR');
      expect(badHost.body.error.details.errors[0]).toMatchObject({ field: 'host' });
    }
    expect(await api.deps.knex('cluster_nodes').where({ id: 'edge-x' })).toEqual([]);
    const badFields = await api.call('POST', N, { token: admin, body: { id: 'bad id/../', port: 70000, capabilities: 'api' } });
    expectError(badFields, 422, 'VALIDATION_ERROR');
    expect(badFields.body.error.details.errors.map((e: { field: string }) => e.field).sort()).toEqual(['capabilities', 'id', 'port']);
    expectError(await api.call('GET', `${N}?kind=spaceship`, { token: admin }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('GET', `${N}?status=sleepy`, { token: admin }), 422, 'VALIDATION_ERROR');
    expect((await api.call('DELETE', `${N}/node4`, { token: admin })).status).toBe(200);
  });

  it('answers 404 for a missing node, 401 without a token and 403 to a non-admin on every route', async () => {
    expectError(await api.call('GET', `${N}/nowhere`, { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', `${N}/nowhere/health-check`, { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('DELETE', `${N}/nowhere`, { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/api/v1/cluster/status'], ['GET', N], ['POST', N, { id: 'edge-9', health_url: healthUrl }], ['GET', `${N}/edge-1`],
      ['DELETE', `${N}/edge-1`], ['POST', `${N}/edge-1/health-check`],
    ];
    for (const [method, path, body] of routes) {
      expectError(await api.call(method, path, { body }), 401, 'INVALID_CREDENTIALS');
      expectError(await api.call(method, path, { body, token: user.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    }
    expect((await nodeOf('edge-1')).id).toBe('edge-1');
  });
});
