import { startTestApi, type TestApi } from '../support/api';

let api: TestApi;
let admin: string;
beforeAll(async () => { api = await startTestApi({ IDCFLOW_SERVER_TOKEN: 'server-token-for-tests-0123456789' }); admin = await api.admin(); });
afterAll(async () => { await api.close(); });

describe('seed 001 system token: /api/system/resets, create, tquery', () => {
  it('an admin generates, reads and sets it; the token then acts as an admin bearer', async () => {
    const reset = await api.call('POST', '/api/system/resets', { token: admin });
    expect(reset.status).toBe(200);
    expect(reset.body).toMatchObject({ code: 200, msg: 'success', data: { token: expect.any(String) } });
    const token = reset.body.data.token;
    expect((await api.call('GET', '/api/system/tquery', { token: admin })).body.data.token).toBe(token);
    expect((await api.call('GET', '/api/v1/auth/me', { token })).body.data).toMatchObject({ username: 'system', via: 'system_token', permissions: ['*'] });
    expect((await api.call('GET', '/api/system/tquery', { token })).body.data.token).toBe(token);

    const set = await api.call('POST', '/api/system/create', { token: admin, body: { token: 'my-own-system-token-42' } });
    expect(set.body.data.token).toBe('my-own-system-token-42');
    expect((await api.call('GET', '/api/v1/auth/me', { token })).status).toBe(401);
    expect((await api.call('GET', '/api/v1/users', { token: 'my-own-system-token-42' })).status).toBe(200);
    const row = await api.deps.knex('system_secrets').where({ name: 'openidcs_api_token' }).first();
    expect(row.sealed).not.toContain('my-own-system-token-42');
  });

  it('answers errors in the {code, msg, data} envelope: bad input, no token, non-admin', async () => {
    const bad = await api.call('POST', '/api/system/create', { token: admin, body: { token: 'short' } });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ code: 422, data: { error: 'VALIDATION_ERROR', details: { field: 'token' } } });
    const none = await api.call('GET', '/api/system/tquery');
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ code: 401, data: { error: 'INVALID_CREDENTIALS' } });
    const u = await api.createUser('manager');
    for (const [method, path] of [['POST', '/api/system/resets'], ['GET', '/api/system/tquery'], ['POST', '/api/system/create']]) {
      const res = await api.call(method, path, { token: u.token, body: method === 'GET' ? undefined : { token: 'a-valid-looking-token-123' } });
      expect(res.status).toBe(403);
      expect(res.body.data.error).toBe('INSUFFICIENT_PERMISSIONS');
    }
  });
});

describe('seed 004 users: /api/get_user_info and /api/delete_user with tokens in the body', () => {
  async function apiTokenFor(token: string) {
    return (await api.call('POST', '/api/v1/tokens', { token, body: { name: 'seed004' } })).body.data.token as string;
  }

  it('a user reads their own info with api_token; not someone else’s', async () => {
    const u = await api.createUser('user');
    const other = await api.createUser('user');
    const apiToken = await apiTokenFor(u.token);
    const res = await api.call('POST', '/api/get_user_info', { body: { api_token: apiToken, username: u.username } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ username: u.username, roles: ['user'], permissions: ['view', 'create', 'update', 'delete'], profile: { email: `${u.username}@example.test` }, stats: { login_count: 1 } });
    expect(res.body.stats.register_time).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(res.body).not.toHaveProperty('security');
    const denied = await api.call('POST', '/api/get_user_info', { body: { api_token: apiToken, username: other.username, include_sensitive: true } });
    // Someone else's name answers as an unknown one does (test/platform/security.test.ts).
    expect(denied.status).toBe(404);
    expect(denied.body).toMatchObject({ error: expect.any(String), code: 'RESOURCE_NOT_FOUND' });
  });

  it('server_token reads anyone with sensitive fields; a wrong one is refused', async () => {
    const u = await api.createUser('user');
    const res = await api.call('POST', '/api/get_user_info', { body: { server_token: 'server-token-for-tests-0123456789', username: u.username, include_sensitive: true } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ username: u.username, account_status: 'active', stats: { failed_login_attempts: 0 }, security: { two_factor_enabled: false, email_verified: false } });
    const wrong = await api.call('POST', '/api/get_user_info', { body: { server_token: 'nope', username: u.username } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('INVALID_CREDENTIALS');
    expect((await api.call('POST', '/api/get_user_info', { body: { username: u.username } })).status).toBe(401);
    const missing = await api.call('POST', '/api/get_user_info', { body: { server_token: 'server-token-for-tests-0123456789', username: 'no_such_user_x' } });
    expect(missing.status).toBe(404);
    expect((await api.call('POST', '/api/get_user_info', { body: { server_token: 'server-token-for-tests-0123456789', include_sensitive: 'yes' } })).status).toBe(422);
  });

  it('delete_user waits for the operation and answers the seed’s details', async () => {
    const victim = await api.createUser('user');
    const res = await api.call('POST', '/api/delete_user', { body: { server_token: 'server-token-for-tests-0123456789', target_user: victim.username, reason: '系统自动清理', backup_data: true, notify_user: true, permanent: false } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      message: '用户删除成功',
      details: { deleted_user: victim.username, deletion_type: 'soft_delete', notification_sent: false, backup_file: expect.stringMatching(/^backups\/users\/.+\.zip$/) },
      operation: { status: 'succeeded' },
    });
    expect(res.body.details.deleted_at).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect((await api.call('GET', `/api/v1/users/${victim.id}`, { token: admin })).status).toBe(404);
  });

  it('delete_user: an admin’s api_token works; a user’s is refused; bad input and unknown users answer errors', async () => {
    const victim = await api.createUser('user');
    const u = await api.createUser('user');
    const userToken = await apiTokenFor(u.token);
    const refused = await api.call('POST', '/api/delete_user', { body: { api_token: userToken, target_user: victim.username } });
    expect(refused.status).toBe(403);
    expect((await api.call('POST', '/api/delete_user', { body: { target_user: victim.username } })).status).toBe(401);
    const adminToken = await apiTokenFor(admin);
    const bad = await api.call('POST', '/api/delete_user', { body: { api_token: adminToken } });
    expect(bad.status).toBe(422);
    expect(bad.body.details.field).toBe('target_user');
    expect((await api.call('POST', '/api/delete_user', { body: { api_token: adminToken, target_user: 'no_such_user_y' } })).status).toBe(404);
    const ok = await api.call('POST', '/api/delete_user', { body: { api_token: adminToken, target_user: victim.username, backup_data: false } });
    expect(ok.status).toBe(200);
    expect(ok.body.details.backup_file).toBeNull();
  });
});
