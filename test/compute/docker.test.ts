import { spawn } from 'node:child_process';
import Docker from 'dockerode';
import { freePort } from '../../workers/embedded-services';
import { startTestApi, type TestApi } from '../support/api';
import { addHost as addAnyHost, createInstance, finished, uniq } from '../support/compute';
import { podmanForTests, podmanMissing } from '../support/podman';
import { spawnWorker, type Spawned } from '../support/processes';
import { describeIfRunnable } from '../support/environment';

/** The docker driver against a real Docker Engine API: Podman's, set up by the global setup (README, Tests). */
const podman = podmanForTests();

const LABEL = 'io.idcflow.uuid';

/** Hosts this file adds: whatever a failed test leaves on them is removed in afterAll, so no run leaves containers behind. */
const hostNames = new Set<string>();
const addHost = async (api: TestApi, body: Record<string, unknown>) => {
  const host = await addAnyHost(api, body);
  hostNames.add(host.name);
  return host;
};

describeIfRunnable(podmanMissing(), 'docker engine (Podman Docker API)', () => {
  let api: TestApi;
  let docker: Docker;
  let socketPath: string;
  let image: string;
  beforeAll(async () => {
    ({ socketPath, image } = podman as { socketPath: string; image: string });
    api = await startTestApi();
    docker = new Docker({ socketPath });
  });
  afterAll(async () => {
    const left = await docker.listContainers({ all: true, filters: { label: ['io.idcflow.managed=true'] } });
    for (const c of left.filter((c) => hostNames.has(c.Labels['io.idcflow.host']))) await docker.getContainer(c.Id).remove({ force: true });
    await api.close();
  });

  const containersOf = async (uuid: string) => docker.listContainers({ all: true, filters: { label: [`${LABEL}=${uuid}`] } });

  it('create → running → stop → start → password → delete leaves no container behind', async () => {
    const host = await addHost(api, { engine_type: 'docker', address: `unix://${socketPath}` });
    const u = await api.createUser('user');
    const uuid = uniq('ct');
    const { op } = await createInstance(api, u.token, { uuid, name: 'web', host_id: host.id, image, command: ['httpd', '-f', '-p', '8080', '-h', '/www'], cpu: 1, ram_mb: 128 });
    expect(op).toMatchObject({ status: 'succeeded', result: { uuid, state: 'running', engine_ref: `idcflow-${uuid}` } });
    let found = await containersOf(uuid);
    expect(found).toHaveLength(1);
    expect(found[0].State).toBe('running');
    const inspect = await docker.getContainer(`idcflow-${uuid}`).inspect();
    expect(inspect.HostConfig.Memory).toBe(128 * 1048576);
    expect(op.result.nics[0].ip4).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const id = (await api.deps.knex('instances').where({ uuid }).first()).id;

    const status = await api.call('GET', `/api/v1/instances/${id}/status`, { token: u.token });
    expect(status.body.data).toMatchObject({ state: 'running', engine: { state: 'running', managed: true } });
    expect(status.body.data.stats).toHaveProperty('mem_used_mb');
    const hostStatus = await api.call('GET', `/api/v1/hosts/${host.id}/status`, { token: await api.admin() });
    expect(hostStatus.body.data.status).toMatchObject({ source: 'docker-engine-api', cpu_count: expect.any(Number), engine_version: expect.any(String) });

    const stop = await finished(api, u.token, await api.call('POST', `/api/v1/instances/${id}/power`, { token: u.token, body: { action: 'stop' } }));
    expect(stop.result.state).toBe('stopped');
    expect((await containersOf(uuid))[0].State).toMatch(/exited|stopped/);
    const start = await finished(api, u.token, await api.call('POST', `/api/v1/instances/${id}/power`, { token: u.token, body: { action: 'start' } }));
    expect(start.result.state).toBe('running');
    expect((await containersOf(uuid))[0].State).toBe('running');

    const pw = await finished(api, u.token, await api.call('POST', `/api/v1/instances/${id}/password`, { token: u.token, body: { password: 'container-pw-1' } }));
    expect(pw).toMatchObject({ status: 'succeeded', error: null });
    const shadow = await docker.getContainer(`idcflow-${uuid}`).exec({ Cmd: ['cat', '/etc/shadow'], AttachStdout: true });
    const out = await new Promise<string>((resolve) => shadow.start({}, (_e, s) => { let t = ''; s!.on('data', (b: Buffer) => { t += b.toString(); }); s!.on('end', () => resolve(t)); }));
    expect(out).toMatch(/root:\$6\$/);
    expect(out).not.toContain('container-pw-1');
    const consoleRes = await api.call('GET', `/api/v1/instances/${id}/console`, { token: u.token });
    expect(consoleRes.status).toBe(400);
    expect(consoleRes.body.error.message).toMatch(/runs no console gateway/); // consoles: test/compute-console.test.ts

    const del = await finished(api, u.token, await api.call('DELETE', `/api/v1/instances/${id}`, { token: u.token }));
    expect(del).toMatchObject({ status: 'succeeded', result: { existed_on_engine: true } });
    found = await containersOf(uuid);
    expect(found).toEqual([]);
  });

  it('tenants\' containers are on networks of their own, without NET_RAW, forwarded only to the address the engine reports', async () => {
    const host = await addHost(api, { engine_type: 'docker', address: `unix://${socketPath}`, nat_port_start: 22000, nat_port_end: 22099, public_addresses: ['10.33.0.1'] });
    const [a, b] = [await api.createUser('user'), await api.createUser('user')];
    const make = async (u: { token: string }) => {
      const { op } = await createInstance(api, u.token, { host_id: host.id, image, command: ['httpd', '-f', '-p', '8080', '-h', '/www'], ram_mb: 64 });
      expect(op.status).toBe('succeeded');
      const row = await api.deps.knex('instances').where({ uuid: op.resource.id }).first();
      return { row, info: await docker.getContainer(row.engine_ref).inspect() };
    };
    const [ca, ca2, cb] = [await make(a), await make(a), await make(b)];
    const netsOf = (info: Docker.ContainerInspectInfo) => Object.keys(info.NetworkSettings.Networks);
    expect(netsOf(ca.info)).toEqual([`idcflow-u${a.id}`]);
    expect(netsOf(ca2.info)).toEqual([`idcflow-u${a.id}`]); // the same network, found again
    expect(netsOf(cb.info)).toEqual([`idcflow-u${b.id}`]);
    const subnet = async (name: string) => (await docker.getNetwork(name).inspect()).IPAM?.Config?.[0]?.Subnet;
    expect(await subnet(`idcflow-u${a.id}`)).not.toEqual(await subnet(`idcflow-u${b.id}`));
    // The address recorded for forwards is the one the engine reports.
    const ipOf = (info: Docker.ContainerInspectInfo) => Object.values(info.NetworkSettings.Networks)[0].IPAddress;
    expect(ca.row.engine_addresses).toEqual([ipOf(ca.info)]);
    expect(cb.row.engine_addresses).toEqual([ipOf(cb.info)]);
    // No raw sockets: CAP_NET_RAW (bit 13) is dropped from the container's effective capabilities.
    expect(((ca.info.HostConfig as { CapDrop?: string[] }).CapDrop ?? []).map((c) => c.replace(/^CAP_/, ''))).toContain('NET_RAW');
    const run = async (ref: string, cmd: string[]) => {
      const exec = await docker.getContainer(ref).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
      const out = await new Promise<string>((resolve) => exec.start({}, (_e, st) => { let t = ''; st!.on('data', (c: Buffer) => { t += c.toString(); }); st!.on('end', () => resolve(t)); }));
      return { out, code: (await exec.inspect()).ExitCode };
    };
    const capEff = (await run(cb.row.engine_ref, ['grep', 'CapEff', '/proc/self/status'])).out.match(/CapEff:\s*([0-9a-f]+)/)![1];
    expect(BigInt(`0x${capEff}`) & (1n << 13n)).toBe(0n);
    // Tenant B's container cannot reach tenant A's (isolated networks); A's own containers reach each other.
    const fetchFrom = async (ref: string, ip: string) => run(ref, ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 ${ip} 8080`]);
    expect((await fetchFrom(ca2.row.engine_ref, ipOf(ca.info))).out).toContain('idcflow test container');
    expect(await fetchFrom(cb.row.engine_ref, ipOf(ca.info))).toMatchObject({ out: expect.stringMatching(/timed out|refused|unreachable/), code: 1 });
    // B's forward can target only B's own container: A's address is refused, A's instance is not found.
    const fwd = await api.call('POST', `/api/v1/instances/${cb.row.uuid}/port-forwards`, { token: b.token, body: { protocol: 'tcp', internal_port: 8080, internal_address: ipOf(ca.info) } });
    expect(fwd.status).toBe(422);
    expect((await api.call('POST', `/api/v1/instances/${ca.row.uuid}/port-forwards`, { token: b.token, body: { protocol: 'tcp', internal_port: 8080 } })).status).toBe(404);
    for (const c of [ca, ca2, cb]) {
      expect((await finished(api, await api.admin(), await api.call('DELETE', `/api/v1/instances/${c.row.id}`, { token: await api.admin() }))).status).toBe('succeeded');
    }
    for (const u of [a, b]) await docker.getNetwork(`idcflow-u${u.id}`).remove().catch(() => undefined);
  });

  it('a create whose start fails leaves nothing behind (saga)', async () => {
    const host = await addHost(api, { engine_type: 'docker', address: `unix://${socketPath}` });
    const uuid = uniq('ct');
    const { op } = await createInstance(api, await api.admin(), { uuid, host_id: host.id, image, command: ['/no/such/program'] });
    expect(op).toMatchObject({ status: 'failed', error: { code: 'ENGINE_ERROR' } });
    const steps = (await api.call('GET', `/api/v1/operations/${op.id}/events`, { token: await api.admin() })).body.data.events.map((e: { step: string }) => e.step);
    expect(steps).toEqual(expect.arrayContaining(['create', 'undo:create', 'undo:reserve']));
    expect(await containersOf(uuid)).toEqual([]);
    expect(await api.deps.knex('instances').where({ uuid })).toEqual([]);
  });

  it('an unreachable engine answers reads with SERVICE_UNAVAILABLE quickly, and a create fails and leaves nothing', async () => {
    const host = await addHost(api, { engine_type: 'docker', address: 'unix:///nonexistent/docker.sock' });
    const t0 = Date.now();
    const res = await api.call('GET', `/api/v1/hosts/${host.id}/status`, { token: await api.admin() });
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/ENOENT|connect/) });
    expect(Date.now() - t0).toBeLessThan(10_000);
    const { op } = await createInstance(api, await api.admin(), { host_id: host.id, image });
    expect(op.status).toBe('failed');
    expect(await api.deps.knex('instances').where({ host_id: host.id })).toEqual([]);
  });

  it('drives an engine over tcp:// too (Podman\'s API on a loopback port)', async () => {
    const port = await freePort();
    const svc = spawn('podman', ['system', 'service', '--time=0', `tcp://127.0.0.1:${port}`], { env: { ...process.env, CONTAINERS_CONF: process.env.IDCFLOW_TEST_CONTAINERS_CONF }, stdio: 'ignore' });
    try {
      const tcp = new Docker({ host: '127.0.0.1', port, protocol: 'http' });
      for (let i = 0; i < 50; i++) { if (await tcp.ping().then(() => true, () => false)) break; await new Promise((r) => setTimeout(r, 100)); }
      const host = await addHost(api, { engine_type: 'docker', address: `tcp://127.0.0.1:${port}` });
      const uuid = uniq('tcp');
      const { op } = await createInstance(api, await api.admin(), { uuid, host_id: host.id, image, command: ['sleep', '600'] });
      expect(op).toMatchObject({ status: 'succeeded', result: { state: 'running' } });
      expect((await containersOf(uuid))[0].State).toBe('running');
      const id = (await api.deps.knex('instances').where({ uuid }).first()).id;
      expect((await finished(api, await api.admin(), await api.call('DELETE', `/api/v1/instances/${id}`, { token: await api.admin() }))).status).toBe('succeeded');
      expect(await containersOf(uuid)).toEqual([]);
    } finally {
      svc.kill('SIGTERM');
    }
  });

  it('an image that is not on the host is pulled; one no registry has fails cleanly and leaves nothing', async () => {
    const host = await addHost(api, { engine_type: 'docker', address: `unix://${socketPath}`, allowed_registries: ['127.0.0.1:1'] });
    const uuid = uniq('nopull');
    // A registry on a closed loopback port: the pull is tried, and refused at once.
    const { op } = await createInstance(api, await api.admin(), { uuid, host_id: host.id, image: '127.0.0.1:1/idcflow/not-there:1' });
    expect(op).toMatchObject({ status: 'failed', error: { code: 'VALIDATION_ERROR', message: expect.stringMatching(/not on the host and could not be pulled/) } });
    expect(await containersOf(uuid)).toEqual([]);
    expect(await api.deps.knex('instances').where({ uuid })).toEqual([]);
  });

  it('scan imports a container made outside idcflow and marks one removed behind its back missing', async () => {
    const admin = await api.admin();
    const host = await addHost(api, { engine_type: 'docker', address: `unix://${socketPath}` });
    const kept = uniq('kept');
    const vanished = uniq('gone');
    for (const uuid of [kept, vanished]) {
      const { op } = await createInstance(api, admin, { uuid, host_id: host.id, image, command: ['sleep', '600'] });
      expect(op).toMatchObject({ status: 'succeeded', result: { state: 'running' } });
    }
    // Removed on the engine, not through idcflow.
    await docker.getContainer(`idcflow-${vanished}`).remove({ force: true });
    const name = uniq('outside');
    // Unmanaged, but labelled with this host: scans of other test hosts sharing this Podman leave it alone.
    const c = await docker.createContainer({ name, Image: image, Cmd: ['sleep', '600'], Labels: { 'io.idcflow.host': host.name } });
    try {
      const scan = await finished(api, admin, await api.call('POST', `/api/v1/hosts/${host.id}/scan`, { token: admin }));
      expect(scan).toMatchObject({ status: 'succeeded', result: { found: 2, imported: [name], updated: [], missing: [vanished] } });
      const rows = await api.deps.knex('instances').where({ host_id: host.id }).whereNull('deleted_at').orderBy('id').select('uuid', 'state', 'origin', 'owner_id');
      expect(rows).toEqual([
        expect.objectContaining({ uuid: kept, state: 'running' }),
        expect.objectContaining({ uuid: vanished, state: 'missing' }),
        { uuid: name, state: 'stopped', origin: 'scanned', owner_id: null },
      ]);
      const listed = await api.call('GET', `/api/v1/hosts/${host.id}/instances`, { token: admin });
      expect(listed.body.data.instances.find((i: { uuid: string }) => i.uuid === vanished)).toMatchObject({ state: 'missing' });
      // A second scan finds nothing new: the imported one is known, the missing one stays missing (not reported twice).
      const again = await finished(api, admin, await api.call('POST', `/api/v1/hosts/${host.id}/scan`, { token: admin }));
      expect(again).toMatchObject({ status: 'succeeded', result: { found: 2, imported: [], updated: [], missing: [] } });
    } finally {
      await c.remove({ force: true });
    }
  });

  describe('crash', () => {
    let crashApi: TestApi;
    let worker: Spawned | undefined;
    const queue = `crash-${Date.now()}`;
    beforeAll(async () => {
      crashApi = await startTestApi({ IDCFLOW_TASK_QUEUE: queue });
    });
    afterAll(async () => {
      await worker?.stop();
      await crashApi.close();
    });

    it('kill the worker after the engine created the container and before it started: the operation finishes with exactly one container', async () => {
      // The first attempt of the create-and-start call is held (heartbeating) between the two, so the worker can be killed right there.
      worker = await spawnWorker(queue, { IDCFLOW_FAULT_DELAY: 'engineCreateRunning.created:20000' });
      const host = await addHost(crashApi, { engine_type: 'docker', address: `unix://${socketPath}` });
      const admin = await crashApi.admin();
      const uuid = uniq('crash');
      const res = await crashApi.call('POST', '/api/v1/instances', { token: admin, body: { uuid, name: 'crash', host_id: host.id, image, command: ['sleep', '3600'] } });
      expect(res.status).toBe(202);
      for (let i = 0; i < 100; i++) {
        const op = (await crashApi.call('GET', `/api/v1/operations/${res.body.data.operation.id}`, { token: admin })).body.data;
        if (op.progress.step === 'create' && (await containersOf(uuid)).length === 1) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const before = await containersOf(uuid);
      expect(before).toHaveLength(1);
      expect(before[0].State).not.toBe('running');
      await worker.stop('SIGKILL');
      worker = await spawnWorker(queue);
      const op = await finished(crashApi, admin, res, 90);
      expect(op).toMatchObject({ status: 'succeeded', result: { uuid, state: 'running' } });
      const after = await containersOf(uuid);
      expect(after).toHaveLength(1);
      expect(after[0].Id).toBe(before[0].Id);
      expect(after[0].State).toBe('running');
      expect(await crashApi.deps.knex('instances').where({ uuid }).whereNull('deleted_at')).toHaveLength(1);
      await finished(crashApi, admin, await crashApi.call('DELETE', `/api/v1/instances/${(await crashApi.deps.knex('instances').where({ uuid }).first()).id}`, { token: admin }));
      expect(await containersOf(uuid)).toEqual([]);
    }, 180_000);
  });
});
