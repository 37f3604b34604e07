import { startTestApi, expectError, type TestApi, type TestUser } from '../support/api';
import { uid } from '../support/dbsync';

let api: TestApi;
let viewer: TestUser;
let user: TestUser;
beforeAll(async () => {
  api = await startTestApi();
  viewer = await api.createUser('viewer');
  user = await api.createUser('user');
});
afterAll(async () => { await api.close(); });

describe('seed 002 auth', () => {
  it('/auth/login, /api/me and /api/refresh in the {status, data, message} envelope', async () => {
    const login = await api.call('POST', '/auth/login', { body: { username: viewer.username, password: viewer.password } });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ status: 'success', message: '登录成功', data: { access_token: expect.any(String), refresh_token: expect.any(String), user: { id: viewer.id, username: viewer.username, role: 'viewer' } } });
    const me = await api.call('GET', '/api/me', { token: login.body.data.access_token });
    expect(me.body).toMatchObject({ status: 'success', data: { username: viewer.username, permissions: ['view', 'scheduler_view'] } });
    const refreshed = await api.call('POST', '/api/refresh', { headers: { authorization: `Bearer ${login.body.data.refresh_token}` } });
    expect(refreshed.body).toMatchObject({ status: 'success', data: { access_token: expect.any(String) } });
    expect(refreshed.body.data.refresh_token).not.toBe(login.body.data.refresh_token);

    const wrong = await api.call('POST', '/auth/login', { body: { username: viewer.username, password: 'nope' } });
    expect(wrong.body).toMatchObject({ status: 'error', code: 401, error: 'INVALID_CREDENTIALS' });
    expect((await api.call('POST', '/auth/login', { body: { username: '' } })).body).toMatchObject({ status: 'error', code: 422 });
    expect((await api.call('GET', '/api/me')).body).toMatchObject({ status: 'error', code: 401 });
    expect((await api.call('POST', '/api/refresh')).body).toMatchObject({ status: 'error', code: 401 });
    expect((await api.call('POST', '/api/refresh', { body: { refresh_token: 'garbage' } })).status).toBe(401);
  });

  it('/api/health is public; /health/detailed reports the database and Temporal', async () => {
    expect((await api.call('GET', '/api/health')).body).toMatchObject({ status: 'success', data: { status: 'healthy', version: expect.any(String) } });
    expect((await api.call('GET', '/health/detailed')).body).toMatchObject({ status: 'success', data: { status: 'healthy', database: 'connected', temporal: 'connected' } });
  });
});

describe('seed 002 users (over the user service)', () => {
  it('lists, creates, updates, toggles, deletes and counts users; admin only', async () => {
    const admin = await api.admin();
    const name = `w_${uid()}`;
    const created = await api.call('POST', '/api/users', { token: admin, body: { username: name, password: 'password123', role: 'user', email: `${name}@example.test` } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'success', data: { username: name, role: 'user', status: 'active' } });
    const uidNum = created.body.data.id;
    const list = await api.call('GET', `/api/users?search=${name}`, { token: admin });
    expect(list.body).toMatchObject({ status: 'success', data: [{ username: name }], pagination: { page: 1, per_page: 20, total: 1 } });
    const updated = await api.call('PUT', `/api/users/${uidNum}`, { token: admin, body: { username: name, role: 'manager' } });
    expect(updated.body.data.role).toBe('manager');
    const renamed = await api.call('PUT', `/api/users/${uidNum}`, { token: admin, body: { username: `${name}_r` } });
    expect(renamed.body).toMatchObject({ status: 'success', data: { username: `${name}_r` } });
    expect((await api.call('PUT', `/api/users/${uidNum}`, { token: admin, body: { username: 'ADMIN' } })).body).toMatchObject({ status: 'error', code: 409 });
    expect((await api.call('PUT', `/api/users/${uidNum}`, { token: admin, body: { username: 'a b' } })).body).toMatchObject({ status: 'error', code: 422 });
    expect((await api.call('PUT', `/api/users/${uidNum}`, { token: admin, body: { username: name } })).body.data.username).toBe(name);
    const toggled = await api.call('POST', `/api/users/${uidNum}/toggle-status`, { token: admin });
    expect(toggled.body.data.status).toBe('disabled');
    const stats = await api.call('GET', '/api/users/stats', { token: admin });
    expect(stats.body.data.total_users).toBeGreaterThan(1);
    const deleted = await api.call('DELETE', `/api/users/${uidNum}`, { token: admin });
    expect(deleted.body).toMatchObject({ status: 'success', data: { deleted_user: name, operation: { status: 'succeeded' } } });
    expect((await api.call('DELETE', `/api/users/${uidNum}`, { token: admin })).status).toBe(404);

    expect((await api.call('GET', '/api/users', { token: user.token })).body).toMatchObject({ status: 'error', code: 403 });
    expect((await api.call('POST', '/api/users', { token: user.token, body: {} })).status).toBe(403);
    expect((await api.call('GET', '/api/users')).status).toBe(401);
    expect((await api.call('POST', '/api/users', { token: admin, body: { username: 'x' } })).body).toMatchObject({ status: 'error', code: 422 });
    expect((await api.call('PUT', '/api/users/999999', { token: admin, body: { role: 'user' } })).status).toBe(404);
    expect((await api.call('POST', '/api/users/999999/toggle-status', { token: admin })).status).toBe(404);
    expect((await api.call('GET', '/api/users/stats', { token: viewer.token })).status).toBe(403);
  });
});

describe('dashboard', () => {
  it('overview counts instances, accounts by status and classification, users', async () => {
    for (const path of ['/api/overview', '/api/v1/dashboard/overview']) {
      const res = await api.call('GET', path, { token: viewer.token });
      expect(res.status).toBe(200);
      const data = res.body.data;
      expect(data).toMatchObject({ instances: { total: expect.any(Number), by_type: { postgresql: expect.any(Number) } }, accounts: { by_status: expect.any(Object), by_classification: expect.objectContaining({ super_admin: expect.any(Number) }) }, users: { total: expect.any(Number) } });
      // A non-admin's figures are their own: the user count is themselves; an admin's is the platform's.
      expect(data.users.total).toBe(1);
      expect((await api.call('GET', path, { token: await api.admin() })).body.data.users.total).toBeGreaterThanOrEqual(3);
    }
  });

  it('charts cover the last 7 days of syncs, logs and tasks', async () => {
    // A run may cross UTC midnight: the chart's last day is the day the request was answered, between the two read here,
    // and the login just made is counted on its own day, whichever of those it was.
    const utcDay = () => new Date().toISOString().slice(0, 10);
    const before = utcDay();
    await api.login(viewer.username, viewer.password);
    const res = await api.call('GET', '/api/charts', { token: viewer.token });
    const after = utcDay();
    const labels: string[] = res.body.data.labels;
    expect(labels).toHaveLength(7);
    expect([before, after]).toContain(labels[6]);
    expect(res.body.data.syncs.total).toHaveLength(7);
    const loginDays = [...new Set([before, after])].map((d) => labels.indexOf(d)).filter((i) => i >= 0);
    expect(loginDays.reduce((n, i) => n + res.body.data.logs.total[i], 0)).toBeGreaterThan(0);
    expect(res.body.data.tasks.total).toHaveLength(7);
  });

  it('activities come from the audit trail (not an empty list)', async () => {
    const name = `c-${uid()}`;
    await api.call('POST', '/api/v1/db/credentials', { token: user.token, body: { name, username: 'u', password: 'p' } });
    const res = await api.call('GET', '/api/activities?limit=20', { token: user.token });
    expect(res.body.status).toBe('success');
    expect(res.body.data.find((a: { message: string }) => a.message.includes(name))).toMatchObject({ module: 'dbsync', action: 'credential_create', username: user.username });
    // Only one's own activity (an admin sees everyone's: test/platform/security.test.ts).
    const asViewer = await api.call('GET', '/api/activities?limit=200', { token: viewer.token });
    expect(asViewer.body.data.find((a: { message: string }) => a.message.includes(name))).toBeUndefined();
    const native = await api.call('GET', '/api/v1/dashboard/activities', { token: viewer.token });
    expect(native.body.data.activities.length).toBeGreaterThan(0);
    expectError(await api.call('GET', '/api/v1/dashboard/activities?limit=0', { token: viewer.token }), 422, 'VALIDATION_ERROR');
  });

  it('status reports CPU, memory, disk, database and Temporal', async () => {
    const res = await api.call('GET', '/api/status', { token: viewer.token });
    expect(res.body.data).toMatchObject({ cpu: { cores: expect.any(Number) }, memory: { total: expect.any(Number) }, disk: { total: expect.any(Number) }, database: { status: 'healthy' }, temporal: { status: 'healthy' }, overall: 'healthy' });
    expect((await api.call('GET', '/api/v1/dashboard/status', { token: viewer.token })).status).toBe(200);
  });

  it('needs a token and the view permission', async () => {
    const scoped = await api.call('POST', '/api/v1/tokens', { token: user.token, body: { name: 'nv', scopes: ['create'] } });
    for (const path of ['/api/overview', '/api/charts', '/api/activities', '/api/status']) {
      expect((await api.call('GET', path)).body).toMatchObject({ status: 'error', code: 401 });
      expect((await api.call('GET', path, { token: scoped.body.data.token })).body).toMatchObject({ status: 'error', code: 403 });
    }
    for (const path of ['/api/v1/dashboard/overview', '/api/v1/dashboard/charts', '/api/v1/dashboard/activities', '/api/v1/dashboard/status']) {
      expectError(await api.call('GET', path), 401, 'INVALID_CREDENTIALS');
      expectError(await api.call('GET', path, { token: scoped.body.data.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    }
  });
});

describe('the OpenAPI document', () => {
  it('lists the native and seed 002 paths', async () => {
    const doc = await api.call('GET', '/api/v1/openapi.json');
    for (const p of ['/api/v1/db/instances', '/api/v1/db/sessions/{id}/cancel', '/api/v1/db/jobs/{id}/run', '/api/jobs/{job_id}/pause', '/api/batches/{batch_id}/matches', '/api/test-connection', '/auth/login']) {
      expect(Object.keys(doc.body.paths)).toContain(p);
    }
  });
});
