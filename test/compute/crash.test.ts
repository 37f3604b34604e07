import Docker from 'dockerode';
import { startTestApi, type TestApi } from '../support/api';
import { addHost as addAnyHost, createInstance, finished, uniq } from '../support/compute';
import { podmanForTests, podmanMissing } from '../support/podman';
import { unseal } from '../../shared/platform/crypto';
import { spawnWorker, type Spawned } from '../support/processes';
import { describeIfRunnable } from '../support/environment';

/**
 * The compute runbooks against a real Docker Engine API (Podman's), with the worker SIGKILLed at the most dangerous point of
 * each: after a restart every operation must end as asked, with nothing lost and nothing twice. Fault points hold the first
 * attempt only (activities/platform/fault-injection.ts), so the restarted worker runs straight through.
 */
const podman = podmanForTests();

const LABEL = 'io.idcflow.uuid';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeIfRunnable(podmanMissing(), 'compute runbooks survive a killed worker (Podman Docker API)', () => {
  const queue = uniq('compute-crash');
  const hostNames = new Set<string>();
  let api: TestApi;
  let docker: Docker;
  let socketPath: string;
  let image: string;
  let admin: string;
  let worker: Spawned | undefined;
  let workerEnv = '';

  beforeAll(async () => {
    ({ socketPath, image } = podman as { socketPath: string; image: string });
    api = await startTestApi({ IDCFLOW_TASK_QUEUE: queue });
    docker = new Docker({ socketPath });
    admin = await api.admin();
  });
  afterAll(async () => {
    await worker?.stop();
    const left = await docker.listContainers({ all: true });
    for (const c of left.filter((c) => hostNames.has(c.Labels?.['io.idcflow.host']))) await docker.getContainer(c.Id).remove({ force: true });
    await api.close();
  });

  /** The one worker of this file's queue, with the fault holds given (restarted only when they change). */
  async function useWorker(faults: string) {
    if (worker && workerEnv === faults && worker.proc.exitCode === null && worker.proc.signalCode === null) return;
    await worker?.stop();
    worker = await spawnWorker(queue, faults ? { IDCFLOW_FAULT_DELAY: faults } : {});
    workerEnv = faults;
  }
  /** The crash: SIGKILL, then a plain worker on the same queue picks the operation up. */
  async function killAndRestart() {
    await worker!.stop('SIGKILL');
    worker = await spawnWorker(queue);
    workerEnv = '';
  }

  const containersOf = async (uuid: string) => docker.listContainers({ all: true, filters: { label: [`${LABEL}=${uuid}`] } });
  // Podman answers a container being removed with 500 "no such container".
  const inspect = (name: string) => docker.getContainer(name).inspect().catch((e) => { if (e.statusCode === 404 || /no such container/.test(e.message)) return null; throw e; });
  const operation = async (id: string) => (await api.call('GET', `/api/v1/operations/${id}`, { token: admin })).body.data;
  const steps = async (id: string) => (await api.call('GET', `/api/v1/operations/${id}/events`, { token: admin })).body.data.events.map((e: { step: string }) => e.step) as string[];
  const started = (res: { status: number; body: { data: { operation: { id: string } } } }) => {
    expect(res.status).toBe(202);
    return res.body.data.operation.id;
  };
  const row = (uuid: string) => api.deps.knex('instances').where({ uuid }).whereNull('deleted_at').first();
  async function until<T>(what: string, probe: () => Promise<T | false | null | undefined>, ms = 30_000): Promise<T> {
    for (const deadline = Date.now() + ms; ;) {
      const v = await probe();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(200);
    }
  }
  /** Waits until the operation is at `step` and `also` holds (the engine is half-way). */
  const reached = (opId: string, step: string, also: () => Promise<boolean> = async () => true) =>
    until(`step ${step}`, async () => (await operation(opId)).progress.step === step && also());

  async function dockerHost(body: Record<string, unknown> = {}) {
    const host = await addAnyHost(api, { engine_type: 'docker', address: `unix://${socketPath}`, ...body });
    hostNames.add(host.name);
    return host;
  }
  async function runningInstance(token = admin, hostBody: Record<string, unknown> = {}, command = ['sleep', '3600']) {
    const host = await dockerHost(hostBody);
    const uuid = uniq('cc');
    const { op } = await createInstance(api, token, { uuid, name: 'before', host_id: host.id, image, command, cpu: 1, ram_mb: 128 });
    expect(op).toMatchObject({ status: 'succeeded', result: { uuid, state: 'running' } });
    const [c] = await containersOf(uuid);
    return { host, uuid, id: (await row(uuid)).id as number, containerId: c.Id };
  }

  describe('update (the docker driver recreates the container under the same name)', () => {
    it('killed after the old container was set aside and before its replacement exists: ends with one container, new spec, running', async () => {
      await useWorker('engineUpdate.aside:30000');
      const { uuid, id, containerId } = await runningInstance();
      const opId = await started(await api.call('PUT', `/api/v1/instances/${id}`, { token: admin, body: { ram_mb: 192, name: 'after' } }));
      // The dangerous window: nothing answers to the instance's name on the engine.
      await reached(opId, 'engine-update', async () => (await inspect(`idcflow-${uuid}`)) === null);
      await killAndRestart();

      const op = await finished(api, admin, opId, 90);
      expect(op).toMatchObject({ status: 'succeeded', error: null, result: { uuid, state: 'running', engine_ref: `idcflow-${uuid}` } });
      const after = await containersOf(uuid);
      expect(after.map((c) => [c.Names[0], c.State])).toEqual([[`/idcflow-${uuid}`, 'running']]);
      expect(after[0].Id).not.toBe(containerId);
      const info = (await inspect(`idcflow-${uuid}`))!;
      expect(info.HostConfig.Memory).toBe(192 * 1048576);
      expect(info.Config.Labels['io.idcflow.name']).toBe('after');
      expect(await row(uuid)).toMatchObject({ id, name: 'after', ram_mb: 192, state: 'running', engine_ref: `idcflow-${uuid}` });
      expect((await steps(opId)).filter((s) => s.startsWith('undo:'))).toEqual([]);
    }, 120_000);

    it('killed after the old container was removed and before its replacement was started: ends running, with the new spec', async () => {
      await useWorker('engineUpdate.swap:30000');
      const { uuid, id, containerId } = await runningInstance();
      const opId = await started(await api.call('PUT', `/api/v1/instances/${id}`, { token: admin, body: { ram_mb: 160 } }));
      await reached(opId, 'engine-update', async () => {
        const [c, ...more] = await containersOf(uuid);
        return !more.length && c?.Id !== containerId && c?.State !== 'running';
      });
      await killAndRestart();

      const op = await finished(api, admin, opId, 90);
      expect(op).toMatchObject({ status: 'succeeded', result: { uuid, state: 'running' } });
      const after = await containersOf(uuid);
      expect(after.map((c) => [c.Names[0], c.State])).toEqual([[`/idcflow-${uuid}`, 'running']]);
      expect((await inspect(`idcflow-${uuid}`))!.HostConfig.Memory).toBe(160 * 1048576);
      expect(await row(uuid)).toMatchObject({ id, name: 'before', ram_mb: 160, state: 'running' });
    }, 120_000);

    it('a stopped instance, killed mid-recreate, ends with one container, new spec, still stopped', async () => {
      await useWorker('engineUpdate.aside:30000');
      const { uuid, id, containerId } = await runningInstance();
      expect((await finished(api, admin, await api.call('POST', `/api/v1/instances/${id}/power`, { token: admin, body: { action: 'hard_stop' } }))).status).toBe('succeeded');
      const opId = await started(await api.call('PUT', `/api/v1/instances/${id}`, { token: admin, body: { ram_mb: 176 } }));
      await reached(opId, 'engine-update', async () => (await inspect(`idcflow-${uuid}`)) === null);
      await killAndRestart();

      const op = await finished(api, admin, opId, 90);
      expect(op).toMatchObject({ status: 'succeeded', result: { uuid, state: 'stopped' } });
      const after = await containersOf(uuid);
      expect(after).toHaveLength(1);
      expect(after[0].Id).not.toBe(containerId);
      expect(after[0].State).not.toBe('running');
      expect((await inspect(`idcflow-${uuid}`))!.HostConfig.Memory).toBe(176 * 1048576);
      expect(await row(uuid)).toMatchObject({ id, ram_mb: 176, state: 'stopped' });
    }, 120_000);

    it('canceled while the container is set aside: the undo puts the same container back, running, and the row as it was', async () => {
      await useWorker('engineUpdate.aside:30000');
      const { uuid, id, containerId } = await runningInstance();
      const opId = await started(await api.call('PUT', `/api/v1/instances/${id}`, { token: admin, body: { ram_mb: 192, name: 'after' } }));
      await reached(opId, 'engine-update', async () => (await inspect(`idcflow-${uuid}`)) === null);
      expect((await api.call('POST', `/api/v1/operations/${opId}/cancel`, { token: admin })).status).toBe(202);

      const op = await finished(api, admin, opId, 60);
      expect(op).toMatchObject({ status: 'canceled', error: { code: 'CANCELED' } });
      const after = await containersOf(uuid);
      expect(after.map((c) => [c.Id, c.Names[0], c.State])).toEqual([[containerId, `/idcflow-${uuid}`, 'running']]);
      expect((await inspect(`idcflow-${uuid}`))!.HostConfig.Memory).toBe(128 * 1048576);
      expect(await row(uuid)).toMatchObject({ id, name: 'before', ram_mb: 128, state: 'running', engine_ref: `idcflow-${uuid}` });
      expect(await steps(opId)).toEqual(expect.arrayContaining(['undo:engine-update', 'undo:reserve']));
    }, 120_000);
  });

  it('delete: killed after the engine removed the container and before that was recorded: IP and quota released once, row deleted once', async () => {
    await useWorker('engineDelete.after:30000');
    const user = await api.createUser('user');
    expect((await api.call('PUT', `/api/v1/users/${user.id}/quota`, { token: admin, body: { cpu: 4, ram_mb: 1024, disk_gb: 100, instances: 1 } })).status).toBe(200);
    const { host, uuid, id } = await runningInstance(user.token, { ip_pools: [{ cidr: '10.77.0.0/29', gateway: '10.77.0.1' }] });
    const ip = (await row(uuid)).nics[0].ip4;
    expect(ip).toBe('10.77.0.2');
    expect(await api.deps.knex('ip_allocations').where({ instance_id: id }).pluck('address')).toEqual([ip]);

    const opId = await started(await api.call('DELETE', `/api/v1/instances/${id}`, { token: user.token }));
    await reached(opId, 'engine-delete', async () => (await containersOf(uuid)).length === 0);
    await killAndRestart();

    const op = await finished(api, user.token, opId, 90);
    expect(op).toMatchObject({ status: 'succeeded', result: { uuid, deleted: true, existed_on_engine: true, released_ips: [ip] } });
    expect(await containersOf(uuid)).toEqual([]);
    const rows = await api.deps.knex('instances').where({ uuid });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id, state: 'deleted', deleted_at: expect.any(Date) });
    expect(await api.deps.knex('ip_allocations').where({ instance_id: id })).toEqual([]);
    const log = await steps(opId);
    expect(log.filter((s) => s === 'release')).toHaveLength(1);
    expect(log.filter((s) => s.startsWith('undo:'))).toEqual([]);
    // Quota and address are free again: the user's one allowed instance can be made again, with the same address.
    const quota = (await api.call('GET', `/api/v1/users/${user.id}/quota`, { token: user.token })).body.data;
    expect(quota.used).toMatchObject({ instances: 0, cpu: 0, ram_mb: 0 });
    const { op: again } = await createInstance(api, user.token, { host_id: host.id, image, command: ['sleep', '3600'], ram_mb: 128 });
    expect(again).toMatchObject({ status: 'succeeded' });
    expect(again.result.nics[0].ip4).toBe(ip);
  }, 120_000);

  it('delete canceled once the engine has removed the container: rolls forward, the row deleted and its address released', async () => {
    await useWorker('engineDelete.after:30000');
    const { uuid, id } = await runningInstance(admin, { ip_pools: [{ cidr: '10.78.0.0/29', gateway: '10.78.0.1' }] });
    expect(await api.deps.knex('ip_allocations').where({ instance_id: id })).toHaveLength(1);
    const opId = await started(await api.call('DELETE', `/api/v1/instances/${id}`, { token: admin }));
    await reached(opId, 'engine-delete', async () => (await containersOf(uuid)).length === 0);
    expect((await api.call('POST', `/api/v1/operations/${opId}/cancel`, { token: admin })).status).toBe(202);

    const op = await finished(api, admin, opId, 60);
    expect(op).toMatchObject({ status: 'canceled', error: { code: 'CANCELED' } });
    expect(await containersOf(uuid)).toEqual([]);
    const rows = await api.deps.knex('instances').where({ uuid });
    expect(rows.map((r) => [r.id, r.state, r.deleted_at instanceof Date])).toEqual([[id, 'deleted', true]]);
    expect(await api.deps.knex('ip_allocations').where({ instance_id: id })).toEqual([]);
    expect(await steps(opId)).toContain('undo:mark');
  }, 60_000);

  it('power: killed in the middle of a stop, then of a start: each ends in the state asked for, on the same container', async () => {
    await useWorker('');
    // A main process that ignores SIGTERM: `docker stop` waits out its 10 s grace, and the worker dies while the engine is stopping it.
    const { uuid, id, containerId } = await runningInstance(admin, {}, ['sh', '-c', "trap '' TERM; while true; do sleep 1; done"]);
    const name = `idcflow-${uuid}`;
    const stopId = await started(await api.call('POST', `/api/v1/instances/${id}/power`, { token: admin, body: { action: 'stop' } }));
    // The engine has sent SIGTERM and waits out the grace period: the container is "stopping" until SIGKILL.
    await reached(stopId, 'power', async () => (await inspect(name))?.State.Status === 'stopping');
    await killAndRestart();
    const stop = await finished(api, admin, stopId, 90);
    expect(stop).toMatchObject({ status: 'succeeded', result: { state: 'stopped', action: 'stop' } });
    expect((await containersOf(uuid)).map((c) => [c.Id, c.State])).toEqual([[containerId, 'exited']]);
    expect(await row(uuid)).toMatchObject({ state: 'stopped' });

    await useWorker('enginePower.after:30000');
    const startId = await started(await api.call('POST', `/api/v1/instances/${id}/power`, { token: admin, body: { action: 'start' } }));
    await reached(startId, 'power', async () => Boolean((await inspect(name))?.State.Running));
    await killAndRestart();
    const start = await finished(api, admin, startId, 90);
    expect(start).toMatchObject({ status: 'succeeded', result: { state: 'running', action: 'start' } });
    expect((await containersOf(uuid)).map((c) => [c.Id, c.State])).toEqual([[containerId, 'running']]);
    expect(await row(uuid)).toMatchObject({ state: 'running' });
  }, 120_000);

  it('password: killed after the engine set it and before that was recorded: set once, kept sealed, in no workflow history', async () => {
    await useWorker('engineSetPassword.after:30000');
    const { uuid, id } = await runningInstance();
    const name = `idcflow-${uuid}`;
    const shadow = async () => {
      const exec = await docker.getContainer(name).exec({ Cmd: ['sed', '-n', 's/^root:\\([^:]*\\):.*/\\1/p', '/etc/shadow'], AttachStdout: true });
      return new Promise<string>((resolve) => exec.start({}, (_e, s) => { let t = ''; s!.on('data', (b: Buffer) => { t += b.toString(); }); s!.on('end', () => resolve(t)); }));
    };
    const password = `Pw-${uniq('secret')}`;
    const opId = await started(await api.call('POST', `/api/v1/instances/${id}/password`, { token: admin, body: { password } }));
    await reached(opId, 'password', async () => (await shadow()).includes('$6$'));
    await killAndRestart();

    const op = await finished(api, admin, opId, 90);
    expect(op).toMatchObject({ status: 'succeeded', result: { uuid, password_changed: true } });
    // The hash in the container is the password's: busybox mkpasswd with the same salt gives the same hash.
    const hash = (await shadow()).match(/\$6\$[^$]+\$[./0-9A-Za-z]+/)![0];
    const check = await docker.getContainer(name).exec({ Cmd: ['mkpasswd', '-m', 'sha512', '-S', hash.split('$')[2], password], AttachStdout: true });
    const rehash = await new Promise<string>((resolve) => check.start({}, (_e, s) => { let t = ''; s!.on('data', (b: Buffer) => { t += b.toString(); }); s!.on('end', () => resolve(t)); }));
    expect(rehash).toContain(hash);
    const r = await row(uuid);
    expect(unseal(r.password_sealed, api.config.masterKey)).toBe(password);
    const log = await steps(opId);
    expect([log.filter((s) => s === 'password').length, log.filter((s) => s === 'record').length]).toEqual([1, 1]);
    // The retried call carried the sealed form only.
    const history = JSON.stringify(await api.deps.temporal.workflow.getHandle(opId).fetchHistory(),
      (k, v) => (k === 'data' && typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : v));
    expect(history).toContain('passwordSealed');
    expect(history).not.toContain(password);
  }, 120_000);

  it('scan: killed half-way through importing: every container found is imported exactly once', async () => {
    await useWorker('importScan.partial:30000');
    const host = await dockerHost();
    // Labelled with this host, so that scans of other test hosts on the same Podman leave them alone; made outside idcflow.
    const names = [uniq('outside'), uniq('outside'), uniq('outside')];
    for (const n of names) await docker.createContainer({ name: n, Image: image, Cmd: ['sleep', '600'], Labels: { 'io.idcflow.host': host.name } });
    const opId = await started(await api.call('POST', `/api/v1/hosts/${host.id}/scan`, { token: admin }));
    // Held inside the import's transaction, after its first insert, under the host's scan lock: the session holding the
    // lock sits idle in its transaction, its last statement that insert.
    const heldAfterInsert = async () => (await api.deps.knex.raw(
      `SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.classid = 7305 AND l.objid = ? AND l.granted
          AND a.state = 'idle in transaction' AND a.query ILIKE 'insert into "instances"%'`, [host.id])).rows.length > 0;
    await reached(opId, 'import', heldAfterInsert);
    await killAndRestart();

    const op = await finished(api, admin, opId, 90);
    expect(op.status).toBe('succeeded');
    expect(op.result.imported).toEqual(expect.arrayContaining(names));
    const imported = async () => api.deps.knex('instances').where({ host_id: host.id }).whereIn('uuid', names).whereNull('deleted_at').orderBy('uuid');
    const rows = await imported();
    expect(rows.map((r) => [r.uuid, r.engine_ref, r.origin, r.state])).toEqual([...names].sort().map((n) => [n, n, 'scanned', 'stopped']));
    expect(await api.deps.knex('instances').whereIn('uuid', names.flatMap((n) => [n, `${n}@${host.id}`]))).toHaveLength(3);
    // A second scan finds them known.
    const again = await finished(api, admin, await api.call('POST', `/api/v1/hosts/${host.id}/scan`, { token: admin }));
    expect(again.status).toBe('succeeded');
    expect(again.result.imported.filter((u: string) => names.some((n) => u.startsWith(n)))).toEqual([]);
    expect((await imported()).map((r) => r.id)).toEqual(rows.map((r) => r.id));
  }, 120_000);
});
