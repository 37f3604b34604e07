import { startTestApi, eventually, expectError, type TestApi, type TestUser } from '../support/api';
import { createInstance, finished, uniq } from '../support/compute';
import { spawnWorker, type Spawned } from '../support/processes';
import { HA_TEST_ENV, haHostsSkip, startHaHosts, stopHaHosts, type HaHost } from '../support/ha-hosts';
import { HEALTH_SCHEDULE_ID } from '../../api/availability/health';
import { describeIfRunnable } from '../support/environment';

/**
 * High availability against two real hosts: two Podman Docker API services, each with its own agent process, a worker of
 * this file's own. Health on the Temporal Schedule, failover with fencing, the fenced host's return, traffic.
 */
const skip = haHostsSkip();

describeIfRunnable(skip, 'health and failover between two real hosts', () => {
  const queue = uniq('ha');
  let api: TestApi;
  /** The same API, but operations wait up to 10 minutes for an agent to pick up their engine calls. */
  let patient: TestApi;
  let worker: Spawned;
  let a: HaHost;
  let b: HaHost;
  let admin: string;
  let user: TestUser;
  const image = process.env.IDCFLOW_TEST_DOCKER_IMAGE!;
  const onA: string[] = [];
  let web = '';
  /** A power operation whose engine call was queued for A's agent while A was going away (see the threshold test). */
  const queued = { opId: '', uuid: '' };
  let movedAddresses: unknown;

  const seed = (path: string, token = admin) => api.call('GET', path, { token });
  const row = (uuid: string) => api.deps.knex('instances').where({ uuid }).whereNull('deleted_at').first();

  beforeAll(async () => {
    api = await startTestApi({ IDCFLOW_TASK_QUEUE: queue, ...HA_TEST_ENV });
    patient = await startTestApi({ IDCFLOW_TASK_QUEUE: queue, ...HA_TEST_ENV, IDCFLOW_AGENT_WAIT_SECONDS: '600' });
    worker = await spawnWorker(queue, HA_TEST_ENV);
    admin = await api.admin();
    user = await api.createUser('user');
    [a, b] = await startHaHosts(api, ['10.87.71.0/24', '10.87.72.0/24']);
  }, 120_000);
  afterAll(async () => {
    await api.call('DELETE', '/api/v1/availability/health/schedule', { token: admin });
    await stopHaHosts([a, b].filter(Boolean));
    await worker?.stop();
    await patient?.close();
    await api?.close();
  });

  const health = async (id: number) => (await seed(`/api/v1/hosts/${id}/health`)).body.data;
  /** One health round now (the same workflow the Schedule starts), then the host's counts. */
  const round = async (id: number) => {
    expect((await api.call('POST', '/api/v1/availability/health/check', { token: admin })).status).toBe(200);
    return health(id);
  };
  /** The health Schedule every second, or paused with no round of its own left running: then only `round` counts. */
  const healthSchedule = async (enabled: boolean) => {
    const res = await api.call('PUT', '/api/v1/availability/health/schedule', { token: admin, body: { interval_seconds: 1, enabled } });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ id: HEALTH_SCHEDULE_ID, interval_seconds: 1, enabled });
    if (!enabled) {
      const handle = api.deps.temporal.schedule.getHandle(HEALTH_SCHEDULE_ID);
      await eventually(async () => (await handle.describe()).info.runningActions.length === 0, 30_000, 'the Schedule\'s last round to end');
    }
  };

  it('a health round finds both hosts healthy; native and seed 000 routes answer from it', async () => {
    const round = await api.call('POST', '/api/v1/availability/health/check', { token: admin });
    expect(round.status).toBe(200);
    expect((await seed(`/api/ha/health/${a.id}`)).body.reasons).toEqual([]);
    expect(round.body.data.healthy).toEqual(expect.arrayContaining([a.name, b.name]));
    const native = await api.call('GET', `/api/v1/hosts/${a.id}/health`, { token: admin });
    expect(native.body.data).toMatchObject({ host_id: a.id, health: 'healthy', status: 'healthy', reasons: [], generation: 1, agent: { online: true } });
    const one = await seed(`/api/ha/health/${b.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ server_id: b.id, status: 'healthy' });
    const all = await seed('/api/ha/health');
    expect(all.body.servers).toEqual(expect.arrayContaining([expect.objectContaining({ server_id: a.id, status: 'healthy' })]));
    expect(['healthy', 'degraded', 'unhealthy']).toContain(all.body.status);
    // The probe's answer in the round's history is a count, not the engine's whole list (1 MB at 5,000 instances).
    const history = await eventually(async () => {
      for await (const run of api.deps.temporal.workflow.list({ query: 'WorkflowType="hostHealthWorkflow" AND ExecutionStatus="Completed"' })) {
        return api.deps.temporal.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
      }
      return undefined;
    }, 15_000, 'a completed health round in Temporal\'s visibility');
    const scheduled = history.events!.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    expect(scheduled).toContain('engineProbe');
    expect(scheduled).not.toContain('engineList');
  });

  it('container traffic: real bytes in and out from the engine\'s stats', async () => {
    const { op } = await createInstance(api, admin, { host_id: a.id, image, command: ['httpd', '-f', '-p', '80', '-h', '/www'], cpu: 1, ram_mb: 64 });
    expect(op.status).toBe('succeeded');
    web = op.result.uuid;
    onA.push(web);
    const ip = (await row(web)).nics[0].ip4;
    const traffic = () => seed(`/api/ha/container_traffic/${id}`);
    const id = (await row(web)).id;
    const before = await traffic();
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ container_id: id, traffic: { in: expect.any(Number), out: expect.any(Number) } });
    // busybox httpd answers (its 404 for a path is an answer too): the engine's counters move with the requests.
    for (let i = 0; i < 3; i++) expect((await fetch(`http://${ip}/`)).status).toBeLessThan(500);
    const t = await eventually(async () => {
      const now = await traffic();
      return now.body.traffic.in > before.body.traffic.in && now.body.traffic.out > before.body.traffic.out ? now : null;
    }, 20_000, 'the traffic counters to grow');
    const byName = await api.call('GET', `/api/v1/availability/instances/${web}/traffic`, { token: admin });
    expect(byName.body.data.traffic.out).toBeGreaterThanOrEqual(t.body.traffic.out);
  });

  it('host A loses engine and agent: unhealthy at exactly the threshold, with reasons; the Schedule counts on; placement skips it', async () => {
    for (let i = 0; i < 2; i++) {
      const { op } = await createInstance(api, admin, { host_id: a.id, image, command: ['sleep', '3600'], cpu: 1, ram_mb: 32 });
      expect(op.status).toBe('succeeded');
      onA.push(op.result.uuid);
    }
    // Rounds run by hand while the Schedule is paused, so each one is counted and seen.
    await healthSchedule(false);
    await a.cut();
    // An operation started while the record still believes A's agent alive (its last heartbeat under
    // IDCFLOW_AGENT_OFFLINE_SECONDS old, as in the seconds after a host dies) queues its engine call for A's agent.
    queued.uuid = onA[1];
    await api.deps.knex('hosts').where({ id: a.id }).update({ agent_last_seen: api.deps.knex.fn.now() });
    const power = await patient.call('POST', `/api/v1/instances/${(await row(queued.uuid)).id}/power`, { token: admin, body: { action: 'start' } });
    expect(power.status).toBe(202);
    queued.opId = power.body.data.operation.id;
    await eventually(async () => (await api.call('GET', `/api/v1/operations/${queued.opId}`, { token: admin })).body.data.progress.step === 'power', 30_000, 'the start queued for A\'s agent');

    await eventually(async () => (await health(a.id)).agent.online === false, 30_000, 'A\'s agent heartbeat to go stale');
    const first = await round(a.id);
    expect(first).toMatchObject({ health: 'healthy', consecutive_failures: 1 }); // one failed round is not enough (threshold 2)
    expect(first.reasons.join(' ')).toMatch(/engine probe failed.*agent heartbeat stale|agent heartbeat stale.*engine probe failed/);
    expect(await round(a.id)).toMatchObject({ health: 'unhealthy', consecutive_failures: 2 });
    const down = (await seed(`/api/ha/health/${a.id}`)).body;
    expect(down.status).toBe('unhealthy');
    expect(down.reasons.join(' ')).toMatch(/engine probe failed/);
    expect(down.reasons.join(' ')).toMatch(/agent heartbeat stale/);
    expect((await seed(`/api/ha/health/${b.id}`)).body.status).toBe('healthy');
    // The Schedule's own rounds count on from there.
    await healthSchedule(true);
    await eventually(async () => (await health(a.id)).consecutive_failures >= 4, 30_000, 'two rounds of the Schedule');
    // Placement never picks A now.
    const { op } = await createInstance(api, admin, { engine_type: 'docker', image, command: ['sleep', '3600'], cpu: 1, ram_mb: 32 });
    expect(op.status).toBe('succeeded');
    expect((await row(op.result.uuid)).host_id).not.toBe(a.id);
    expect((await finished(api, admin, await api.call('DELETE', `/api/v1/instances/${(await row(op.result.uuid)).id}`, { token: admin }))).status).toBe('succeeded');
  }, 120_000);

  it('failover fences A and recreates its containers on B with the same uuids', async () => {
    const res = await api.call('POST', '/api/v1/availability/failover', { token: admin, body: { host_id: a.id, target_host_ids: [b.id] } });
    expect(res.status).toBe(202);
    const op = await finished(api, admin, res, 120);
    expect(op).toMatchObject({ status: 'succeeded', result: { host_id: a.id, generation: 2, failed: [] } });
    expect(op.result.moved.map((m: { uuid: string }) => m.uuid).sort()).toEqual([...onA].sort());
    const onB = await b.containers();
    for (const uuid of onA) {
      expect(onB.get(uuid)).toBe('running');
      expect(await row(uuid)).toMatchObject({ host_id: b.id, generation: 1, moving_to_host_id: null, state: 'running', engine_ref: `idcflow-${uuid}` });
    }
    expect((await api.deps.knex('hosts').where({ id: a.id }).first()).generation).toBe(2);
    // The start queued for A's agent is still waiting for it (A's fence is tried when A's agent is back).
    expect((await api.call('GET', `/api/v1/operations/${queued.opId}`, { token: admin })).body.data).toMatchObject({ status: 'running', progress: { step: 'power' } });
    movedAddresses = (await row(queued.uuid)).engine_addresses;
    // The moved web server answers at its new address.
    const ip = (await row(web)).nics[0].ip4;
    expect(ip).toMatch(/^10\.87\.72\./);
    expect((await fetch(`http://${ip}/`)).status).toBeLessThan(500);
  }, 150_000);

  it('A comes back: the start queued for it is refused by the fence, its stale copies go; healthy at exactly the threshold', async () => {
    await healthSchedule(false);
    // The engine was only cut off: A's old copies still run there until its agent sees they live on B now.
    await a.podman.startService();
    const stale = await a.containers();
    expect(onA.map((u) => stale.get(u))).toEqual(onA.map(() => 'running'));
    await a.startAgent();
    // The engine call queued before the failover reaches A's agent now, and A may no longer run that instance.
    const refused = await finished(api, admin, queued.opId, 60);
    expect(refused).toMatchObject({ status: 'failed', error: { code: 'CONFLICT', message: expect.stringMatching(new RegExp(`${queued.uuid} now lives on host ${b.id}.*fenced`)) } });
    expect(await row(queued.uuid)).toMatchObject({ host_id: b.id, state: 'running', engine_addresses: movedAddresses });
    await eventually(async () => { const left = await a.containers(); return onA.every((u) => !left.has(u)); }, 30_000, 'stale copies removed from A');
    const onB = await b.containers();
    for (const uuid of onA) expect(onB.get(uuid)).toBe('running');

    expect(await round(a.id)).toMatchObject({ health: 'unhealthy', consecutive_successes: 1 }); // one good round is not enough either
    expect(await round(a.id)).toMatchObject({ health: 'healthy', consecutive_successes: 2, consecutive_failures: 0, reasons: [] });
    expect((await seed(`/api/ha/health/${a.id}`)).body).toMatchObject({ status: 'healthy', reasons: [] });
  }, 120_000);

  it('auto_failover: once B is unhealthy, the health round fails it over by itself; B back removes its copies', async () => {
    await healthSchedule(true);
    const set = await api.call('PUT', `/api/v1/hosts/${b.id}/availability`, { token: admin, body: { auto_failover: true } });
    expect(set.body.data).toMatchObject({ host_id: b.id, auto_failover: true });
    await b.cut();
    const opId = await eventually(async () => (await api.deps.knex('operations').where({ type: 'host.failover', resource_id: String(b.id) }).first('id'))?.id as string | undefined, 60_000, 'the automatic failover');
    expect(opId).toBe(`host.failover-${b.id}-auto-g1`);
    const op = await finished(api, admin, opId, 120);
    expect(op).toMatchObject({ status: 'succeeded', result: { host_id: b.id, generation: 2, failed: [] } });
    expect(op.result.moved.map((m: { uuid: string }) => m.uuid).sort()).toEqual([...onA].sort());
    // Placement chose among the healthy hosts (A, or another docker host of the suite): never B, and running there.
    for (const uuid of onA) expect(await row(uuid)).toMatchObject({ state: 'running', moving_to_host_id: null });
    for (const uuid of onA) expect((await row(uuid)).host_id).not.toBe(b.id);
    await b.restore();
    await eventually(async () => { const left = await b.containers(); return onA.every((u) => !left.has(u)); }, 30_000, 'stale copies removed from B');
  }, 180_000);

  it('every route refuses no token (401), a non-admin (403), bad input (400/422) and missing resources (404)', async () => {
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/api/v1/availability/health'], ['GET', `/api/v1/hosts/${a.id}/health`], ['PUT', `/api/v1/hosts/${a.id}/availability`, { auto_failover: true }],
      ['POST', '/api/v1/availability/health/check'], ['GET', '/api/v1/availability/health/schedule'], ['PUT', '/api/v1/availability/health/schedule', { interval_seconds: 5 }],
      ['DELETE', '/api/v1/availability/health/schedule'], ['POST', '/api/v1/availability/failover', { host_id: a.id }], ['POST', '/api/v1/availability/load-balance', {}],
      ['POST', '/api/v1/availability/disaster-recovery'], ['POST', '/api/v1/availability/instances/1/replace', { image }], ['PUT', '/api/v1/availability/instances/1/pin', { pinned: true }],
      ['GET', '/api/v1/availability/instances/1/traffic'],
      ['GET', '/api/ha/health'], ['GET', `/api/ha/health/${a.id}`], ['GET', '/api/ha/container_traffic/1'], ['POST', '/api/ha/failover', { server_id: a.id }],
      ['POST', '/api/ha/load_balance', {}], ['POST', '/api/ha/disaster_recovery'], ['POST', '/api/ha/replace_container', { container_id: 1, image }],
    ];
    for (const [method, path, body] of routes) {
      const anon = await api.call(method, path, { body });
      expect([path, anon.status]).toEqual([path, 401]);
      const denied = await api.call(method, path, { body, token: user.token });
      expect([path, denied.status]).toEqual([path, 403]);
    }
    expectError(await api.call('POST', '/api/v1/availability/failover', { token: admin, body: { host_id: 'x' } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', '/api/v1/availability/failover', { token: admin, body: { host_id: 99999999 } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', '/api/v1/availability/failover', { token: admin, body: { host_id: a.id, target_host_ids: [99999999] } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', '/api/v1/availability/load-balance', { token: admin, body: { spread: 0 } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', '/api/v1/availability/instances/1/replace', { token: admin, body: {} }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', '/api/v1/availability/instances/no-such-thing/replace', { token: admin, body: { image } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('PUT', '/api/v1/availability/health/schedule', { token: admin, body: { interval_seconds: 0 } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('GET', '/api/v1/hosts/99999999/health', { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('PUT', `/api/v1/hosts/${a.id}/availability`, { token: admin, body: { auto_failover: 'yes' } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('GET', '/api/v1/availability/instances/99999999/traffic', { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    // Seed 000: 400 {"error"} for bad input, 404 for what does not exist.
    for (const [method, path, body] of [['GET', '/api/ha/health/abc'], ['POST', '/api/ha/failover', { server_id: 'abc' }], ['POST', '/api/ha/replace_container', { image }], ['POST', '/api/ha/load_balance', { spread: -1 }], ['GET', '/api/ha/container_traffic/a%20b']] as Array<[string, string, unknown?]>) {
      const res = await api.call(method, path, { token: admin, body });
      expect([path, res.status, typeof res.body.error]).toEqual([path, 400, 'string']);
    }
    for (const [method, path, body] of [['GET', '/api/ha/health/99999999'], ['POST', '/api/ha/failover', { server_id: 99999999 }], ['GET', '/api/ha/container_traffic/99999999'], ['POST', '/api/ha/replace_container', { container_id: 99999999, image }]] as Array<[string, string, unknown?]>) {
      const res = await api.call(method, path, { token: admin, body });
      expect([path, res.status, typeof res.body.error]).toEqual([path, 404, 'string']);
    }
  });
});
