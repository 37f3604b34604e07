import { startTestApi, eventually, type TestApi } from '../support/api';
import { createInstance, finished, uniq } from '../support/compute';
import { spawnWorker, type Spawned } from '../support/processes';
import { HA_TEST_ENV, haHostsSkip, startHaHosts, stopHaHosts, type HaHost } from '../support/ha-hosts';
import { describeIfRunnable } from '../support/environment';

/**
 * Moving containers between two real hosts (two Podman Docker API services with their agents): load balancing with a
 * pinned instance, replacement under HTTP load, disaster recovery, and a failover whose worker is killed half-way.
 */
const skip = haHostsSkip();

describeIfRunnable(skip, 'load balance, replace, disaster recovery, crash (two real hosts)', () => {
  const queue = uniq('ha-moves');
  let api: TestApi;
  let worker: Spawned;
  let a: HaHost;
  let b: HaHost;
  let admin: string;
  const image = process.env.IDCFLOW_TEST_DOCKER_IMAGE!;

  const row = (uuid: string) => api.deps.knex('instances').where({ uuid }).whereNull('deleted_at').first();
  const countOn = async (hostId: number) => Number((await api.deps.knex('instances').where({ host_id: hostId }).whereNull('deleted_at').count('* as n'))[0].n);
  async function container(hostId: number, command = ['sleep', '3600']) {
    const { op } = await createInstance(api, admin, { host_id: hostId, image, command, cpu: 1, ram_mb: 32 });
    expect(op.status).toBe('succeeded');
    return op.result.uuid as string;
  }
  async function removeAll() {
    const rows = await api.deps.knex('instances').whereIn('host_id', [a.id, b.id]).whereNull('deleted_at').select('id');
    await Promise.all(rows.map(async (r) => expect((await finished(api, admin, await api.call('DELETE', `/api/v1/instances/${r.id}`, { token: admin }))).status).toBe('succeeded')));
  }

  beforeAll(async () => {
    api = await startTestApi({ IDCFLOW_TASK_QUEUE: queue, ...HA_TEST_ENV });
    worker = await spawnWorker(queue, HA_TEST_ENV);
    admin = await api.admin();
    [a, b] = await startHaHosts(api, ['10.87.73.0/24', '10.87.74.0/24']);
  }, 120_000);
  afterAll(async () => {
    await stopHaHosts([a, b].filter(Boolean));
    await worker?.stop();
    await api?.close();
  });

  it('load balance: 6 containers on A and none on B end 3/3; a pinned one never moves', async () => {
    const uuids = await Promise.all(Array.from({ length: 6 }, () => container(a.id)));
    const pinned = uuids[0];
    const pin = await api.call('PUT', `/api/v1/availability/instances/${pinned}/pin`, { token: admin, body: { pinned: true } });
    expect(pin.body.data).toMatchObject({ uuid: pinned, pinned: true });
    const res = await api.call('POST', '/api/ha/load_balance', { token: admin, body: { server_ids: [a.id, b.id], spread: 1 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ message: 'Load balance operation successful', failed: [] });
    expect(res.body.moved).toHaveLength(3);
    expect([await countOn(a.id), await countOn(b.id)]).toEqual([3, 3]);
    expect((await row(pinned)).host_id).toBe(a.id);
    const [onA, onB] = [await a.containers(), await b.containers()];
    for (const u of uuids) {
      const r = await row(u);
      // Cold move: the new copy runs on its new host, the old one is gone.
      expect([u, (r.host_id === a.id ? onA : onB).get(u), (r.host_id === a.id ? onB : onA).has(u)]).toEqual([u, 'running', false]);
    }
    // Balanced already: nothing moves.
    const again = await finished(api, admin, await api.call('POST', '/api/v1/availability/load-balance', { token: admin, body: { host_ids: [a.id, b.id] } }));
    expect(again).toMatchObject({ status: 'succeeded', result: { moved: [], counts: { [a.name]: 3, [b.name]: 3 } } });
    await removeAll();
  }, 240_000);

  it('replace keeps the container answering HTTP during the swap; a replacement that fails to start leaves the old one running', async () => {
    const uuid = await container(a.id, ['httpd', '-f', '-p', '80', '-h', '/www']);
    const before = await a.docker.getContainer(`idcflow-${uuid}`).inspect();
    let running = true;
    let ok = 0;
    let failed = 0;
    const load = (async () => {
      while (running) {
        const ip = (await row(uuid)).nics[0].ip4;
        try {
          const r = await fetch(`http://${ip}/`, { signal: AbortSignal.timeout(1000) });
          if (r.status < 500) ok++; else failed++;
        } catch {
          failed++;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const id = (await row(uuid)).id;
    const res = await api.call('POST', '/api/ha/replace_container', { token: admin, body: { container_id: id, command: ['httpd', '-f', '-p', '80', '-h', '/'] } });
    running = false;
    await load;
    console.log(`replace under HTTP load: ${ok} requests answered, ${failed} failed`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ message: 'Docker container replaced successfully', container_id: id, container_name: uuid, status: 'running' });
    expect(failed).toBe(0);
    expect(ok).toBeGreaterThan(5);
    const after = await a.docker.getContainer(`idcflow-${uuid}`).inspect();
    expect(after.Id).not.toBe(before.Id);
    expect(after.Config.Cmd).toEqual(['httpd', '-f', '-p', '80', '-h', '/']);
    expect(await row(uuid)).toMatchObject({ state: 'running', command: ['httpd', '-f', '-p', '80', '-h', '/'], engine_ref: `idcflow-${uuid}` });
    expect([...(await a.containers()).keys()].filter((k) => k === uuid)).toHaveLength(1);

    // The new command exits at once: the replacement goes, the old container stays and serves.
    const bad = await api.call('POST', '/api/ha/replace_container', { token: admin, body: { container_name: uuid, command: ['false'] } });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(typeof bad.body.error).toBe('string');
    const kept = await a.docker.getContainer(`idcflow-${uuid}`).inspect();
    expect([kept.Id, kept.State.Running]).toEqual([after.Id, true]);
    expect((await a.docker.listContainers({ all: true })).filter((c) => c.Names[0].startsWith(`/idcflow-${uuid}.`))).toEqual([]);
    expect(await row(uuid)).toMatchObject({ state: 'running', command: ['httpd', '-f', '-p', '80', '-h', '/'] });
    expect((await fetch(`http://${(await row(uuid)).nics[0].ip4}/`)).status).toBeLessThan(500);
    await removeAll();
  }, 180_000);

  it('disaster recovery brings back what an engine lost (restored), what sits on a disabled host (moved), and says what is lost', async () => {
    const gone = await container(a.id);
    const stopped = await container(a.id);
    const stranded = await container(b.id);
    const intact = await container(a.id);
    await a.docker.getContainer(`idcflow-${gone}`).remove({ force: true });
    await a.docker.getContainer(`idcflow-${stopped}`).kill();
    expect((await api.call('POST', `/api/v1/hosts/${b.id}/disable`, { token: admin })).status).toBe(200);
    try {
      const op = await finished(api, admin, await api.call('POST', '/api/v1/availability/disaster-recovery', { token: admin, body: { host_ids: [a.id, b.id] } }), 120);
      expect(op.status).toBe('succeeded');
      expect(op.result.restored.sort()).toEqual([gone, stopped].sort());
      expect(op.result.moved.map((m: { uuid: string }) => m.uuid)).toEqual([stranded]);
      // Intact: the untouched one, and the moved one already running on A when A's engine was compared with the records.
      expect(op.result).toMatchObject({ lost: [], intact: 2 });
      const onA = await a.containers();
      for (const u of [gone, stopped, stranded, intact]) expect([u, onA.get(u), (await row(u)).host_id]).toEqual([u, 'running', a.id]);
    } finally {
      await api.call('POST', `/api/v1/hosts/${b.id}/enable`, { token: admin });
    }
    // B's stale copy of the moved instance is removed by B's agent.
    await eventually(async () => !(await b.containers()).has(stranded), 30_000, 'B\'s stale copy removed');
    await removeAll();
  }, 180_000);

  it('crash: the worker killed in the middle of a failover; after a restart each instance exists exactly once', async () => {
    // The recovery before fenced B, which revoked its agent's identity: an admin joins it again.
    await b.agent?.stop();
    await b.startAgent();
    const uuids = await Promise.all(Array.from({ length: 4 }, () => container(b.id)));
    await worker.stop();
    // The first switch of the record is held after it happened: the kill lands between the switch and its report.
    worker = await spawnWorker(queue, { ...HA_TEST_ENV, IDCFLOW_FAULT_DELAY: 'availabilitySwitchInstance.after:30000' });
    const res = await api.call('POST', '/api/v1/availability/failover', { token: admin, body: { host_id: b.id, target_host_ids: [a.id] } });
    expect(res.status).toBe(202);
    await eventually(async () => {
      const moved = await api.deps.knex('instances').whereIn('uuid', uuids).where({ host_id: a.id }).count('* as n');
      return Number(moved[0].n) >= 1;
    }, 60_000, 'a first record switched');
    await worker.stop('SIGKILL');
    worker = await spawnWorker(queue, HA_TEST_ENV);
    const op = await finished(api, admin, res, 120);
    expect(op).toMatchObject({ status: 'succeeded', result: { failed: [] } });
    expect(op.result.moved.map((m: { uuid: string }) => m.uuid).sort()).toEqual([...uuids].sort());
    const onA = await a.docker.listContainers({ all: true, filters: { label: ['io.idcflow.managed=true'] } });
    for (const u of uuids) {
      expect([u, onA.filter((c) => c.Labels['io.idcflow.uuid'] === u).map((c) => c.State)]).toEqual([u, ['running']]);
      expect(await api.deps.knex('instances').where({ uuid: u }).whereNull('deleted_at').select('host_id')).toEqual([{ host_id: a.id }]);
    }
    // B was fenced while up: its agent removes its copies, and nothing starts them again.
    await eventually(async () => { const left = await b.containers(); return uuids.every((u) => !left.has(u)); }, 30_000, 'B\'s copies removed');
  }, 240_000);
});
