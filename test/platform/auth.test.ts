import jwt from 'jsonwebtoken';
import { startTestApi, expectError, type TestApi } from '../support/api';

let api: TestApi;
beforeAll(async () => { api = await startTestApi(); });
afterAll(async () => { await api.close(); });

describe('POST /api/v1/auth/login', () => {
  it('signs in and answers the seed 003 shape with a refresh token', async () => {
    const res = await api.call('POST', '/api/v1/auth/login', { body: { username: 'admin', password: process.env.IDCFLOW_ADMIN_PASSWORD } });
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    expect(res.body.data).toMatchObject({ token_type: 'bearer', expires_in: 900, user: { username: 'admin', role: 'admin', permissions: ['*'] } });
    expect(res.body.data.access_token.split('.')).toHaveLength(3);
    expect(res.body.data.refresh_token).toEqual(expect.any(String));
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('refuses a wrong password with INVALID_CREDENTIALS', async () => {
    expectError(await api.call('POST', '/api/v1/auth/login', { body: { username: 'admin', password: 'wrong-password' } }), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('POST', '/api/v1/auth/login', { body: { username: 'nobody-here', password: 'x' } }), 401, 'INVALID_CREDENTIALS');
  });

  it('names each missing field', async () => {
    const res = await api.call('POST', '/api/v1/auth/login', { body: { username: '' } });
    expectError(res, 422, 'VALIDATION_ERROR');
    expect(res.body.error.details.errors.map((e: { field: string }) => e.field).sort()).toEqual(['password', 'username']);
  });

  it('answers a malformed body with 400 in the envelope', async () => {
    expectError(await api.call('POST', '/api/v1/auth/login', { rawBody: '{"username":' }), 400, 'BAD_REQUEST');
  });

  it('refuses a disabled account', async () => {
    const u = await api.createUser('user');
    await api.call('POST', `/api/v1/users/${u.id}/toggle-status`, { token: await api.admin() });
    expectError(await api.call('POST', '/api/v1/auth/login', { body: { username: u.username, password: u.password } }), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('GET', '/api/v1/auth/me', { token: u.token }), 401, 'INVALID_CREDENTIALS');
  });
});

describe('throttling and lockout', () => {
  let throttled: TestApi;
  beforeAll(async () => {
    throttled = await startTestApi({ IDCFLOW_LOGIN_MAX_FAILURES: '3', IDCFLOW_LOGIN_LOCKOUT_SECONDS: '60', IDCFLOW_TRUST_PROXY: 'true' });
  });
  afterAll(async () => { await throttled.close(); });

  it('locks an account after repeated failures, even for the right password', async () => {
    const u = await api.createUser('user');
    const from = { 'x-forwarded-for': '10.51.100.7' };
    for (let i = 0; i < 2; i++) {
      expectError(await throttled.call('POST', '/api/v1/auth/login', { headers: from, body: { username: u.username, password: 'bad' } }), 401, 'INVALID_CREDENTIALS');
    }
    // The failure that reaches the limit locks the account and says so.
    expectError(await throttled.call('POST', '/api/v1/auth/login', { headers: from, body: { username: u.username, password: 'bad' } }), 429, 'RATE_LIMIT_EXCEEDED');
    const locked = await throttled.call('POST', '/api/v1/auth/login', { headers: from, body: { username: u.username, password: u.password } });
    expectError(locked, 429, 'RATE_LIMIT_EXCEEDED');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    const info = await api.call('GET', `/api/v1/users/${u.id}`, { token: await api.admin() });
    expect(info.status).toBe(200);
  });

  it('counts failures per address across accounts, slowing the address rather than refusing its right passwords', async () => {
    const from = { 'x-forwarded-for': '10.51.100.99' };
    for (let i = 0; i < 13; i++) {
      expectError(await throttled.call('POST', '/api/v1/auth/login', { headers: from, body: { username: `ghost${i}`, password: 'bad' } }), 401, 'INVALID_CREDENTIALS');
    }
    const u = await api.createUser('user');
    expect((await throttled.call('POST', '/api/v1/auth/login', { headers: from, body: { username: u.username, password: u.password } })).status).toBe(200);
  });
});

describe('tokens', () => {
  it('GET /auth/me needs a token and answers the user', async () => {
    expectError(await api.call('GET', '/api/v1/auth/me'), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('GET', '/api/v1/auth/me', { token: 'not-a-token' }), 401, 'INVALID_CREDENTIALS');
    const u = await api.createUser('viewer');
    const me = await api.call('GET', '/api/v1/auth/me', { token: u.token });
    expect(me.status).toBe(200);
    expect(me.body.data).toMatchObject({ id: u.id, username: u.username, role: 'viewer', permissions: ['view', 'scheduler_view'] });
  });

  it('refuses an expired access token with TOKEN_EXPIRED', async () => {
    const shortLived = await startTestApi({ IDCFLOW_ACCESS_TOKEN_TTL: '2' });
    try {
      const { access_token } = await shortLived.login('admin', process.env.IDCFLOW_ADMIN_PASSWORD!);
      expect((await shortLived.call('GET', '/api/v1/auth/me', { token: access_token })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 3100)); // exp is whole seconds: iat + 2 has passed
      expectError(await shortLived.call('GET', '/api/v1/auth/me', { token: access_token }), 401, 'TOKEN_EXPIRED');
    } finally {
      await shortLived.close();
    }
  });

  it('refuses tokens signed with another algorithm or key', async () => {
    const u = await api.createUser('user');
    const claims = jwt.decode(u.token) as jwt.JwtPayload;
    const none = jwt.sign({ sid: claims.sid, sub: claims.sub, iss: 'idcflow', aud: 'idcflow-api' }, '', { algorithm: 'none' });
    expectError(await api.call('GET', '/api/v1/auth/me', { token: none }), 401, 'INVALID_CREDENTIALS');
    const otherKey = jwt.sign({ sid: claims.sid }, 'another-secret', { algorithm: 'HS256', subject: claims.sub, issuer: 'idcflow', audience: 'idcflow-api' });
    expectError(await api.call('GET', '/api/v1/auth/me', { token: otherKey }), 401, 'INVALID_CREDENTIALS');
  });

  it('rotates refresh tokens, and a reused one revokes the session', async () => {
    const u = await api.createUser('user');
    const first = await api.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: u.refreshToken } });
    expect(first.status).toBe(200);
    expect(first.body.data.refresh_token).not.toBe(u.refreshToken);
    const second = await api.call('POST', '/api/v1/auth/refresh', { headers: { authorization: `Bearer ${first.body.data.refresh_token}` } });
    expect(second.status).toBe(200);
    expect((await api.call('GET', '/api/v1/auth/me', { token: second.body.data.access_token })).status).toBe(200);
    // The first token again: theft is assumed and the whole session ends.
    expectError(await api.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: u.refreshToken } }), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('GET', '/api/v1/auth/me', { token: second.body.data.access_token }), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: second.body.data.refresh_token } }), 401, 'INVALID_CREDENTIALS');
  });

  it('refresh without a token, or with garbage, is refused', async () => {
    expectError(await api.call('POST', '/api/v1/auth/refresh', { body: {} }), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: 'nope' } }), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: 42 } }), 422, 'VALIDATION_ERROR');
  });

  it('logout revokes the session and its refresh token', async () => {
    const u = await api.createUser('user');
    expectError(await api.call('POST', '/api/v1/auth/logout'), 401, 'INVALID_CREDENTIALS');
    const out = await api.call('POST', '/api/v1/auth/logout', { token: u.token });
    expect(out.status).toBe(200);
    expect(out.body.data.sessions_revoked).toBe(1);
    expectError(await api.call('GET', '/api/v1/auth/me', { token: u.token }), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: u.refreshToken } }), 401, 'INVALID_CREDENTIALS');
  });
});

describe('API tokens', () => {
  it('creates a token shown once, usable as Bearer, narrowed by scopes, revocable', async () => {
    const u = await api.createUser('user');
    expectError(await api.call('POST', '/api/v1/tokens', { body: { name: 'x' } }), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('POST', '/api/v1/tokens', { token: u.token, body: { name: '', scopes: ['fly'] } }), 422, 'VALIDATION_ERROR');
    const created = await api.call('POST', '/api/v1/tokens', { token: u.token, body: { name: 'ci', scopes: ['view'], expires_in_days: 30 } });
    expect(created.status).toBe(201);
    const secret: string = created.body.data.token;
    expect(secret.startsWith('idcf_')).toBe(true);
    const list = await api.call('GET', '/api/v1/tokens', { token: u.token });
    expect(list.body.data.tokens).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain(secret);
    expect(list.body.data.tokens[0]).not.toHaveProperty('token_hash');

    const me = await api.call('GET', '/api/v1/auth/me', { token: secret });
    expect(me.body.data).toMatchObject({ username: u.username, permissions: ['view'], via: 'api_token' });

    const other = await api.createUser('user');
    expectError(await api.call('DELETE', `/api/v1/tokens/${created.body.data.id}`, { token: other.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('DELETE', '/api/v1/tokens/999999', { token: u.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('DELETE', '/api/v1/tokens/abc', { token: u.token }), 422, 'VALIDATION_ERROR');
    const revoked = await api.call('DELETE', `/api/v1/tokens/${created.body.data.id}`, { token: u.token });
    expect(revoked.status).toBe(200);
    expect(revoked.body.data.revoked_at).toBeTruthy();
    expectError(await api.call('GET', '/api/v1/auth/me', { token: secret }), 401, 'INVALID_CREDENTIALS');
  });

  it('a scoped token cannot do what its scope leaves out, even for an admin', async () => {
    const adminToken = await api.admin();
    const created = await api.call('POST', '/api/v1/tokens', { token: adminToken, body: { name: 'read-only', scopes: ['view'] } });
    expectError(await api.call('GET', '/api/v1/users', { token: created.body.data.token }), 403, 'INSUFFICIENT_PERMISSIONS');
  });

  it('an expired API token is refused with TOKEN_EXPIRED', async () => {
    const u = await api.createUser('user');
    const created = await api.call('POST', '/api/v1/tokens', { token: u.token, body: { name: 'short' } });
    await api.deps.knex('api_tokens').where({ id: created.body.data.id }).update({ expires_at: new Date(Date.now() - 1000) });
    expectError(await api.call('GET', '/api/v1/auth/me', { token: created.body.data.token }), 401, 'TOKEN_EXPIRED');
  });

  it('an admin lists another user’s tokens; a user cannot', async () => {
    const u = await api.createUser('user');
    await api.call('POST', '/api/v1/tokens', { token: u.token, body: { name: 'a' } });
    const asAdmin = await api.call('GET', `/api/v1/tokens?user_id=${u.id}`, { token: await api.admin() });
    expect(asAdmin.body.data.tokens.map((t: { name: string }) => t.name)).toEqual(['a']);
    const other = await api.createUser('user');
    const asOther = await api.call('GET', `/api/v1/tokens?user_id=${u.id}`, { token: other.token });
    expect(asOther.body.data.tokens).toEqual([]);
  });
});
