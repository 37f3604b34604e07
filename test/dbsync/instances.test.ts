import net from 'node:net';
import { startTestApi, expectError, type TestApi, type TestUser } from '../support/api';
import { addCredential, addInstance, pgAdmin, pgServer, uid } from '../support/dbsync';

let api: TestApi;
let viewer: TestUser;
let user: TestUser;
beforeAll(async () => {
  api = await startTestApi();
  viewer = await api.createUser('viewer');
  user = await api.createUser('user');
});
afterAll(async () => { await api.close(); });

/** Seed 002's error envelope. */
function expectSeedError(res: { status: number; body: any }, status: number) { // eslint-disable-line @typescript-eslint/no-explicit-any
  expect({ status: res.status, envelope: res.body?.status }).toEqual({ status, envelope: 'error' });
  expect(typeof res.body.message).toBe('string');
}

describe('database types', () => {
  it('lists types, active types and form options on both surfaces', async () => {
    const token = viewer.token;
    const types = await api.call('GET', '/api/v1/db/types', { token });
    expect(types.status).toBe(200);
    expect(types.body.data.types.map((t: { name: string }) => t.name)).toEqual(['postgresql', 'mysql', 'sqlserver', 'oracle']);
    expect(types.body.data.types[0]).toMatchObject({ default_port: 5432, default_database: 'postgres' });
    const options = await api.call('GET', '/api/v1/db/types/form-options', { token });
    expect(options.body.data.ports).toEqual({ postgresql: 5432, mysql: 3306, sqlserver: 1433, oracle: 1521 });
    const seedList = await api.call('GET', '/api/list', { token });
    expect(seedList.body).toMatchObject({ status: 'success', data: expect.any(Array), message: expect.any(String) });
    expect((await api.call('GET', '/api/active', { token })).body.data).toHaveLength(4);
    expect((await api.call('GET', '/api/form-options', { token })).body.data.default_databases.postgresql).toBe('postgres');
    expectError(await api.call('GET', '/api/v1/db/types'), 401, 'INVALID_CREDENTIALS');
    expectSeedError(await api.call('GET', '/api/list'), 401);
    expectSeedError(await api.call('GET', '/api/form-options'), 401);
  });
});

describe('credentials', () => {
  it('encrypts the password at rest and never returns it', async () => {
    const secret = `s3cret-${uid()}`;
    const created = await api.call('POST', '/api/v1/db/credentials', { token: user.token, body: { name: `c-${uid()}`, username: 'sync', password: secret, db_type: 'postgresql' } });
    expect(created.status).toBe(201);
    expect(created.text).not.toContain(secret);
    expect(created.body.data).toMatchObject({ username: 'sync', password: '********', has_password: true });
    const row = await api.deps.knex('db_credentials').where({ id: created.body.data.id }).first();
    expect(row.password_sealed).not.toContain(secret);
    expect(row.password_sealed.startsWith('v1:')).toBe(true);
    const list = await api.call('GET', '/api/v1/db/credentials', { token: user.token });
    expect(list.text).not.toContain(secret);
    expect(list.body.data.pagination).toMatchObject({ page: 1, size: 20 });
    const seed = await api.call('GET', '/api/credentials', { token: user.token });
    expect(seed.body).toMatchObject({ status: 'success', pagination: { page: 1, per_page: 20 } });
    expect(seed.text).not.toContain(secret);
    const one = await api.call('GET', `/api/credentials/${created.body.data.id}`, { token: user.token });
    expect(one.body).toMatchObject({ status: 'success', data: { id: created.body.data.id, password: '********' } });

    const updated = await api.call('PUT', `/api/v1/db/credentials/${created.body.data.id}`, { token: user.token, body: { password: 'another-one' } });
    expect(updated.status).toBe(200);
    const after = await api.deps.knex('db_credentials').where({ id: created.body.data.id }).first();
    expect(after.password_sealed).not.toBe(row.password_sealed);
    const audit = await api.deps.knex('audit_log').where({ resource_type: 'db_credential', resource_id: String(created.body.data.id) });
    expect(JSON.stringify(audit)).not.toContain('another-one');
  });

  it('validates, authorizes, answers 404 and refuses to delete one in use', async () => {
    const bad = await api.call('POST', '/api/v1/db/credentials', { token: user.token, body: { name: '', username: 'x' } });
    expectError(bad, 422, 'VALIDATION_ERROR');
    expect(bad.body.error.details.errors.map((e: { field: string }) => e.field).sort()).toEqual(['name', 'password']);
    expectError(await api.call('POST', '/api/v1/db/credentials', { token: viewer.token, body: { name: 'v', username: 'x', password: 'y' } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('POST', '/api/v1/db/credentials', { body: { name: 'v', username: 'x', password: 'y' } }), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('GET', '/api/v1/db/credentials/999999', { token: viewer.token }), 404, 'RESOURCE_NOT_FOUND');
    expectSeedError(await api.call('GET', '/api/credentials/999999', { token: viewer.token }), 404);
    expectSeedError(await api.call('GET', '/api/credentials/abc', { token: viewer.token }), 422);
    expectError(await api.call('PUT', '/api/v1/db/credentials/999999', { token: user.token, body: { username: 'x' } }), 404, 'RESOURCE_NOT_FOUND');
    const id = await addCredential(api, 'u', 'p', user.token);
    const name = (await api.call('GET', `/api/v1/db/credentials/${id}`, { token: user.token })).body.data.name;
    expectError(await api.call('POST', '/api/v1/db/credentials', { token: user.token, body: { name, username: 'x', password: 'y' } }), 409, 'CONFLICT');
    await addInstance(api, { db_type: 'postgresql', host: '127.0.0.1', credential_id: id }, user.token);
    expectError(await api.call('DELETE', `/api/v1/db/credentials/${id}`, { token: user.token }), 409, 'CONFLICT');
    expectError(await api.call('DELETE', `/api/v1/db/credentials/${id}`, { token: viewer.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    const free = await addCredential(api, 'u', 'p', user.token);
    expect((await api.call('DELETE', `/api/v1/db/credentials/${free}`, { token: user.token })).status).toBe(200);
    expectError(await api.call('GET', `/api/v1/db/credentials/${free}`, { token: user.token }), 404, 'RESOURCE_NOT_FOUND');
  });
});

describe('instances', () => {
  it('CRUD, detail and statistics natively and at seed 002 paths', async () => {
    const credentialId = await addCredential(api, 'u', 'p', user.token);
    const created = await api.call('POST', '/api/v1/db/instances', { token: user.token, body: { name: `pg-${uid()}`, db_type: 'postgresql', host: 'db.example.test', credential_id: credentialId, tags: ['a'] } });
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({ port: 5432, database_name: 'postgres', credential_id: credentialId, status: 'unknown', tags: ['a'] });
    const id = created.body.data.id;
    const mysqlInst = await api.call('POST', '/api/v1/db/instances', { token: user.token, body: { name: `my-${uid()}`, db_type: 'mysql', host: '10.0.0.5', credential_id: credentialId } });
    expect(mysqlInst.body.data.port).toBe(3306);

    const list = await api.call('GET', '/api/v1/db/instances?db_type=mysql&size=100', { token: user.token });
    expect(list.body.data.instances.every((i: { db_type: string }) => i.db_type === 'mysql')).toBe(true);
    const seedList = await api.call('GET', '/api/instances?per_page=2', { token: user.token });
    expect(seedList.body).toMatchObject({ status: 'success', pagination: { page: 1, per_page: 2 } });
    expect(seedList.body.data.length).toBeLessThanOrEqual(2);
    const detail = await api.call('GET', `/api/instances/${id}`, { token: user.token });
    expect(detail.body).toMatchObject({ status: 'success', data: { id, accounts: { active: 0, inactive: 0 }, last_sync: null } });

    const updated = await api.call('PUT', `/api/v1/db/instances/${id}`, { token: user.token, body: { port: 6543, environment: 'staging' } });
    expect(updated.body.data).toMatchObject({ port: 6543, environment: 'staging' });
    const stats = await api.call('GET', '/api/v1/db/instances/statistics', { token: user.token });
    expect(stats.body.data.by_db_type.postgresql).toBeGreaterThanOrEqual(1);
    const seedStats = await api.call('GET', '/api/statistics', { token: user.token });
    expect(seedStats.body).toMatchObject({ status: 'success', data: { total_instances: expect.any(Number), sync: expect.any(Object) } });

    expect((await api.call('DELETE', `/api/v1/db/instances/${id}`, { token: user.token })).status).toBe(200);
    expectError(await api.call('GET', `/api/v1/db/instances/${id}`, { token: user.token }), 404, 'RESOURCE_NOT_FOUND');
  });

  it('bad input, no token, wrong role and 404 on every instance endpoint', async () => {
    const bad = await api.call('POST', '/api/v1/db/instances', { token: user.token, body: { name: 'x', db_type: 'db2', host: 'a b', port: 70000, credential_id: 1 } });
    expectError(bad, 422, 'VALIDATION_ERROR');
    expect(bad.body.error.details.errors.map((e: { field: string }) => e.field).sort()).toEqual(['db_type', 'host', 'port']);
    const missingCred = await api.call('POST', '/api/v1/db/instances', { token: user.token, body: { name: `x-${uid()}`, db_type: 'mysql', host: 'h', credential_id: 999999 } });
    // A credential that is not the caller's (or not there) is a 404, never a hint that another user's exists.
    expectError(missingCred, 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', '/api/v1/db/instances', { token: viewer.token, body: {} }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('GET', '/api/v1/db/instances'), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('GET', '/api/v1/db/instances/999999', { token: viewer.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('PUT', '/api/v1/db/instances/999999', { token: user.token, body: { port: 1 } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('DELETE', '/api/v1/db/instances/999999', { token: user.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('DELETE', '/api/v1/db/instances/1', { token: viewer.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('POST', '/api/v1/db/instances/999999/test', { token: viewer.token }), 404, 'RESOURCE_NOT_FOUND');
    expectSeedError(await api.call('GET', '/api/instances'), 401);
    expectSeedError(await api.call('GET', '/api/instances/999999', { token: viewer.token }), 404);
    expectSeedError(await api.call('POST', '/api/instances/999999/test', { token: viewer.token }), 404);
    expectSeedError(await api.call('GET', '/api/statistics'), 401);
    const scoped = await api.call('POST', '/api/v1/tokens', { token: user.token, body: { name: 'no-view', scopes: ['create'] } });
    expectSeedError(await api.call('GET', '/api/instances', { token: scoped.body.data.token }), 403);
  });
});

describe('test connection with the real drivers', () => {
  let role: string;
  const password = `pw-${uid()}-long`;
  beforeAll(async () => {
    role = `tc_${uid()}`;
    await pgAdmin((c) => c.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`));
  });

  it('connects to a saved PostgreSQL instance and marks it online', async () => {
    const s = pgServer();
    const inst = await addInstance(api, { db_type: 'postgresql', host: s.host, port: s.port, database_name: s.database, credential_id: await addCredential(api, role, password), ssl: 'disable' });
    const res = await api.call('POST', `/api/v1/db/instances/${inst.id}/test`, { token: await api.admin() });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ success: true, error_type: null, server_version: expect.stringContaining('PostgreSQL') });
    const seed = await api.call('POST', `/api/instances/${inst.id}/test`, { token: await api.admin() });
    expect(seed.body).toMatchObject({ status: 'success', data: { success: true } });
    expect((await api.call('GET', `/api/v1/db/instances/${inst.id}`, { token: await api.admin() })).body.data.status).toBe('online');
    expectError(await api.call('POST', `/api/v1/db/instances/${inst.id}/test`, { token: viewer.token }), 404, 'RESOURCE_NOT_FOUND');
  });

  it('says what failed: auth (without the password), refused, DNS, TLS, timeout', async () => {
    const s = pgServer();
    const wrong = `wrong-${uid()}-pass`;
    // Loopback targets are for admins (a non-admin's ad-hoc test reaches public addresses only: tenancy.test.ts).
    const admin = await api.admin();
    const auth = await api.call('POST', '/api/test-connection', { token: admin, body: { db_type: 'postgresql', host: s.host, port: s.port, username: role, password: wrong, database: s.database, ssl: 'disable' } });
    expect(auth.body).toMatchObject({ status: 'success', data: { success: false, error_type: 'auth' } });
    expect(auth.text).not.toContain(wrong);
    // The password travelled sealed: no workflow history holds it in clear.
    const histories: string[] = [];
    for await (const wf of api.deps.temporal.workflow.list({ query: 'WorkflowType = "testConnectionWorkflow"' })) {
      const history = await api.deps.temporal.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      histories.push(JSON.stringify(history, (k, v) => (k === 'data' && typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : v)));
    }
    expect(histories.length).toBeGreaterThan(0);
    expect(histories.join('\n')).toContain('sealedPassword');
    expect(histories.join('\n')).not.toContain(wrong);
    expect((await api.call('POST', '/api/test-connection', { token: viewer.token, body: { db_type: 'mysql', host: 'h', username: 'u' } })).status).toBe(403);

    const closedPort = await new Promise<number>((resolve) => { const srv = net.createServer().listen(0, '127.0.0.1', () => { const p = (srv.address() as net.AddressInfo).port; srv.close(() => resolve(p)); }); });
    const refused = await api.call('POST', '/api/v1/db/test-connection', { token: admin, body: { db_type: 'mysql', host: '127.0.0.1', port: closedPort, username: 'x', password: 'y' } });
    expect(refused.body.data).toMatchObject({ success: false, error_type: 'refused' });

    const dns = await api.call('POST', '/api/v1/db/test-connection', { token: user.token, body: { db_type: 'postgresql', host: `no-such-host-${uid()}.invalid`, username: 'x', password: 'y', timeout: 5 } });
    expect(dns.body.data.success).toBe(false);
    expect(['dns', 'timeout']).toContain(dns.body.data.error_type); // resolvers without network may time out instead of answering NXDOMAIN
    expect(dns.body.data.message).toMatch(/no-such-host/);

    const tls = await api.call('POST', '/api/v1/db/test-connection', { token: admin, body: { db_type: 'postgresql', host: s.host, port: s.port, username: role, password, database: s.database, ssl: 'require' } });
    expect(tls.body.data).toMatchObject({ success: false, error_type: 'tls' });

    // A server that accepts TCP and never answers.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const started = Date.now();
      const timeout = await api.call('POST', '/api/v1/db/test-connection', { token: admin, body: { db_type: 'postgresql', host: '127.0.0.1', port: (silent.address() as net.AddressInfo).port, username: 'x', password: 'y', timeout: 2 } });
      expect(timeout.body.data).toMatchObject({ success: false, error_type: 'timeout' });
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      silent.close();
    }
  });

  it('validates the ad hoc body and needs a token', async () => {
    const bad = await api.call('POST', '/api/test-connection', { token: user.token, body: { db_type: 'nosql', host: '' } });
    expectSeedError(bad, 422);
    expect([...new Set(bad.body.details.errors.map((e: { field: string }) => e.field))].sort()).toEqual(['db_type', 'host', 'username']);
    expectSeedError(await api.call('POST', '/api/test-connection', { body: {} }), 401);
    expectError(await api.call('POST', '/api/v1/db/test-connection', { body: {} }), 401, 'INVALID_CREDENTIALS');
  });
});
