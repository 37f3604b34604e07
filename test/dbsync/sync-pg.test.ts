import net from 'node:net';
import { startTestApi, expectError, type TestApi, type TestUser, eventually } from '../support/api';
import { addCredential, addInstance, pgAdmin, pgServer, uid, waitOperation, startBatch } from '../support/dbsync';

let api: TestApi;
let viewer: TestUser;
let user: TestUser;
let oneAtATime: TestApi;
const id = uid();
const R = {
  admin: `r_admin_${id}`, reader: `r_reader_${id}`, writer: `r_writer_${id}`, member: `r_member_${id}`, group: `r_group_${id}`,
  creator: `r_creator_${id}`, expired: `r_expired_${id}`, sync: `r_sync_${id}`,
};
const table = `t_${id}`;
let instanceId: number;

beforeAll(async () => {
  api = await startTestApi();
  oneAtATime = await startTestApi({ IDCFLOW_DBSYNC_CONCURRENCY: '1' });
  viewer = await api.createUser('viewer');
  user = await api.createUser('user');
  await pgAdmin(async (c) => {
    await c.query(`CREATE TABLE ${table} (id int)`);
    await c.query(`CREATE ROLE ${R.admin} SUPERUSER LOGIN PASSWORD 'x'`);
    await c.query(`CREATE ROLE ${R.reader} LOGIN PASSWORD 'x'`);
    await c.query(`GRANT SELECT ON ${table} TO ${R.reader}`);
    await c.query(`CREATE ROLE ${R.writer} LOGIN PASSWORD 'x'`);
    await c.query(`GRANT SELECT, INSERT, UPDATE ON ${table} TO ${R.writer}`);
    await c.query(`CREATE ROLE ${R.group} NOLOGIN`);
    await c.query(`CREATE ROLE ${R.member} LOGIN PASSWORD 'x' IN ROLE ${R.group}`);
    await c.query(`GRANT SELECT ON ${table} TO ${R.member}`);
    await c.query(`CREATE ROLE ${R.creator} LOGIN CREATEROLE CREATEDB PASSWORD 'x'`);
    await c.query(`CREATE ROLE ${R.expired} LOGIN PASSWORD 'x' VALID UNTIL '2001-01-01'`);
    await c.query(`CREATE ROLE ${R.sync} LOGIN PASSWORD 'sync-pass-${id}'`);
  });
  const s = pgServer();
  instanceId = (await addInstance(api, { db_type: 'postgresql', host: s.host, port: s.port, database_name: s.database, credential_id: await addCredential(api, R.sync, `sync-pass-${id}`, user.token), ssl: 'disable' }, user.token)).id;
});
afterAll(async () => {
  await oneAtATime.close();
  await api.close();
});

async function accountsByName() {
  const res = await api.call('GET', `/api/v1/db/accounts?instance_id=${instanceId}&search=_${id}&size=100`, { token: user.token });
  expect(res.status).toBe(200);
  return Object.fromEntries(res.body.data.accounts.map((a: { username: string }) => [a.username, a])) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('account sync against the real PostgreSQL', () => {
  let firstSession: string;

  it('syncs an instance: accounts stored with their privileges snapshot', async () => {
    const started = await api.call('POST', `/api/v1/db/instances/${instanceId}/sync`, { token: user.token });
    expect(started.status).toBe(202);
    firstSession = started.body.data.operation.id;
    const op = await waitOperation(api, firstSession);
    expect(op.status).toBe('succeeded');
    expect(op.result).toMatchObject({ session_id: firstSession, status: 'completed', total_instances: 1, successful_instances: 1 });

    const session = await api.call('GET', `/api/v1/db/sessions/${encodeURIComponent(firstSession)}`, { token: user.token });
    expect(session.body.data).toMatchObject({ sync_type: 'manual_single', sync_category: 'account', status: 'completed', total_instances: 1, successful_instances: 1, failed_instances: 0 });
    expect(session.body.data.records).toHaveLength(1);
    expect(session.body.data.records[0]).toMatchObject({ instance_id: instanceId, status: 'completed' });
    expect(session.body.data.records[0].items_created).toBeGreaterThanOrEqual(8);
    expect(session.body.data.records[0].items_synced).toBe(session.body.data.records[0].items_created);

    const a = await accountsByName();
    expect(a[R.admin]).toMatchObject({ is_superuser: true, can_login: true, is_active: true });
    expect(a[R.admin].capabilities).toEqual(expect.arrayContaining(['SUPERUSER', 'LOGIN']));
    expect(a[R.reader].is_superuser).toBe(false);
    expect(a[R.reader].privileges).toContainEqual({ scope: 'table', object: expect.stringContaining(`.public.${table}`), privilege: 'SELECT' });
    expect(a[R.reader].privileges).not.toContainEqual(expect.objectContaining({ privilege: 'INSERT' }));
    expect(a[R.writer].privileges.filter((p: { scope: string }) => p.scope === 'table').map((p: { privilege: string }) => p.privilege).sort()).toEqual(['INSERT', 'SELECT', 'UPDATE']);
    expect(a[R.member].roles).toEqual([R.group]);
    expect(a[R.group].can_login).toBe(false);
    expect(a[R.creator].capabilities).toEqual(expect.arrayContaining(['CREATEROLE', 'CREATEDB']));
    expect(a[R.expired].is_locked).toBe(true);
    expect(a[R.reader].privileges).toContainEqual({ scope: 'database', object: pgServer().database, privilege: 'CONNECT' });

    // Workflows carry ids only: the credential's password is in no history of the session or its child.
    for (const wfId of [firstSession, `${firstSession}--i${instanceId}`]) {
      const history = await api.deps.temporal.workflow.getHandle(wfId).fetchHistory();
      const text = JSON.stringify(history, (k, v) => (k === 'data' && typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : v));
      expect(text).toContain(firstSession);
      expect(text).not.toContain(`sync-pass-${id}`);
    }
    const adds = await api.call('GET', `/api/v1/db/account-changes?session_id=${encodeURIComponent(firstSession)}&change_type=add&size=100`, { token: user.token });
    expect(adds.body.data.changes.map((c: { account_key: string }) => c.account_key)).toEqual(expect.arrayContaining(Object.values(R)));
  });

  it('a second sync logs privilege changes, other changes and deletions, and deactivates missing accounts', async () => {
    await pgAdmin(async (c) => {
      await c.query(`GRANT INSERT ON ${table} TO ${R.reader}`);
      await c.query(`REVOKE ALL ON ${table} FROM ${R.writer}`);
      await c.query(`DROP ROLE ${R.writer}`);
      await c.query(`ALTER ROLE ${R.creator} CONNECTION LIMIT 5`);
    });
    const started = await api.call('POST', '/api/v1/db/sessions', { token: user.token, body: { instance_ids: [instanceId] } });
    expect(started.status).toBe(202);
    const sessionId = started.body.data.operation.id;
    expect((await waitOperation(api, sessionId)).status).toBe('succeeded');
    const session = (await api.call('GET', `/api/sessions/${encodeURIComponent(sessionId)}`, { token: user.token })).body;
    expect(session).toMatchObject({ status: 'success', data: { sync_type: 'manual_batch', status: 'completed' } });
    expect(session.data.records[0].items_deleted).toBe(1);
    expect(session.data.records[0].items_updated).toBeGreaterThanOrEqual(2);

    const changes = (await api.call('GET', `/api/v1/db/account-changes?session_id=${encodeURIComponent(sessionId)}&size=100`, { token: user.token })).body.data.changes
      .filter((c: { account_key: string }) => c.account_key.endsWith(id));
    const of = (key: string, type: string) => changes.filter((c: { account_key: string; change_type: string }) => c.account_key === key && c.change_type === type);
    expect(of(R.reader, 'modify_privilege')).toHaveLength(1);
    expect(of(R.reader, 'modify_privilege')[0].diff.privileges.added).toEqual([expect.objectContaining({ privilege: 'INSERT', scope: 'table' })]);
    expect(of(R.reader, 'modify_privilege')[0].diff.privileges.removed).toEqual([]);
    expect(of(R.writer, 'delete')).toHaveLength(1);
    expect(of(R.creator, 'modify_other')).toHaveLength(1);
    expect(of(R.creator, 'modify_other')[0].diff.attributes).toMatchObject({ old: expect.objectContaining({ connection_limit: -1 }), new: expect.objectContaining({ connection_limit: 5 }) });
    // Nothing else changed for the unchanged roles.
    expect(changes.filter((c: { account_key: string }) => [R.admin, R.member, R.group, R.expired].includes(c.account_key))).toEqual([]);

    const a = await accountsByName();
    expect(a[R.writer]).toMatchObject({ is_active: false, deactivated_at: expect.any(String) });
    expect(a[R.reader].privileges.map((p: { privilege: string }) => p.privilege)).toEqual(expect.arrayContaining(['SELECT', 'INSERT']));

    const all = await api.call('GET', `/api/v1/db/account-changes?instance_id=${instanceId}&size=100`, { token: user.token });
    expect(all.body.data.changes.every((c: { instance_id: number }) => c.instance_id === instanceId)).toBe(true);
  });

  it('classifies the accounts: defaults and a custom rule; batches and matches on both surfaces', async () => {
    const custom = await api.call('POST', '/api/v1/db/classifications', { token: user.token, body: { code: `grp_${id}`, name: 'Group members', risk_level: 'medium', priority: 5 } });
    expect(custom.status).toBe(201);
    const rule = await api.call('POST', `/api/v1/db/classifications/${custom.body.data.id}/rules`, { token: user.token, body: { name: 'members', expression: { and: [{ fn: 'has_role', name: R.group }, { fn: 'db_type_in', types: ['postgresql'] }] } } });
    expect(rule.status).toBe(201);
    expect(rule.body.data.version).toBe(1);

    const started = await startBatch(api, user.token, { instance_ids: [instanceId] });
    expect(started.status).toBe(202);
    const batchId = started.body.data.operation.id;
    expect((await waitOperation(api, batchId)).status).toBe('succeeded');

    const batch = await api.call('GET', `/api/batches/${encodeURIComponent(batchId)}`, { token: user.token });
    expect(batch.body).toMatchObject({ status: 'success', data: { batch_id: batchId, status: 'completed' } });
    expect(batch.body.data.matched_accounts).toBeGreaterThanOrEqual(7);
    const matches = await api.call('GET', `/api/batches/${encodeURIComponent(batchId)}/matches?per_page=100`, { token: user.token });
    expect(matches.body).toMatchObject({ status: 'success', pagination: { page: 1, per_page: 100 } });
    const codesOf = (name: string) => matches.body.data.filter((m: { username: string }) => m.username === name).map((m: { classification_code: string }) => m.classification_code).sort();
    expect(codesOf(R.admin)).toContain('super_admin');
    expect(codesOf(R.creator)).toContain('privileged');
    expect(codesOf(R.creator)).not.toContain('super_admin');
    expect(codesOf(R.reader)).toEqual(['sensitive_write']);
    expect(codesOf(R.member)).toEqual([`grp_${id}`, 'read_only'].sort());
    expect(codesOf(R.group)).toEqual(['locked']);
    expect(codesOf(R.expired)).toContain('locked');
    expect(codesOf(R.writer)).toEqual([]); // deactivated accounts are not classified

    const native = await api.call('GET', `/api/v1/db/batches/${encodeURIComponent(batchId)}/matches?classification=super_admin`, { token: user.token });
    expect(native.body.data.matches.every((m: { classification_code: string }) => m.classification_code === 'super_admin')).toBe(true);
    const list = await api.call('GET', '/api/batches', { token: user.token });
    expect(list.body.data.map((b: { id: string }) => b.id)).toContain(batchId);
    const accounts = await api.call('GET', `/api/v1/db/accounts?classification=grp_${id}`, { token: user.token });
    expect(accounts.body.data.accounts.map((x: { username: string }) => x.username)).toEqual([R.member]);

    expectError(await api.call('GET', '/api/v1/db/batches/nope', { token: user.token }), 404, 'RESOURCE_NOT_FOUND');
    expect((await api.call('GET', '/api/batches/nope/matches', { token: user.token })).status).toBe(404);
    expect((await api.call('GET', '/api/batches')).status).toBe(401);
    expectError(await api.call('POST', '/api/v1/db/batches', { token: viewer.token, body: {} }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('POST', '/api/v1/db/batches', { token: user.token, body: { instance_ids: ['x'] } }), 422, 'VALIDATION_ERROR');
  });

  it('validates rule expressions with a clear error and versions rule changes', async () => {
    const cls = (await api.call('GET', '/api/v1/db/classifications', { token: user.token })).body.data.classifications.find((c: { code: string }) => c.code === 'read_only');
    const post = (expression: unknown) => api.call('POST', `/api/v1/db/classifications/${cls.id}/rules`, { token: user.token, body: { name: 'r', expression } });
    let res = await post({ fn: 'is_admin' });
    expectError(res, 422, 'VALIDATION_ERROR');
    expect(res.body.error.details.field).toBe('expression.fn');
    expect(res.body.error.message).toMatch(/unknown function 'is_admin'/);
    res = await post({ and: [] });
    expect(res.body.error.details.field).toBe('expression.and');
    res = await post({ or: [{ fn: 'is_superuser' }, { not: { fn: 'has_role' } }] });
    expect(res.body.error.details.field).toBe('expression.or.1.not.name');
    res = await post({ xor: [] });
    expect(res.body.error.message).toMatch(/unknown operator 'xor'/);
    res = await post({ fn: 'has_privilege', privilege: 'SELECT', scope: 'galaxy' });
    expect(res.body.error.details.field).toBe('expression.scope');

    const ok = await post({ fn: 'has_privilege', privilege: 'SELECT', scope: 'table' });
    expect(ok.status).toBe(201);
    const updated = await api.call('PUT', `/api/v1/db/rules/${ok.body.data.id}`, { token: user.token, body: { expression: { fn: 'has_privilege', privilege: 'USAGE' } } });
    expect(updated.body.data.version).toBe(2);
    const detail = await api.call('GET', `/api/v1/db/rules/${ok.body.data.id}`, { token: user.token });
    expect(detail.body.data.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    expectError(await api.call('PUT', `/api/v1/db/rules/${ok.body.data.id}`, { token: user.token, body: { expression: { not: 1 } } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('PUT', `/api/v1/db/rules/${ok.body.data.id}`, { token: viewer.token, body: { name: 'x' } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expect((await api.call('DELETE', `/api/v1/db/rules/${ok.body.data.id}`, { token: user.token })).status).toBe(200);
    expectError(await api.call('GET', `/api/v1/db/rules/${ok.body.data.id}`, { token: user.token }), 404, 'RESOURCE_NOT_FOUND');
    // A system classification is everyone's to read and an admin's to change (an admin still cannot delete it: 409).
    expectError(await api.call('DELETE', `/api/v1/db/classifications/${cls.id}`, { token: user.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('DELETE', `/api/v1/db/classifications/${cls.id}`, { token: await api.admin() }), 409, 'CONFLICT');
    expectError(await api.call('GET', '/api/v1/db/classifications/999999', { token: user.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', '/api/v1/db/classifications', { token: user.token, body: { code: 'Bad Code', name: '' } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('GET', '/api/v1/db/classifications'), 401, 'INVALID_CREDENTIALS');
  });
});

describe('sessions endpoints, errors and cancel', () => {
  it('records a failed instance with its error; error-logs lists it', async () => {
    const broken = await addInstance(api, { db_type: 'postgresql', host: pgServer().host, port: pgServer().port, credential_id: await addCredential(api, R.sync, 'wrong-password-here', user.token), ssl: 'disable' }, user.token);
    const started = await api.call('POST', `/api/v1/db/instances/${broken.id}/sync`, { token: user.token });
    const op = await waitOperation(api, started.body.data.operation.id);
    expect(op.result).toMatchObject({ status: 'failed', failed_instances: 1 });
    const sid = encodeURIComponent(op.id);
    const errors = await api.call('GET', `/api/sessions/${sid}/error-logs`, { token: user.token });
    expect(errors.body).toMatchObject({ status: 'success', data: { error_count: 1, error_logs: [{ instance_id: broken.id, status: 'failed', error_type: 'auth' }] } });
    expect(errors.text).not.toContain('wrong-password-here');
    expect((await api.call('GET', `/api/v1/db/sessions/${sid}/error-logs`, { token: user.token })).body.data.error_count).toBe(1);
    expect((await api.call('GET', `/api/v1/db/instances/${broken.id}`, { token: user.token })).body.data.status).toBe('offline');
  });

  it('lists sessions on both surfaces, with statistics; 401/403/404/409', async () => {
    const list = await api.call('GET', '/api/sessions?per_page=5', { token: user.token });
    expect(list.body).toMatchObject({ status: 'success', pagination: { per_page: 5 } });
    expect(list.body.data.length).toBeGreaterThan(0);
    const native = await api.call('GET', '/api/v1/db/sessions?status=completed', { token: user.token });
    expect(native.body.data.sessions.every((s: { status: string }) => s.status === 'completed')).toBe(true);
    const stats = await api.call('GET', '/api/v1/db/sessions/statistics', { token: user.token });
    expect(stats.body.data.completed_sessions).toBeGreaterThan(0);
    const done = native.body.data.sessions[0].id;
    expectError(await api.call('POST', `/api/v1/db/sessions/${encodeURIComponent(done)}/cancel`, { token: user.token }), 409, 'CONFLICT');
    expect((await api.call('POST', `/api/sessions/${encodeURIComponent(done)}/cancel`, { token: viewer.token })).status).toBe(403);
    expect((await api.call('GET', '/api/sessions/nope', { token: user.token })).body).toMatchObject({ status: 'error', code: 404 });
    expectError(await api.call('GET', '/api/v1/db/sessions/nope', { token: user.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', '/api/v1/db/sessions/nope/cancel', { token: user.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', '/api/v1/db/sessions/nope/error-logs', { token: user.token }), 404, 'RESOURCE_NOT_FOUND');
    expect((await api.call('GET', '/api/sessions')).status).toBe(401);
    expectError(await api.call('GET', '/api/v1/db/sessions?status=bogus', { token: user.token }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', '/api/v1/db/sessions', { token: viewer.token, body: {} }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('POST', '/api/v1/db/sessions', { token: user.token, body: { instance_ids: [999999] } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', '/api/v1/db/instances/999999/sync', { token: user.token }), 404, 'RESOURCE_NOT_FOUND');
  });

  it('cancel is honoured between instances: the running one finishes, the rest are cancelled', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const cred = await addCredential(api, R.sync, `sync-pass-${id}`, user.token);
      const slow = await addInstance(api, { db_type: 'postgresql', host: '127.0.0.1', port: (silent.address() as net.AddressInfo).port, credential_id: cred, ssl: 'disable' }, user.token);
      const s = pgServer();
      const fast1 = await addInstance(api, { db_type: 'postgresql', host: s.host, port: s.port, database_name: s.database, credential_id: cred, ssl: 'disable' }, user.token);
      const fast2 = await addInstance(api, { db_type: 'postgresql', host: s.host, port: s.port, database_name: s.database, credential_id: cred, ssl: 'disable' }, user.token);
      const started = await oneAtATime.call('POST', '/api/v1/db/sessions', { token: user.token, body: { instance_ids: [slow.id, fast1.id, fast2.id] } });
      const sid = encodeURIComponent(started.body.data.operation.id);
      await eventually(async () => (await api.call('GET', `/api/v1/db/sessions/${sid}`, { token: user.token })).body.data?.records?.some((r: { status: string }) => r.status === 'running'), 30_000, 'the first instance to start');
      const cancel = await api.call('POST', `/api/sessions/${sid}/cancel`, { token: user.token });
      expect(cancel.body).toMatchObject({ status: 'success', data: { cancel_requested: true } });
      const op = await waitOperation(api, started.body.data.operation.id);
      expect(op.status).toBe('canceled');
      const session = (await api.call('GET', `/api/v1/db/sessions/${sid}`, { token: user.token })).body.data;
      expect(session.status).toBe('cancelled');
      const byInstance = Object.fromEntries(session.records.map((r: { instance_id: number; status: string }) => [r.instance_id, r.status]));
      expect(byInstance[slow.id]).toBe('failed'); // it ran to its connect timeout
      expect(byInstance[fast1.id]).toBe('cancelled');
      expect(byInstance[fast2.id]).toBe('cancelled');
      expect(session.cancelled_instances).toBe(2);
    } finally {
      silent.close();
    }
  });
});
