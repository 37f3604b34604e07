import crypto from 'node:crypto';
import { createKnex } from '../../db/knex';
import { migrateLatest } from '../../db/migrate';
import * as migration from '../../db/migrations/034_oauth';
import { startTestApi, expectError, type TestApi, type TestUser } from '../support/api';

const SERVER_TOKEN = 'server-token-for-tests-0123456789';
let api: TestApi;
let admin: string;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  api = await startTestApi({ IDCFLOW_SERVER_TOKEN: SERVER_TOKEN });
  admin = await api.admin();
  alice = await api.createUser('user');
  bob = await api.createUser('user');
});
afterAll(async () => { await api.close(); });

const seedClient = {
  name: '测试应用',
  description: '这是一个测试应用',
  redirect_uris: ['https://app.example.com/callback', 'https://app.example.com/callback2'],
  allowed_grant_types: ['authorization_code', 'refresh_token'],
  scopes: ['read', 'write', 'profile'],
  logo_url: 'https://example.com/logo.png',
};

describe('seed 004: /api/oauth/clients', () => {
  it('creates a client with a secret shown once and stored hashed', async () => {
    const res = await api.call('POST', '/api/oauth/clients', { token: alice.token, body: seedClient });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ message: 'OAuth客户端创建成功', client: {
      client_id: expect.stringMatching(/^[A-Za-z0-9_-]{24}$/), client_secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), name: '测试应用',
      redirect_uris: seedClient.redirect_uris, client_type: 'confidential', is_trusted: false, created_at: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
    } });
    const { client_id: clientId, client_secret: secret } = res.body.client;
    const row = await api.deps.knex('oauth_clients').where({ client_id: clientId }).first();
    expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(secret);
    const read = await api.call('GET', `/api/v1/oauth/clients/${clientId}`, { token: alice.token });
    expect(read.body.data).toMatchObject({ client_id: clientId, name: '测试应用', owner_id: alice.id, scopes: ['read', 'write', 'profile'] });
    expect(read.text).not.toContain(secret);
    expect((await api.call('GET', '/api/v1/oauth/clients', { token: alice.token })).body.data.clients.map((c: { client_id: string }) => c.client_id)).toContain(clientId);
  });

  it('with the server token creates a trusted client, and updates it as the seed shows', async () => {
    const res = await api.call('POST', '/api/oauth/clients', { body: {
      server_token: SERVER_TOKEN, name: '企业门户系统', description: '公司内部门户系统', redirect_uris: ['https://portal.company.com/oauth/callback'],
      allowed_grant_types: ['authorization_code', 'client_credentials'], scopes: ['read', 'write', 'admin'], logo_url: 'https://company.com/logo.png', is_trusted: true,
    } });
    expect(res.status).toBe(201);
    expect(res.body.client).toMatchObject({ name: '企业门户系统', is_trusted: true, client_secret: expect.any(String) });
    const upd = await api.call('PUT', '/api/oauth/clients', { body: { server_token: SERVER_TOKEN, client_id: res.body.client.client_id, name: '企业应用 - 新版', is_active: true, scopes: ['read', 'write', 'admin'], is_trusted: true, rate_limit: 5000 } });
    expect(upd.status).toBe(200);
    expect(upd.body).toEqual({ message: 'OAuth客户端更新成功', client: {
      client_id: res.body.client.client_id, name: '企业应用 - 新版', redirect_uris: ['https://portal.company.com/oauth/callback'], is_active: true, is_trusted: true,
      scopes: ['read', 'write', 'admin'], allowed_grant_types: ['authorization_code', 'client_credentials'], rate_limit: 5000, updated_at: expect.any(String),
    } });
  });

  it('updates your own client; another user’s does not exist for you', async () => {
    const created = (await api.call('POST', '/api/oauth/clients', { token: alice.token, body: seedClient })).body.client;
    const upd = await api.call('PUT', '/api/oauth/clients', { token: alice.token, body: { client_id: created.client_id, name: '更新后的应用名称', redirect_uris: ['https://new.example.com/callback'], allowed_grant_types: ['authorization_code'], scopes: ['read', 'profile'] } });
    expect(upd.body.client).toMatchObject({ name: '更新后的应用名称', redirect_uris: ['https://new.example.com/callback'] });
    expect((await api.call('PUT', '/api/oauth/clients', { token: bob.token, body: { client_id: created.client_id, name: 'mine now' } })).status).toBe(404);
    expectError(await api.call('GET', `/api/v1/oauth/clients/${created.client_id}`, { token: bob.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('PATCH', `/api/v1/oauth/clients/${created.client_id}`, { token: bob.token, body: { name: 'x' } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('DELETE', `/api/v1/oauth/clients/${created.client_id}`, { token: bob.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', `/api/v1/oauth/clients/${created.client_id}/secret`, { token: bob.token }), 404, 'RESOURCE_NOT_FOUND');
    expect((await api.call('GET', '/api/v1/oauth/clients', { token: bob.token })).body.data.clients).toEqual([]);
    expect((await api.call('GET', `/api/v1/oauth/clients/${created.client_id}`, { token: admin })).status).toBe(200);
    expect((await api.call('DELETE', `/api/v1/oauth/clients/${created.client_id}`, { token: alice.token })).status).toBe(200);
    expectError(await api.call('GET', `/api/v1/oauth/clients/${created.client_id}`, { token: alice.token }), 404, 'RESOURCE_NOT_FOUND');
    expect((await api.call('PUT', '/api/oauth/clients', { token: alice.token, body: { client_id: created.client_id, name: 'x' } })).status).toBe(404);
  });

  it('refuses redirect URIs that are not absolute https (http only for loopback) or carry a fragment', async () => {
    const bad = await api.call('POST', '/api/oauth/clients', { token: alice.token, body: { ...seedClient, redirect_uris: ['http://app.example.com/cb', 'https://app.example.com/cb#frag', '/relative', 'javascript:alert(1)', 'https://user:pw@app.example.com/cb'] } });
    expect(bad.status).toBe(422);
    expect(bad.body.details.errors.map((e: { field: string }) => e.field)).toEqual(['redirect_uris.0', 'redirect_uris.1', 'redirect_uris.2', 'redirect_uris.3', 'redirect_uris.4']);
    for (const ok of ['http://127.0.0.1:8080/cb', 'http://localhost/cb', 'http://[::1]:9/cb', 'https://app.example.com/cb?x=1']) {
      expect((await api.call('POST', '/api/oauth/clients', { token: alice.token, body: { ...seedClient, redirect_uris: [ok] } })).status).toBe(201);
    }
  });

  it('checks grant types and scopes against what the platform offers', async () => {
    const unknown = await api.call('POST', '/api/oauth/clients', { token: alice.token, body: { ...seedClient, allowed_grant_types: ['implicit', 'password'], scopes: ['system'] } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.details.errors.map((e: { field: string }) => e.field)).toEqual(['allowed_grant_types.0', 'allowed_grant_types.1', 'scopes.0']);
    const rules = [
      [{ redirect_uris: [] }, 'redirect_uris'],
      [{ allowed_grant_types: ['refresh_token'] }, 'allowed_grant_types'],
      [{ allowed_grant_types: ['client_credentials'], client_type: 'public' }, 'allowed_grant_types'],
      [{ scopes: ['admin'] }, 'scopes'],
      [{ is_trusted: true }, 'is_trusted'],
    ] as const;
    for (const [patch, field] of rules) {
      const res = await api.call('POST', '/api/oauth/clients', { token: alice.token, body: { ...seedClient, ...patch } });
      expect({ status: res.status, fields: res.body.details?.errors?.map((e: { field: string }) => e.field) }).toEqual({ status: 422, fields: [field] });
    }
    const created = (await api.call('POST', '/api/oauth/clients', { token: alice.token, body: seedClient })).body.client;
    expectError(await api.call('PATCH', `/api/v1/oauth/clients/${created.client_id}`, { token: alice.token, body: { is_trusted: true } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('PATCH', `/api/v1/oauth/clients/${created.client_id}`, { token: alice.token, body: { redirect_uris: [] } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('PATCH', `/api/v1/oauth/clients/${created.client_id}`, { token: alice.token, body: { name: '' } }), 422, 'VALIDATION_ERROR');
  });

  it('refuses no credential, a wrong token, viewers, bad and missing ids', async () => {
    expect((await api.call('POST', '/api/oauth/clients', { body: seedClient })).status).toBe(401);
    expect((await api.call('PUT', '/api/oauth/clients', { body: { client_id: 'abcdefghij', name: 'x' } })).status).toBe(401);
    expect((await api.call('POST', '/api/oauth/clients', { body: { ...seedClient, server_token: 'wrong' } })).status).toBe(401);
    const viewer = await api.createUser('viewer');
    expect((await api.call('POST', '/api/oauth/clients', { token: viewer.token, body: seedClient })).status).toBe(403);
    expect((await api.call('PUT', '/api/oauth/clients', { token: alice.token, body: { name: 'x' } })).status).toBe(422);
    expect((await api.call('PUT', '/api/oauth/clients', { token: alice.token, body: { client_id: 'no-such-client-id', name: 'x' } })).status).toBe(404);
    expectError(await api.call('GET', '/api/v1/oauth/clients/bad!id', { token: alice.token }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('GET', '/api/v1/oauth/clients'), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('POST', '/api/v1/oauth/clients', { token: alice.token, body: { name: 'x', redirect_uris: 'https://a.example/cb' } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('GET', '/api/v1/oauth/consents'), 401, 'INVALID_CREDENTIALS');
    const pub = (await api.call('POST', '/api/v1/oauth/clients', { token: alice.token, body: { name: 'spa', redirect_uris: ['https://spa.example/cb'], client_type: 'public' } })).body.data;
    expectError(await api.call('POST', `/api/v1/oauth/clients/${pub.client_id}/secret`, { token: alice.token }), 409, 'CONFLICT');
  });
});

describe('issue 22: every OAuth client has an owner', () => {
  it('a client registered with the server token belongs to an admin; a user never sees it', async () => {
    const res = await api.call('POST', '/api/oauth/clients', { body: { server_token: SERVER_TOKEN, name: 'portal', redirect_uris: ['https://portal.example/cb'] } });
    expect(res.status).toBe(201);
    const clientId = res.body.client.client_id;
    const row = await api.deps.knex('oauth_clients').where({ client_id: clientId }).first();
    const owner = await api.deps.knex('users').where({ id: row.owner_id }).first();
    expect(owner.role).toBe('admin');
    expectError(await api.call('GET', `/api/v1/oauth/clients/${clientId}`, { token: bob.token }), 404, 'RESOURCE_NOT_FOUND');
    expect((await api.call('GET', '/api/v1/oauth/clients', { token: bob.token })).body.data.clients.map((c: { client_id: string }) => c.client_id)).not.toContain(clientId);
    expect((await api.call('GET', `/api/v1/oauth/clients/${clientId}`, { token: admin })).body.data.owner_id).toBe(owner.id);
  });

  it('owner_id cannot be null, and a deleted owner takes their clients along', async () => {
    const carol = await api.createUser('user');
    const created = (await api.call('POST', '/api/v1/oauth/clients', { token: carol.token, body: { name: 'c', redirect_uris: ['https://c.example/cb'] } })).body.data;
    await expect(api.deps.knex('oauth_clients').where({ client_id: created.client_id }).update({ owner_id: null })).rejects.toThrow(/null/);
    const del = await api.call('DELETE', `/api/v1/users/${carol.id}?permanent=true`, { token: admin });
    expect([200, 202]).toContain(del.status);
    if (del.status === 202) await api.call('GET', `/api/v1/operations/${del.body.data.operation.id}/wait?timeout=30`, { token: admin });
    const user = await api.deps.knex('users').where({ id: carol.id }).first();
    if (!user) expect(await api.deps.knex('oauth_clients').where({ client_id: created.client_id }).first()).toBeUndefined();
  });
});

describe('migration 034 keeps existing OAuth rows working', () => {
  it('gives ownerless clients to the oldest admin and re-keys live tokens by their sha256, dropping expired ones', async () => {
    const main = createKnex(process.env.DATABASE_URL!, 1);
    const database = `mig034_${crypto.randomBytes(4).toString('hex')}`;
    await main.raw(`CREATE DATABASE ${database}`);
    await main.destroy();
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = `/${database}`;
    const db = createKnex(url.toString(), 1);
    try {
      await migrateLatest(db);
      // The state before 034: ownerless clients allowed, tokens stored under their own id with jti in the payload.
      await migration.down(db);
      await db('knex_migrations').where({ name: '034_oauth' }).delete();
      const [adminRow] = await db('users').insert({ username: 'boss', email: 'boss@example.test', password_hash: 'x', role: 'admin' }).returning('id');
      await db('oauth_clients').insert({ client_id: 'legacy-client-1', name: 'legacy', owner_id: null });
      const live = 'L'.repeat(43);
      const expired = 'E'.repeat(43);
      const future = new Date(Date.now() + 3600_000);
      await db('oauth_payloads').insert([
        { kind: 'AccessToken', id: live, payload: JSON.stringify({ jti: live, kind: 'AccessToken', clientId: 'legacy-client-1', accountId: '1' }), expires_at: future },
        { kind: 'RefreshToken', id: expired, payload: JSON.stringify({ jti: expired, kind: 'RefreshToken' }), expires_at: new Date(Date.now() - 1000) },
        { kind: 'Grant', id: 'grant-1', payload: JSON.stringify({ jti: 'grant-1', kind: 'Grant' }), expires_at: future },
      ]);
      await migrateLatest(db);
      expect((await db('oauth_clients').where({ client_id: 'legacy-client-1' }).first()).owner_id).toBe(adminRow.id);
      const rows = await db('oauth_payloads').orderBy('kind').select('kind', 'id', 'payload');
      const sha = (t: string) => crypto.createHash('sha256').update(t).digest('hex');
      expect(rows).toEqual([
        { kind: 'AccessToken', id: sha(live), payload: { kind: 'AccessToken', clientId: 'legacy-client-1', accountId: '1' } },
        { kind: 'Grant', id: 'grant-1', payload: { jti: 'grant-1', kind: 'Grant' } },
      ]);
      expect(JSON.stringify(rows)).not.toContain(live);
    } finally {
      await db.destroy();
    }
  });
});
