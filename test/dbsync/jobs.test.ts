import { startTestApi, expectError, type TestApi, type TestUser, eventually } from '../support/api';
import { addCredential, addInstance, pgAdmin, pgServer, uid } from '../support/dbsync';
import { parseCron, CronError } from '../../shared/dbsync/cron';

describe('cron translation into Temporal calendars', () => {
  it("reads seed 002's six fields as seconds first", () => {
    const { calendars, normalized } = parseCron('0 */30 * * * *');
    expect(normalized).toBe('0 */30 * * * *');
    expect(calendars).toEqual([{
      second: [{ start: 0, end: 0, step: 1 }], minute: [{ start: 0, end: 59, step: 30 }], hour: '*',
      dayOfMonth: '*', month: '*', dayOfWeek: '*', comment: '0 */30 * * * *',
    }]);
    expect(parseCron('0 0 */6 * * *').calendars[0]).toMatchObject({ second: [{ start: 0, end: 0, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }], hour: [{ start: 0, end: 23, step: 6 }] });
  });

  it('reads five fields as minute..weekday with second 0; names, lists, Sunday as 7', () => {
    expect(parseCron('*/15 9-17 * * MON-FRI').calendars).toEqual([{
      second: [{ start: 0, end: 0, step: 1 }], minute: [{ start: 0, end: 59, step: 15 }], hour: [{ start: 9, end: 17, step: 1 }],
      dayOfMonth: '*', month: '*', dayOfWeek: [{ start: 'MONDAY', end: 'FRIDAY', step: 1 }], comment: '*/15 9-17 * * MON-FRI',
    }]);
    expect(parseCron('30 2 1,15 jan,jul 7').calendars).toHaveLength(2); // day-of-month OR day-of-week, as in cron
    expect(parseCron('0 0 * * 7').calendars[0].dayOfWeek).toEqual([{ start: 'SUNDAY', end: 'SUNDAY', step: 1 }]);
    expect(parseCron('5 4 * * *').calendars[0].month).toBe('*');
  });

  it('names the bad field', () => {
    const fieldOf = (s: string) => { try { parseCron(s); return null; } catch (e) { return (e as CronError).field; } };
    expect(fieldOf('0 61 * * * *')).toBe('minute');
    expect(fieldOf('61 * * * * *')).toBe('second');
    expect(fieldOf('* 25 * * *')).toBe('hour');
    expect(fieldOf('* * 0 * *')).toBe('day_of_month');
    expect(fieldOf('* * * 13 *')).toBe('month');
    expect(fieldOf('* * * * 8')).toBe('day_of_week');
    expect(fieldOf('*/0 * * * *')).toBe('minute');
    expect(fieldOf('* * *')).toBe('schedule');
    expect(fieldOf('0 0 0 * * * *')).toBe('schedule');
  });
});

describe('jobs as Temporal Schedules', () => {
  let api: TestApi;
  let manager: TestUser;
  let viewer: TestUser;
  let plain: TestUser;
  let instanceId: number;
  const id = uid();

  beforeAll(async () => {
    api = await startTestApi();
    manager = await api.createUser('manager');
    viewer = await api.createUser('viewer');
    plain = await api.createUser('user');
    const role = `job_sync_${id}`;
    await pgAdmin((c) => c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw-${id}'`));
    const s = pgServer();
    instanceId = (await addInstance(api, { db_type: 'postgresql', host: s.host, port: s.port, database_name: s.database, credential_id: await addCredential(api, role, `pw-${id}`, manager.token), ssl: 'disable' }, manager.token)).id;
  });
  afterAll(async () => { await api.close(); });

  const history = async (jobId: string) => (await api.call('GET', `/api/v1/db/jobs/${jobId}/history?size=100`, { token: manager.token })).body.data.runs as Array<{ id: string; kind: string; status: string }>;

  it('translates the schedule deliberately: Temporal computes the next runs at :00 and :30', async () => {
    const created = await api.call('POST', '/api/jobs', { token: manager.token, body: { name: `half-hourly ${id}`, task_type: 'sync_accounts', db_type: 'postgresql', schedule: '0 */30 * * * *', description: '每30分钟同步一次账户' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'success', data: { task_type: 'sync_accounts', schedule: '0 */30 * * * *', state: 'active' } });
    const jobId = created.body.data.job_id;
    const described = await api.deps.temporal.schedule.getHandle(jobId).describe();
    const next = described.info.nextActionTimes.slice(0, 3);
    expect(next.length).toBe(3);
    for (const t of next) expect([t.getUTCMinutes(), t.getUTCSeconds()]).toEqual([t.getUTCMinutes() === 0 ? 0 : 30, 0]);
    expect(next[1].getTime() - next[0].getTime()).toBe(30 * 60_000);
    const detail = await api.call('GET', `/api/jobs/${jobId}`, { token: manager.token });
    expect(detail.body.data).toMatchObject({ job_id: jobId, next_run_at: next[0].toISOString(), temporal_paused: false, history: [] });

    const five = await api.call('PUT', `/api/jobs/${jobId}`, { token: manager.token, body: { schedule: '15 3 * * *' } });
    expect(five.status).toBe(200);
    const after = (await api.deps.temporal.schedule.getHandle(jobId).describe()).info.nextActionTimes[0];
    expect([after.getUTCHours(), after.getUTCMinutes(), after.getUTCSeconds()]).toEqual([3, 15, 0]);
    expect((await api.call('DELETE', `/api/jobs/${jobId}`, { token: manager.token })).status).toBe(200);
    await expect(api.deps.temporal.schedule.getHandle(jobId).describe()).rejects.toThrow();
    expect((await api.call('GET', `/api/jobs/${jobId}`, { token: manager.token })).status).toBe(404);
  });

  it('an invalid cron is a 422 naming the field; permissions scheduler_view / scheduler_manage apply', async () => {
    const bad = await api.call('POST', '/api/v1/db/jobs', { token: manager.token, body: { name: 'x', task_type: 'sync_accounts', schedule: '0 61 * * * *' } });
    expectError(bad, 422, 'VALIDATION_ERROR');
    expect(bad.body.error.details.field).toBe('schedule.minute');
    const seedBad = await api.call('POST', '/api/jobs', { token: manager.token, body: { name: 'x', task_type: 'backup', schedule: '* * *' } });
    expect(seedBad.body).toMatchObject({ status: 'error', code: 422 });
    expectError(await api.call('POST', '/api/v1/db/jobs', { token: manager.token, body: { name: 'x', task_type: 'sync_accounts', schedule: '1 2 3' } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', '/api/v1/db/jobs', { token: viewer.token, body: { name: 'x', task_type: 'sync_accounts', schedule: '* * * * *' } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('GET', '/api/v1/db/jobs', { token: plain.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expect((await api.call('GET', '/api/jobs', { token: viewer.token })).body).toMatchObject({ status: 'success', pagination: { page: 1 } });
    expect((await api.call('GET', '/api/jobs')).status).toBe(401);
    for (const [method, path] of [['GET', '/api/jobs/job-nope'], ['PUT', '/api/jobs/job-nope'], ['DELETE', '/api/jobs/job-nope'], ['POST', '/api/jobs/job-nope/enable'], ['POST', '/api/jobs/job-nope/disable'], ['POST', '/api/jobs/job-nope/pause'], ['POST', '/api/jobs/job-nope/resume'], ['POST', '/api/jobs/job-nope/run']] as const) {
      const res = await api.call(method, path, { token: manager.token, body: method === 'PUT' ? { name: 'y' } : undefined });
      expect({ path, status: res.status, envelope: res.body.status }).toEqual({ path, status: 404, envelope: 'error' });
      const native = await api.call(method, path.replace('/api/jobs', '/api/v1/db/jobs'), { token: manager.token, body: method === 'PUT' ? { name: 'y' } : undefined });
      expect({ path, status: native.status }).toEqual({ path, status: 404 });
      const forbidden = await api.call(method, path, { token: method === 'GET' ? plain.token : viewer.token, body: method === 'PUT' ? { name: 'y' } : undefined });
      expect({ path, status: forbidden.status }).toEqual({ path, status: 403 });
    }
    expectError(await api.call('GET', '/api/v1/db/jobs/job-nope/history', { token: viewer.token }), 404, 'RESOURCE_NOT_FOUND');
  });

  it('a schedule fires and produces sessions; pause stops it; run-now triggers it; resume, disable, enable', async () => {
    const created = await api.call('POST', '/api/v1/db/jobs', { token: manager.token, body: { name: `every-2s ${id}`, task_type: 'sync_accounts', instance_ids: [instanceId], schedule: '*/2 * * * * *' } });
    expect(created.status).toBe(201);
    const jobId = created.body.data.id;
    const runs = await eventually(async () => { const h = await history(jobId); return h.some((r) => r.status === 'completed') && h; }, 30_000, 'a scheduled session');
    expect(runs[0].kind).toBe('sync_session');
    const session = (await api.call('GET', `/api/v1/db/sessions/${encodeURIComponent(runs.find((r) => r.status === 'completed')!.id)}`, { token: manager.token })).body.data;
    expect(session).toMatchObject({ sync_type: 'scheduled_task', job_id: jobId, status: 'completed', total_instances: 1, successful_instances: 1 });
    expect(session.records[0].instance_id).toBe(instanceId);
    // Each run is an operation like any other: in the operations history, with its step log.
    // The session row is marked completed by the run's last step; the operation ends just after it.
    const op = (await api.call('GET', `/api/v1/operations/${encodeURIComponent(session.id)}/wait?timeout=20`, { token: manager.token })).body.data;
    expect(op).toMatchObject({ type: 'dbsync.accounts', status: 'succeeded', resource: { type: 'job', id: jobId }, created_by: manager.id });
    const steps = (await api.call('GET', `/api/v1/operations/${encodeURIComponent(session.id)}/events`, { token: manager.token })).body.data.events.map((e: { step: string }) => e.step);
    expect(steps[0]).toBe('started');
    expect(steps).toContain('finish');
    const listed = await api.call('GET', `/api/v1/operations?resource_type=job&resource_id=${encodeURIComponent(jobId)}`, { token: manager.token });
    expect(listed.body.data.operations.map((o: { id: string }) => o.id)).toContain(session.id);
    // Operators find the runs in Temporal by the job's search attributes.
    await eventually(async () => {
      const ids: string[] = [];
      for await (const wf of api.deps.temporal.workflow.list({ query: `IdcflowResourceType = "job" AND IdcflowResourceId = "${jobId}"` })) ids.push(wf.workflowId);
      return ids.length > 0 && ids.every((w) => w.startsWith(`${jobId}-run`));
    }, 20_000, 'scheduled runs in visibility');

    const paused = await api.call('POST', `/api/jobs/${jobId}/pause`, { token: manager.token });
    expect(paused.body).toMatchObject({ status: 'success', data: { is_paused: true, state: 'paused' } });
    const schedule = api.deps.temporal.schedule.getHandle(jobId);
    const pausedAt = new Date();
    const described = await schedule.describe();
    expect(described.state.paused).toBe(true);
    const taken = described.info.numActionsTaken;
    // The schedule's own next action time (it fires every 2 s): once the clock is past it and the runs started before the
    // pause have finished, the history holds exactly the actions the schedule had taken.
    const due = described.info.nextActionTimes[0].getTime();
    const atPause = (await eventually(async () => { const h = await history(jobId); return Date.now() > due + 500 && h.length >= taken && h.every((r) => r.status !== 'running') && h; }, 30_000, 'the runs started before the pause, and a missed action time')).length;
    expect(atPause).toBe(taken);

    // Run-now wakes the schedule, which first processes every action time since the pause (at least one has passed) and then
    // the trigger: paused, it takes the trigger only. Its description then shows exactly one action since the pause.
    const run = await api.call('POST', `/api/jobs/${jobId}/run`, { token: manager.token });
    expect(run.body).toMatchObject({ status: 'success', data: { triggered: true } });
    const triggered = new Date(run.body.data.triggered_at).getTime();
    const after = await eventually(async () => { const d = await schedule.describe(); return d.info.recentActions.some((a) => a.takenAt.getTime() >= triggered - 1000) && d; }, 20_000, 'the run-now action');
    expect(after.state.paused).toBe(true);
    expect(after.info.numActionsTaken).toBe(taken + 1);
    expect(after.info.recentActions.filter((a) => a.takenAt >= pausedAt)).toHaveLength(1);
    await eventually(async () => (await history(jobId)).length === atPause + 1, 20_000, 'the run-now session');
    expect((await schedule.describe()).info.numActionsTaken).toBe(taken + 1);

    const disabled = await api.call('POST', `/api/v1/db/jobs/${jobId}/disable`, { token: manager.token });
    expect(disabled.body.data).toMatchObject({ is_enabled: false, state: 'disabled' });
    const resumed = await api.call('POST', `/api/v1/db/jobs/${jobId}/resume`, { token: manager.token });
    expect(resumed.body.data).toMatchObject({ is_paused: false, state: 'disabled' });
    expect((await api.deps.temporal.schedule.getHandle(jobId).describe()).state.paused).toBe(true); // still disabled
    const enabled = await api.call('POST', `/api/jobs/${jobId}/enable`, { token: manager.token });
    expect(enabled.body.data).toMatchObject({ is_enabled: true, state: 'active' });
    expect((await api.deps.temporal.schedule.getHandle(jobId).describe()).state.paused).toBe(false);
    expect((await api.call('GET', `/api/v1/db/jobs?state=active`, { token: manager.token })).body.data.jobs.map((j: { id: string }) => j.id)).toContain(jobId);
    expect((await api.call('DELETE', `/api/v1/db/jobs/${jobId}`, { token: manager.token })).status).toBe(200);
    const sessions = await api.call('GET', `/api/v1/db/sessions?job_id=${jobId}&size=100`, { token: manager.token });
    expect(sessions.body.data.sessions.length).toBeGreaterThanOrEqual(atPause + 1);
  });

  it('a session a schedule started can be cancelled through seed 002', async () => {
    const net = await import('node:net');
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const slow = await addInstance(api, { db_type: 'postgresql', host: '127.0.0.1', port: (silent.address() as import('node:net').AddressInfo).port, credential_id: await addCredential(api, 'x', 'y', manager.token), ssl: 'disable' }, manager.token);
      const created = await api.call('POST', '/api/jobs', { token: manager.token, body: { name: `slow ${id}`, task_type: 'sync_accounts', instance_ids: [slow.id], schedule: '0 0 1 1 *', is_enabled: false } });
      const jobId = created.body.data.job_id;
      await api.call('POST', `/api/jobs/${jobId}/run`, { token: manager.token });
      const [run] = await eventually(async () => { const h = await history(jobId); return h.length > 0 && h; }, 20_000, 'the triggered session');
      const sid = encodeURIComponent(run.id);
      await eventually(async () => (await api.call('GET', `/api/sessions/${sid}`, { token: manager.token })).body.data?.records?.[0]?.status === 'running', 20_000, 'the instance to start');
      const cancel = await api.call('POST', `/api/sessions/${sid}/cancel`, { token: manager.token });
      expect(cancel.body).toMatchObject({ status: 'success', data: { cancel_requested: true, sync_type: 'scheduled_task', job_id: jobId } });
      const ended = await eventually(async () => { const s = (await api.call('GET', `/api/sessions/${sid}`, { token: manager.token })).body.data; return s.status !== 'running' && s; }, 40_000, 'the session to end');
      expect(ended.status).toBe('cancelled');
      expect(ended.records[0].status).toBe('failed'); // the instance in progress ran to its connect timeout
      await api.call('DELETE', `/api/jobs/${jobId}`, { token: manager.token });
    } finally {
      silent.close();
    }
  });

  it('a classify_accounts job produces classification batches', async () => {
    const created = await api.call('POST', '/api/v1/db/jobs', { token: manager.token, body: { name: `classify ${id}`, task_type: 'classify_accounts', schedule: '0 0 1 1 *', is_enabled: false } });
    expect(created.body.data.state).toBe('disabled');
    const jobId = created.body.data.id;
    await api.call('POST', `/api/v1/db/jobs/${jobId}/run`, { token: manager.token });
    const runs = await eventually(async () => { const h = await history(jobId); return h.some((r) => r.status === 'completed') && h; }, 30_000, 'a scheduled batch');
    expect(runs[0]).toMatchObject({ kind: 'classification_batch', status: 'completed' });
    const batch = await api.call('GET', `/api/batches/${encodeURIComponent(runs[0].id)}`, { token: manager.token });
    expect(batch.body.data).toMatchObject({ batch_type: 'scheduled', job_id: jobId });
    await api.call('DELETE', `/api/v1/db/jobs/${jobId}`, { token: manager.token });
  });
});
