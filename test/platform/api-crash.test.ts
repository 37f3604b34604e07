import { WorkflowNotFoundError } from '@temporalio/client';
import { apiClient, eventually, startTestApi, type TestApi } from '../support/api';
import { addHost, uniq } from '../support/compute';
import { spawnApi, spawnWorker, type Spawned } from '../support/processes';

/**
 * The API process SIGKILLed under a load of operation starts. Its starts are held between the row's insert and the
 * workflow's start (IDCFLOW_FAULT_DELAY="operationStart.gap:…"), so the kill surely lands there for some of them.
 * Every 202 a client received has its row and its workflow; the rows whose workflow never started are found by another
 * API's sweep and started from their stored request, so every row ends, once, and none stays pending.
 */
const queue = uniq('api-crash');
const GAP_MS = 1500;
const CLIENTS = 8;
let worker: Spawned;
let victim: (Spawned & { url: string }) | undefined;
let survivor: TestApi;

beforeAll(async () => {
  [worker, victim] = await Promise.all([
    spawnWorker(queue),
    spawnApi({ IDCFLOW_TASK_QUEUE: queue, IDCFLOW_OPERATION_SWEEP_SECONDS: '0', IDCFLOW_FAULT_DELAY: `operationStart.gap:${GAP_MS}` }),
  ]);
  survivor = await startTestApi({ IDCFLOW_TASK_QUEUE: queue, IDCFLOW_OPERATION_SWEEP_SECONDS: '1' });
});
afterAll(async () => {
  await victim?.stop('SIGKILL');
  await survivor?.close();
  await worker?.stop();
});

it('every 202 has its row and workflow; the sweep starts the orphans; every row ends once', async () => {
  const host = await addHost(survivor, { name: uniq('crash') });
  const client = apiClient(victim!.url);
  const token = await client.admin();
  const accepted: string[] = [];
  let stop = false;
  const load = Array.from({ length: CLIENTS }, async () => {
    while (!stop) {
      try {
        const res = await client.call('POST', `/api/v1/hosts/${host.id}/instances`, { token, body: { name: 'load', uuid: uniq('vm') }, headers: { prefer: 'respond-async' } });
        if (res.status === 202) accepted.push(res.body.data.operation.id);
        else throw new Error(`unexpected ${res.status} ${res.text}`);
      } catch (err) {
        if (!stop) throw err;
      }
    }
  });
  // Once a round has been answered, the next round is inside the gap: kill the API there.
  await eventually(async () => accepted.length >= CLIENTS, 30_000, 'a first round of 202s');
  await new Promise((r) => setTimeout(r, GAP_MS / 2));
  stop = true;
  await victim!.stop('SIGKILL');
  victim = undefined;
  await Promise.all(load);

  const rows = await survivor.deps.knex('operations').where({ host: host.name }).select('id', 'status');
  const ids = new Set(rows.map((r) => r.id));
  for (const id of accepted) expect(ids.has(id)).toBe(true);
  const hasWorkflow = async (id: string) => survivor.deps.temporal.workflow.getHandle(id).describe().then(() => true, (err) => {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  });
  for (const id of accepted) expect(await hasWorkflow(id)).toBe(true);
  const orphans = [];
  for (const r of rows) if (!(await hasWorkflow(r.id))) orphans.push(r.id);
  expect(orphans.length).toBeGreaterThan(0);
  for (const id of orphans) expect(accepted).not.toContain(id);

  // The survivor's sweep (every second; a pending row is left alone while its own start may be in flight) starts them.
  const started = Date.now();
  await eventually(async () => {
    const left = await survivor.deps.knex('operations').whereIn('id', [...ids]).whereIn('status', ['pending', 'running']).count<{ count: number }[]>('* as count');
    return Number(left[0].count) === 0;
  }, 60_000, 'every row to end');
  const settledMs = Date.now() - started;
  const ended = await survivor.deps.knex('operations').whereIn('id', [...ids]).select('id', 'status', 'result');
  expect(ended.every((r) => r.status === 'succeeded')).toBe(true);
  for (const id of orphans) expect(await hasWorkflow(id)).toBe(true);
  // None twice: one instance per operation.
  const instances = await survivor.deps.knex('instances').where({ host_id: host.id }).whereNull('deleted_at').count<{ count: number }[]>('* as count');
  expect(Number(instances[0].count)).toBe(ids.size);
  console.log(`api-crash: ${accepted.length} accepted, ${orphans.length} orphaned rows started by the sweep, all ${ids.size} ended ${settledMs} ms after the kill`);
});
