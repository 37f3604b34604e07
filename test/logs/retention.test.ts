import crypto from 'node:crypto';
import { startTestApi, eventually, type TestApi } from '../support/api';
import { seedLogEntries } from '../support/logs';
import { ensureLogRetentionSchedule, LOG_RETENTION_SCHEDULE } from '../../api/logs/retention';
import { logRetentionWorkflow } from '../../workflows/logs/cleanup';

/**
 * The daily retention Schedule (made by the worker at its start) and the runbook it starts: entries older than the
 * retention days go, as a `logs.cleanup` operation. Its run here takes 36,500 days, so only this file's entries, dated
 * a century and more ago, are old enough: no other file's entries are touched.
 */
describe('log retention', () => {
  let api: TestApi;
  beforeAll(async () => { api = await startTestApi(); });
  afterAll(async () => { await api.close(); });

  it('is a Schedule of the retention runbook, with the configured days, on the worker\'s queue', async () => {
    // Every worker brings the one Schedule up to date at its start; other files' workers run on other queues, so this
    // file's configuration is applied here, as this file's worker would, and the Schedule then read back from Temporal.
    expect(['created', 'updated', 'unchanged']).toContain(await ensureLogRetentionSchedule(api.deps.temporal, api.deps.config));
    const schedule = await eventually(async () => api.deps.temporal.schedule.getHandle(LOG_RETENTION_SCHEDULE).describe().catch(() => null), 30_000, 'the retention Schedule');
    expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: 'logRetentionWorkflow', taskQueue: 'idcflow-test', args: [{ days: 90, batchSize: 5000 }] });
  });

  it('deletes the entries older than its days, keeps the others, and records the run as an operation', async () => {
    const module = `retention${crypto.randomBytes(4).toString('hex')}`;
    const day = 86_400_000;
    await seedLogEntries(api.deps.knex, { count: 30, module, newest: new Date(Date.now() - 40_000 * day) });
    await seedLogEntries(api.deps.knex, { count: 5, module, newest: new Date(Date.now() - 30_000 * day) });
    const workflowId = `log-retention-test-${module}`;
    const result = await api.deps.temporal.workflow.execute(logRetentionWorkflow, { taskQueue: 'idcflow-test', workflowId, args: [{ days: 36_500, batchSize: 10 }] });

    expect(result).toMatchObject({ days: 36_500, deleted: 30, batches: expect.any(Number) });
    expect(result.batches).toBeGreaterThanOrEqual(3);
    const left = await api.deps.knex('log_entries').where({ module }).select('at');
    expect(left).toHaveLength(5);
    expect(left.every((r: { at: Date }) => r.at.getTime() > Date.now() - 36_500 * day)).toBe(true);
    const op = await api.deps.knex('operations').where({ id: workflowId }).first();
    expect(op).toMatchObject({ type: 'logs.cleanup', status: 'succeeded', created_by: null, params: { days: 36_500, scheduled: true } });
  });
});
