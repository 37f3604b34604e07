import Docker from 'dockerode';
import { startTestApi, type TestApi } from './support/api';
import { addHost as addAnyHost, createInstance, finished, uniq } from './support/compute';
import { podmanForTests } from './support/podman';
import { spawnWorker, type Spawned } from './support/processes';

/**
 * The compute runbooks against a real Docker Engine API (Podman's), with the worker SIGKILLed at the most dangerous point of
 * each: after a restart every operation must end as asked, with nothing lost and nothing twice. Fault points hold the first
 * attempt only (workers/fault-injection.ts), so the restarted worker runs straight through.
 */
const podman = podmanForTests();
const describeDocker = 'skip' in podman ? describe.skip : describe;
if ('skip' in podman) test.skip(`docker crash tests skipped: ${podman.skip}`, () => undefined);

const LABEL = 'io.idcflow.uuid';
const HOLD = 'engineUpdate.aside:30000,engineUpdate.swap:30000,engineDelete.after:30000,engineSetPassword.after:30000,importScan.partial:30000';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeDocker('compute runbooks survive a killed worker (Podman Docker API)', () => {
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
  async function runningInstance(token = admin, hostBody: Record<string, unknown> = {}) {
    const host = await dockerHost(hostBody);
    const uuid = uniq('cc');
    const { op } = await createInstance(api, token, { uuid, name: 'before', host_id: host.id, image, command: ['sleep', '3600'], cpu: 1, ram_mb: 128 });
    expect(op).toMatchObject({ status: 'succeeded', result: { uuid, state: 'running' } });
    const [c] = await containersOf(uuid);
    return { host, uuid, id: (await row(uuid)).id as number, containerId: c.Id };
  }

  describe('update (the docker driver recreates the container under the same name)', () => {
    it('killed after the old container was set aside and before its replacement exists: ends with one container, new spec, running', async () => {
      await useWorker(HOLD);
      const { uuid, id, containerId } = await runningInstance();
      const res = await api.call('PUT', `/api/v1/instances/${id}`, { token: admin, body: { ram_mb: 192, name: 'after' } });
      expect(res.status).toBe(202);
      const opId: string = res.body.data.operation.id;
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
  });
});
