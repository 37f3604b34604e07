import { startTestApi, expectError, type TestApi } from '../support/api';

let api: TestApi;
let admin: string;
beforeAll(async () => { api = await startTestApi(); admin = await api.admin(); });
afterAll(async () => { await api.close(); });

describe('GET /api/v1/users', () => {
  it('lists with pagination, search and role filter, without password hashes', async () => {
    const a = await api.createUser('manager');
    await api.createUser('viewer');
    const page = await api.call('GET', '/api/v1/users?page=1&size=2', { token: admin });
    expect(page.status).toBe(200);
    expect(page.body.data.users).toHaveLength(2);
    expect(page.body.data.pagination).toMatchObject({ page: 1, size: 2 });
    expect(page.body.data.pagination.total).toBeGreaterThanOrEqual(3);
    expect(page.body.data.pagination.pages).toBe(Math.ceil(page.body.data.pagination.total / 2));
    expect(page.text).not.toMatch(/password|argon2/);
    const found = await api.call('GET', `/api/v1/users?search=${a.username}`, { token: admin });
    expect(found.body.data.users.map((u: { username: string }) => u.username)).toEqual([a.username]);
    const managers = await api.call('GET', '/api/v1/users?role=manager&size=100', { token: admin });
    expect(managers.body.data.users.every((u: { role: string }) => u.role === 'manager')).toBe(true);
    expect(managers.body.data.users.some((u: { id: number }) => u.id === a.id)).toBe(true);
  });

  it('refuses bad paging, no token and non-admins', async () => {
    expectError(await api.call('GET', '/api/v1/users?size=500', { token: admin }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('GET', '/api/v1/users?role=king', { token: admin }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('GET', '/api/v1/users'), 401, 'INVALID_CREDENTIALS');
    const manager = await api.createUser('manager');
    expectError(await api.call('GET', '/api/v1/users', { token: manager.token }), 403, 'INSUFFICIENT_PERMISSIONS');
  });
});

describe('POST /api/v1/users', () => {
  it('creates a user who can sign in', async () => {
    const res = await api.call('POST', '/api/v1/users', { token: admin, body: { username: 'carol_new', email: 'carol@example.test', password: 'carol-password', full_name: 'Carol', role: 'viewer' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ success: true, message: 'User created', data: { username: 'carol_new', role: 'viewer', is_active: true, email_verified: false } });
    expect(res.body.data).not.toHaveProperty('password_hash');
    expect((await api.login('carol_new', 'carol-password')).access_token).toBeTruthy();
  });

  it('stores the password as an argon2id hash with the documented parameters, on creation and on every reset', async () => {
    const argon2 = await import('argon2');
    // PHC string: $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes> (in any order)$<16-byte salt>$<32-byte hash>, unpadded base64.
    const phc = { asymmetricMatch: (hash: string) => {
      const m = /^\$argon2id\$v=19\$([a-z]=\d+(?:,[a-z]=\d+)*)\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/.exec(hash);
      return Boolean(m) && JSON.stringify(Object.fromEntries(m![1].split(',').map((kv) => kv.split('=')).sort())) === JSON.stringify({ m: '65536', p: '4', t: '3' });
    }, toString: () => 'an argon2id v19 hash with m=65536, t=3, p=4' };
    const u = await api.createUser('user');
    const stored = async () => (await api.deps.knex('users').where({ id: u.id }).first('password_hash')).password_hash as string;
    const created = await stored();
    expect(created).toEqual(phc);
    expect(await argon2.verify(created, u.password)).toBe(true);
    expect(await argon2.verify(created, `${u.password}x`)).toBe(false);
    expect((await api.call('POST', `/api/v1/users/${u.id}/reset-password`, { token: admin, body: { new_password: 'reset-password-1' } })).status).toBe(200);
    const reset = await stored();
    expect(reset).toEqual(phc);
    expect(reset).not.toBe(created);
    expect(await argon2.verify(reset, 'reset-password-1')).toBe(true);
    // The first admin too (created at start-up, not through the API).
    expect((await api.deps.knex('users').where({ username: 'admin' }).first('password_hash')).password_hash).toEqual(phc);
  });

  it('names every bad field and creates nothing', async () => {
    const res = await api.call('POST', '/api/v1/users', { token: admin, body: { username: 'a b', email: 'not-mail', password: 'short', role: 'king' } });
    expectError(res, 422, 'VALIDATION_ERROR');
    expect(res.body.error.details.errors.map((e: { field: string }) => e.field).sort()).toEqual(['email', 'password', 'role', 'username']);
    const list = await api.call('GET', '/api/v1/users?search=a%20b', { token: admin });
    expect(list.body.data.users).toEqual([]);
  });

  it('refuses a taken username with CONFLICT, case-insensitively', async () => {
    const u = await api.createUser('user');
    expectError(await api.call('POST', '/api/v1/users', { token: admin, body: { username: u.username.toUpperCase(), email: 'x@example.test', password: 'long-enough' } }), 409, 'CONFLICT');
  });

  it('is for admins only', async () => {
    const u = await api.createUser('user');
    expectError(await api.call('POST', '/api/v1/users', { token: u.token, body: { username: 'zed_1', email: 'z@example.test', password: 'long-enough' } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('POST', '/api/v1/users', { body: {} }), 401, 'INVALID_CREDENTIALS');
  });
});

describe('GET/PUT /api/v1/users/:id', () => {
  it('a user reads and edits themselves but not others, nor their own role', async () => {
    const u = await api.createUser('user');
    const other = await api.createUser('user');
    const me = await api.call('GET', `/api/v1/users/${u.id}`, { token: u.token });
    expect(me.body.data).toMatchObject({ id: u.id, username: u.username, permissions: ['view', 'create', 'update', 'delete'] });
    expectError(await api.call('GET', `/api/v1/users/${other.id}`, { token: u.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('PUT', `/api/v1/users/${other.id}`, { token: u.token, body: { full_name: 'hacked' } }), 404, 'RESOURCE_NOT_FOUND');
    const edited = await api.call('PUT', `/api/v1/users/${u.id}`, { token: u.token, body: { full_name: 'Me Myself', email: 'me@example.test' } });
    expect(edited.status).toBe(200);
    expect(edited.body.data).toMatchObject({ full_name: 'Me Myself', email: 'me@example.test' });
    expectError(await api.call('PUT', `/api/v1/users/${u.id}`, { token: u.token, body: { role: 'admin' } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expect((await api.call('GET', `/api/v1/users/${u.id}`, { token: u.token })).body.data.role).toBe('user');
  });

  it('an admin changes role and status; unknown fields and ids are refused', async () => {
    const u = await api.createUser('user');
    const res = await api.call('PUT', `/api/v1/users/${u.id}`, { token: admin, body: { role: 'manager', is_active: true } });
    expect(res.body.data.role).toBe('manager');
    expect((await api.call('GET', '/api/v1/auth/me', { token: u.token })).body.data.permissions).toContain('scheduler_manage');
    expectError(await api.call('PUT', `/api/v1/users/${u.id}`, { token: admin, body: { password_hash: 'x' } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('GET', '/api/v1/users/999999', { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', '/api/v1/users/abc', { token: admin }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('PUT', '/api/v1/users/999999', { token: admin, body: { full_name: 'x' } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', `/api/v1/users/${u.id}`), 401, 'INVALID_CREDENTIALS');
  });

  it('the last active admin cannot demote itself', async () => {
    const me = await api.call('GET', '/api/v1/auth/me', { token: admin });
    const others = await api.deps.knex('users').where({ role: 'admin', is_active: true }).whereNull('deleted_at').whereNot('id', me.body.data.id).count('* as c');
    if (Number(others[0].c) > 0) await api.deps.knex('users').where({ role: 'admin' }).whereNot('id', me.body.data.id).update({ role: 'manager' });
    expectError(await api.call('PUT', `/api/v1/users/${me.body.data.id}`, { token: admin, body: { role: 'user' } }), 409, 'CONFLICT');
    expect((await api.call('GET', '/api/v1/auth/me', { token: admin })).body.data.role).toBe('admin');
  });
});

describe('POST /api/v1/users/:id/reset-password', () => {
  it('an admin resets anyone’s password; other sessions of that user end', async () => {
    const u = await api.createUser('user');
    const res = await api.call('POST', `/api/v1/users/${u.id}/reset-password`, { token: admin, body: { new_password: 'brand-new-password' } });
    expect(res.status).toBe(200);
    expect(res.body.message).toBe('Password reset');
    expectError(await api.call('GET', '/api/v1/auth/me', { token: u.token }), 401, 'INVALID_CREDENTIALS');
    await expect(api.login(u.username, u.password)).rejects.toThrow();
    expect((await api.login(u.username, 'brand-new-password')).access_token).toBeTruthy();
  });

  it('a user changes their own with the current password only; not others’', async () => {
    const u = await api.createUser('user');
    const other = await api.createUser('user');
    expectError(await api.call('POST', `/api/v1/users/${u.id}/reset-password`, { token: u.token, body: { new_password: 'another-password' } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', `/api/v1/users/${u.id}/reset-password`, { token: u.token, body: { new_password: 'another-password', current_password: 'not-it' } }), 401, 'INVALID_CREDENTIALS');
    expect((await api.call('POST', `/api/v1/users/${u.id}/reset-password`, { token: u.token, body: { new_password: 'another-password', current_password: u.password } })).status).toBe(200);
    expect((await api.call('GET', '/api/v1/auth/me', { token: u.token })).status).toBe(200);
    expectError(await api.call('POST', `/api/v1/users/${other.id}/reset-password`, { token: u.token, body: { new_password: 'another-password', current_password: u.password } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', `/api/v1/users/${u.id}/reset-password`, { token: u.token, body: { new_password: 'short' } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', '/api/v1/users/999999/reset-password', { token: admin, body: { new_password: 'long-enough-1' } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', `/api/v1/users/${u.id}/reset-password`, { body: { new_password: 'long-enough-1' } }), 401, 'INVALID_CREDENTIALS');
  });
});

describe('POST /api/v1/users/:id/toggle-status and GET /users/stats', () => {
  it('disables and re-enables; counts follow', async () => {
    const u = await api.createUser('viewer');
    const before = (await api.call('GET', '/api/v1/users/stats', { token: admin })).body.data;
    const off = await api.call('POST', `/api/v1/users/${u.id}/toggle-status`, { token: admin });
    expect(off.body.data.is_active).toBe(false);
    const mid = (await api.call('GET', '/api/v1/users/stats', { token: admin })).body.data;
    expect(mid.inactive_users).toBe(before.inactive_users + 1);
    expect(mid.by_role.viewer).toBe(before.by_role.viewer);
    const on = await api.call('POST', `/api/v1/users/${u.id}/toggle-status`, { token: admin });
    expect(on.body.data.is_active).toBe(true);
  });

  it('refuses self, non-admins, missing users', async () => {
    const me = await api.call('GET', '/api/v1/auth/me', { token: admin });
    expectError(await api.call('POST', `/api/v1/users/${me.body.data.id}/toggle-status`, { token: admin }), 409, 'CONFLICT');
    const u = await api.createUser('user');
    expectError(await api.call('POST', `/api/v1/users/${u.id}/toggle-status`, { token: u.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('POST', '/api/v1/users/999999/toggle-status', { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', '/api/v1/users/stats', { token: u.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('GET', '/api/v1/users/stats'), 401, 'INVALID_CREDENTIALS');
  });
});
