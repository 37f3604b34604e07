import { startTestApi, type TestApi, eventually } from '../support/api';
import { spawnWorker, type Spawned } from '../support/processes';
import { addCredential, addInstance, pgAdmin, pgServer, uid, waitOperation, startBatch } from '../support/dbsync';

/**
 * Crash tests: the worker is killed (SIGKILL) in the middle of a sync session, or of a classification batch, each time
 * after an activity's work was committed and before it reported, so the new worker repeats work that already happened;
 * the run completes with every instance synced, and every account classified, exactly once.
 */
describe('account sync survives a worker crash', () => {
  const queue = `dbsync-crash-${uid()}`;
  let api: TestApi;
  let worker: Spawned | undefined;
  let replacement: Spawned | undefined;

  beforeAll(async () => {
    api = await startTestApi({ IDCFLOW_TASK_QUEUE: queue, IDCFLOW_DBSYNC_CONCURRENCY: '1' });
    worker = await spawnWorker(queue, { IDCFLOW_FAULT_DELAY: 'syncInstanceAccounts.after:60000' });
  });
  afterAll(async () => {
    await worker?.stop();
    await replacement?.stop();
    await api.close();
  });

  it('kills the worker mid-session, after an instance was written and before it reported; after a restart every instance is synced once', async () => {
    const id = uid();
    const role = `crash_${id}`;
    await pgAdmin((c) => c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw-${id}'`));
    const s = pgServer();
    const cred = await addCredential(api, role, `pw-${id}`);
    const instances = [];
    for (let i = 0; i < 3; i++) instances.push(await addInstance(api, { db_type: 'postgresql', host: s.host, port: s.port, database_name: s.database, credential_id: cred, ssl: 'disable' }));
    const ids = instances.map((i) => i.id);

    const token = await api.admin();
    const started = await api.call('POST', '/api/v1/db/sessions', { token, body: { instance_ids: ids } });
    expect(started.status).toBe(202);
    const sessionId = started.body.data.operation.id;
    const path = `/api/v1/db/sessions/${encodeURIComponent(sessionId)}`;

    // The first instance's accounts and record are committed, and its activity is held before it reports: kill the worker now.
    await eventually(async () => (await api.call('GET', path, { token })).body.data?.records?.filter((r: { status: string }) => r.status === 'completed').length === 1, 60_000, 'the first instance');
    await worker!.stop('SIGKILL');
    const atKill = (await api.call('GET', path, { token })).body.data;
    expect(atKill.status).toBe('running');
    const first = atKill.records.filter((r: { status: string }) => r.status === 'completed');
    expect(first).toHaveLength(1);
    expect(first[0].items_created).toBeGreaterThan(0);
    expect(atKill.records.filter((r: { status: string }) => r.status === 'pending')).toHaveLength(2);

    replacement = await spawnWorker(queue);
    const op = await waitOperation(api, sessionId, token);
    expect(op.status).toBe('succeeded');
    const session = (await api.call('GET', path, { token })).body.data;
    expect(session).toMatchObject({ status: 'completed', total_instances: 3, successful_instances: 3, failed_instances: 0 });
    expect(session.records.map((r: { status: string }) => r.status)).toEqual(['completed', 'completed', 'completed']);
    // The retried first instance kept the result its killed attempt wrote (a redo would find every account known: 0 created).
    expect(session.records.find((r: { instance_id: number }) => r.instance_id === first[0].instance_id)).toMatchObject({ items_created: first[0].items_created, items_synced: first[0].items_synced });

    for (const instanceId of ids) {
      const record = session.records.find((r: { instance_id: number }) => r.instance_id === instanceId);
      const adds = await api.deps.knex('account_change_log').where({ instance_id: instanceId, change_type: 'add' }).select('account_key');
      const keys = adds.map((a) => a.account_key);
      expect(new Set(keys).size).toBe(keys.length); // no account added twice
      expect(keys.length).toBe(record.items_created);
      const stored = await api.deps.knex('db_accounts').where({ instance_id: instanceId }).count<{ count: number }[]>('* as count');
      expect(Number(stored[0].count)).toBe(record.items_synced);
      expect(keys).toContain(role);
      const changeSessions = await api.deps.knex('account_change_log').where({ instance_id: instanceId }).distinct('session_id');
      expect(changeSessions.map((c) => c.session_id)).toEqual([sessionId]);
    }
    // Each child workflow ran once per instance.
    const children = await api.deps.temporal.workflow.list({ query: `WorkflowId STARTS_WITH "${sessionId}--i"` });
    const childIds: string[] = [];
    for await (const wf of children) childIds.push(wf.workflowId);
    expect(childIds.sort()).toEqual(ids.map((i) => `${sessionId}--i${i}`).sort());
    // Operators find an instance's syncs by its search attributes.
    const byInstance: string[] = [];
    for await (const wf of api.deps.temporal.workflow.list({ query: `IdcflowResourceType = "db_instance" AND IdcflowResourceId = "${ids[0]}"` })) byInstance.push(wf.workflowId);
    expect(byInstance).toEqual([`${sessionId}--i${ids[0]}`]);
  });

  it('kills the worker after a classification batch committed and before it reported: the retry keeps the first result', async () => {
    const id = uid();
    const role = `classify_${id}`;
    await pgAdmin((c) => c.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD 'pw-${id}'`));
    const s = pgServer();
    const instance = await addInstance(api, { db_type: 'postgresql', host: s.host, port: s.port, database_name: s.database, credential_id: await addCredential(api, role, `pw-${id}`), ssl: 'disable' });
    const token = await api.admin();
    await replacement?.stop();
    replacement = await spawnWorker(queue, { IDCFLOW_FAULT_DELAY: 'classifyAccounts.after:30000' });
    const synced = await api.call('POST', '/api/v1/db/sessions', { token, body: { instance_ids: [instance.id] } });
    expect((await waitOperation(api, synced.body.data.operation.id, token)).status).toBe('succeeded');

    const started = await startBatch(api, token, { instance_ids: [instance.id] });
    expect(started.status).toBe(202);
    const batchId: string = started.body.data.operation.id;
    // The batch is written (one transaction) and the activity is held before it reports: kill the worker there.
    const committed = await eventually(async () => { const b = await api.deps.knex('classification_batches').where({ id: batchId }).first(); return b?.status === 'completed' && b; }, 60_000, 'the batch written');
    expect(committed.total_matches).toBeGreaterThan(0);
    await replacement.stop('SIGKILL');
    expect((await api.call('GET', `/api/v1/operations/${encodeURIComponent(batchId)}`, { token })).body.data.status).toBe('running');

    replacement = await spawnWorker(queue);
    const op = await waitOperation(api, batchId, token);
    expect(op).toMatchObject({ status: 'succeeded', result: { batch_id: batchId, total_accounts: committed.total_accounts, total_matches: committed.total_matches } });
    const after = await api.deps.knex('classification_batches').where({ id: batchId }).first();
    expect(after.completed_at).toEqual(committed.completed_at); // written once, not redone
    const matches = await api.deps.knex('classification_matches').where({ batch_id: batchId }).select('account_id', 'classification_id');
    expect(matches).toHaveLength(committed.total_matches);
    const account = await api.deps.knex('db_accounts').where({ instance_id: instance.id, username: role }).first('id');
    const superuser = await api.deps.knex('account_classifications').where({ code: 'super_admin' }).first('id');
    expect(matches).toContainEqual({ account_id: account.id, classification_id: superuser.id });
  });
});
