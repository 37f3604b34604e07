import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { apiClient, eventually, startTestApi, type TestApi } from '../support/api';
import { addHost, finished, uniq } from '../support/compute';
import { spawnWorker, type Spawned } from '../support/processes';
import { createKnex } from '../../db/knex';
import { migrateLatest } from '../../db/migrate';
import { noopWorkflow } from '../../workflows/platform/noop';
import { freePort } from '../../workers/embedded-services';
import { openPreviousRelease, previousReleaseUnavailable, type PreviousRelease } from './previous-release';
import { previousRelease } from './source-tree';

/**
 * A deploy replaces the previous release's workers and API while operations run and migrations apply. Here the
 * previous release (test/replay/releases.json) runs from its own source, extracted from git, against the suite's
 * PostgreSQL and Temporal: its worker is stopped in the middle of an operation that this release's worker finishes, and
 * its API keeps answering while this release's migrations run. (test/replay/replay.test.ts replays older histories.)
 */
const unavailable = previousReleaseUnavailable();
const version = `v${previousRelease().version}`;

if (unavailable) {
  // On a developer's machine a clone without history skips, saying why; CI must run it.
  if (process.env.CI === 'true') it(`rolling upgrade from ${version}`, () => { throw new Error(`cannot run under CI: ${unavailable}`); });
  else it.skip(`rolling upgrade from ${version} skipped: ${unavailable}`, () => undefined);
}
const describeUpgrade = unavailable ? describe.skip : describe;

let previous: PreviousRelease;
beforeAll(() => { if (!unavailable) previous = openPreviousRelease(); });
afterAll(() => previous?.remove());

/** The identities (pid@host) of the workers that completed workflow tasks and activities, in history order. */
async function workersIn(api: TestApi, workflowId: string) {
  const history = await api.deps.temporal.workflow.getHandle(workflowId).fetchHistory();
  const tasks: string[] = [];
  const activities: Array<{ type: string; identity: string; attempt: number }> = [];
  const scheduled = new Map<string, string>();
  for (const e of history.events ?? []) {
    if (e.workflowTaskCompletedEventAttributes) tasks.push(e.workflowTaskCompletedEventAttributes.identity ?? '');
    if (e.activityTaskScheduledEventAttributes) scheduled.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '');
    const started = e.activityTaskStartedEventAttributes;
    if (started) activities.push({ type: scheduled.get(String(started.scheduledEventId)) ?? '', identity: started.identity ?? '', attempt: started.attempt ?? 0 });
  }
  return { tasks, activities };
}

describeUpgrade(`workers: from ${version} to this release, with an operation in flight`, () => {
  const queue = `upgrade-${crypto.randomBytes(4).toString('hex')}`;
  let api: TestApi;
  let oldWorker: Spawned | undefined;
  let newWorker: Spawned | undefined;
  beforeAll(async () => { api = await startTestApi({ IDCFLOW_TASK_QUEUE: queue }); });
  afterAll(async () => {
    await oldWorker?.stop();
    await newWorker?.stop();
    await api.close();
  });

  it(`a create started on a ${version} worker, stopped in its engine call, is finished by this release's worker, once`, async () => {
    // The previous release's worker holds the engine's create (before doing it) so the deploy happens right there.
    oldWorker = await previous.spawn('workers/worker.ts', { ...process.env, LOG_LEVEL: 'info', IDCFLOW_TASK_QUEUE: queue, IDCFLOW_FAULT_DELAY: 'engineCreateRunning:120000' }, 'worker polling');
    const oldIdentity = `${oldWorker.proc.pid}@`;
    // This release's client reaches the old worker at all (the same workflow names and task queue).
    const noopId = `upgrade-noop-${queue}`;
    expect(await api.deps.temporal.workflow.execute(noopWorkflow, { taskQueue: queue, workflowId: noopId })).toBe('ok');
    expect((await workersIn(api, noopId)).tasks.every((id) => id.startsWith(oldIdentity))).toBe(true);

    const host = await addHost(api, { ip_pools: [{ cidr: '10.21.0.0/29', gateway: '10.21.0.1' }] });
    const token = await api.admin();
    const uuid = uniq('upg');
    const started = await api.call('POST', '/api/v1/instances', { token, headers: { prefer: 'respond-async' }, body: { uuid, name: 'upgrade', host_id: host.id, cpu: 1, ram_mb: 256, disk_gb: 1 } });
    expect(started.status).toBe(202);
    const id: string = started.body.data.operation.id;
    await eventually(async () => (await api.call('GET', `/api/v1/operations/${id}`, { token })).body.data.progress.step === 'create', 60_000, 'the create step on the old worker');
    const before = await workersIn(api, id);
    expect(before.tasks.length).toBeGreaterThan(0);
    expect(before.tasks.every((w) => w.startsWith(oldIdentity))).toBe(true);

    // The rolling deploy: this release's worker joins the queue, then the old one is stopped (SIGTERM, as a deploy does).
    newWorker = await spawnWorker(queue);
    const newIdentity = `${newWorker.proc.pid}@`;
    await oldWorker.stop();
    expect((await api.call('GET', `/api/v1/operations/${id}`, { token })).body.data.status).toBe('running');

    const end = await finished(api, token, id, 120);
    expect(end).toMatchObject({ status: 'succeeded', result: { uuid, state: 'running', host: host.name } });
    const after = await workersIn(api, id);
    // The old worker's tasks first, then this release's, which replayed the old one's history to carry on.
    expect(after.tasks.slice(0, before.tasks.length)).toEqual(before.tasks);
    expect(after.tasks.slice(before.tasks.length).length).toBeGreaterThan(0);
    expect(after.tasks.slice(before.tasks.length).every((w) => w.startsWith(newIdentity))).toBe(true);
    expect(after.activities.filter((a) => a.type === 'engineCreateRunning')).toEqual([{ type: 'engineCreateRunning', identity: expect.stringMatching(new RegExp(`^${newIdentity}`)), attempt: 2 }]);
    // Once: one instance row, running, its events in the order of one create.
    expect((await api.deps.knex('instances').where({ uuid })).map((r) => r.state)).toEqual(['running']);
    const steps = (await api.call('GET', `/api/v1/operations/${id}/events`, { token })).body.data.events.map((e: { step: string }) => e.step);
    expect(steps.filter((s: string) => ['validate', 'reserve', 'create', 'record'].includes(s))).toEqual(['validate', 'reserve', 'create', 'record']);
  });
});

describeUpgrade(`the ${version} API while this release's migrations run`, () => {
  let knex: Knex;
  let dbUrl: string;
  let oldApi: Spawned | undefined;
  const dbName = `upgrade_${crypto.randomBytes(4).toString('hex')}`;
  beforeAll(async () => {
    const main = createKnex(process.env.DATABASE_URL!, 1);
    try { await main.raw(`CREATE DATABASE ${dbName}`); } finally { await main.destroy(); }
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = `/${dbName}`;
    dbUrl = url.toString();
    knex = createKnex(dbUrl, 2);
  });
  afterAll(async () => {
    await oldApi?.stop();
    await knex?.destroy();
  });

  it(`every list the ${version} API answered before, it answers during and after this release's migrations`, async () => {
    // The database as the previous release left it: its own migrations and admin (no Temporal: nothing scheduled).
    const { TEMPORAL_ADDRESS: temporal, ...env }: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: dbUrl, LOG_LEVEL: 'info' };
    await previous.run('workers/migrate.ts', env);
    const port = await freePort();
    oldApi = await previous.spawn('workers/api.ts', { ...env, TEMPORAL_ADDRESS: temporal, HOST: '127.0.0.1', PORT: String(port) }, 'idcflow API listening');
    const old = apiClient(`http://127.0.0.1:${port}`);
    const token = await old.admin();
    const user = await old.createUser('user');
    expect((await old.call('POST', '/api/v1/hosts', { token, body: { name: uniq('sim'), address: 'local', engine_type: 'simulator' } })).status).toBe(201);

    // Its reads: every GET without a path parameter in its own OpenAPI document that answers 2xx now.
    const doc = (await old.call('GET', '/api/v1/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const candidates = Object.entries(doc.paths).filter(([p, ops]) => ops.get && !p.includes('{') && !/\/(wait|tail|stream|ws|export)\b/.test(p)).map(([p]) => p);
    const get = async (p: string) => {
      const res = await fetch(old.url + p, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) }).catch((err: Error) => ({ status: 0, statusText: err.message }));
      return res.status;
    };
    const reads: string[] = [];
    const baseline: Record<string, number> = {};
    for (const p of candidates) {
      baseline[p] = await get(p);
      if (baseline[p] >= 200 && baseline[p] < 300) reads.push(p);
    }
    expect(reads.length).toBeGreaterThan(20);
    const common = ['/api/v1/users', '/api/v1/hosts', '/api/v1/instances', '/api/v1/operations', '/api/v1/status/health'];
    expect(common.filter((p) => !reads.includes(p)).map((p) => `${p}: ${baseline[p] ?? 'not in the document'}`)).toEqual([]);

    // Round after round of those reads (and a sign-in) while the migrations run, and one full round after.
    const failures: string[] = [];
    let migrating = true;
    let roundsDuring = 0;
    const round = async () => {
      for (const p of reads) {
        const status = await get(p);
        if (status < 200 || status >= 300) failures.push(`${migrating ? 'during' : 'after'}: GET ${p} answered ${status}`);
      }
      const login = await old.call('POST', '/api/v1/auth/login', { body: { username: user.username, password: user.password } });
      if (login.status !== 200) failures.push(`${migrating ? 'during' : 'after'}: sign-in answered ${login.status} ${login.text.slice(0, 200)}`);
    };
    const reading = (async () => { while (migrating) { await round(); roundsDuring++; } })();
    const applied = await migrateLatest(knex);
    migrating = false;
    await reading;
    await round();
    // The previous release still writes to the new schema: a user made and signed in.
    const later = await old.createUser('user');
    expect((await old.login(later.username, later.password)).access_token).toEqual(expect.any(String));
    expect(failures).toEqual([]);
    expect(roundsDuring).toBeGreaterThanOrEqual(1);
    process.stdout.write(`${version} API: ${reads.length} reads, ${roundsDuring} rounds while ${applied.length} migrations ran (${applied.join(', ') || 'none newer than it'})\n`);
  });
});
