import crypto from 'node:crypto';
import { startTestApi, eventually, type TestApi } from '../support/api';
import { spawnWorker, type Spawned } from '../support/processes';
import { seedLogEntries, startCleanup } from '../support/logs';
import { waitOperation } from '../support/dbsync';

/**
 * The worker is killed (SIGKILL) half-way through a cleanup: after its first batch was deleted and committed, held
 * before the next. Another worker takes the purge over at the heartbeat timeout, deletes the rest, and the count it
 * reports includes the batch the dead worker deleted (carried in the heartbeat).
 */
describe('log cleanup survives a worker crash', () => {
  const queue = `logs-crash-${crypto.randomBytes(4).toString('hex')}`;
  const mod = `crash${crypto.randomBytes(4).toString('hex')}`;
  let api: TestApi;
  let worker: Spawned | undefined;
  let replacement: Spawned | undefined;

  beforeAll(async () => {
    api = await startTestApi({ IDCFLOW_TASK_QUEUE: queue });
    worker = await spawnWorker(queue, { IDCFLOW_FAULT_DELAY: 'purgeLogEntries.batch:120000' });
  });
  afterAll(async () => {
    await worker?.stop();
    await replacement?.stop();
    await api.close();
  });

  it('kills the worker after the first batch; a new worker finishes, every old entry deleted once and the new ones kept', async () => {
    const knex = api.deps.knex;
    const OLD = 5000;
    await seedLogEntries(knex, { count: OLD, module: mod, newest: new Date(Date.now() - 2000 * 86_400_000), stepMs: 1000 });
    await seedLogEntries(knex, { count: 50, module: mod });
    const count = async (olderThan?: Date) => {
      const q = knex('log_entries').where({ module: mod });
      if (olderThan) q.where('at', '<', olderThan);
      return Number((await q.count('* as n').first())!.n);
    };
    const admin = await api.admin();
    // What is older than the cutoff (now less 1500 days, give or take the seconds until the API computes it): only ours.
    const dueBefore = Number((await knex('log_entries').where('at', '<', new Date(Date.now() - 1500 * 86_400_000)).count('* as n').first())!.n);
    expect(dueBefore).toBeGreaterThanOrEqual(OLD);
    const started = await startCleanup(api, admin, { days: 1500, batch_size: 1000 });
    expect(started.status).toBe(202);
    const id = started.body.data.operation.id;
    const op = await knex('operations').where({ id }).first();
    const cutoff = new Date(op.params.before);

    // The first batch is committed and the activity is held before the next one: kill the worker there.
    await eventually(async () => (await count(cutoff)) === OLD - 1000, 60_000, 'the first batch');
    await worker!.stop('SIGKILL');
    expect((await knex('operations').where({ id }).first()).status).toBe('running');
    expect(await count(cutoff)).toBe(OLD - 1000);

    replacement = await spawnWorker(queue);
    const done = await waitOperation(api, id, admin);
    expect(done).toMatchObject({ status: 'succeeded', result: { days: 1500, before: cutoff.toISOString() } });
    expect(await count(cutoff)).toBe(0);
    expect(await count()).toBe(50);
    // Everything older than the cutoff when it started was deleted, counted once: the dead worker's batch included.
    expect(done.result.deleted).toBe(dueBefore);
    expect(done.result.batches).toBeGreaterThanOrEqual(Math.ceil(OLD / 1000));
  });
});
