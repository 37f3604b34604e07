import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import AdmZip from 'adm-zip';
import { getWithBody } from './get-with-body';
import { startTestApi, expectError, type TestApi, type TestUser } from '../support/api';

const SERVER_TOKEN = process.env.IDCFLOW_SERVER_TOKEN ?? 'server-token-for-tests-0123456789';
let api: TestApi;
let admin: string;
let alice: TestUser;
let bob: TestUser;
let aliceApiToken: string;

beforeAll(async () => {
  api = await startTestApi({ IDCFLOW_SERVER_TOKEN: SERVER_TOKEN });
  admin = await api.admin();
  alice = await api.createUser('user');
  bob = await api.createUser('user');
  const t = await api.call('POST', '/api/v1/tokens', { token: alice.token, body: { name: 'seed004' } });
  expect(t.status).toBe(201);
  aliceApiToken = t.body.data.token;
});
afterAll(async () => { await api.close(); });
const get = (path: string, body: unknown) => getWithBody(api.url, path, body);

const profile = { nickname: '测试用户', avatar: 'avatar.jpg' };

describe('seed 004: /api/user_data', () => {
  it('the first write of a key works and reads back in the seed’s shape', async () => {
    const res = await api.call('POST', '/api/user_data', { body: { api_token: aliceApiToken, key: 'profile', value: profile } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ message: '数据更新成功', data: { id: expect.any(Number), user_id: alice.username, data_key: 'profile', data_value: profile, updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/) } });
    const all = await get('/api/user_data', { username: alice.username, api_token: aliceApiToken });
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ message: '获取成功', data: [expect.objectContaining({ user_id: alice.username, data_key: 'profile', data_value: profile, created_at: expect.any(String) })] });
    const one = await get('/api/user_data?key=profile', { api_token: aliceApiToken });
    expect(one.body.data).toMatchObject({ data_key: 'profile', data_value: profile });
  });

  it('admins and the server token act for anyone; a user only for themself', async () => {
    const byAdmin = await api.call('POST', '/api/user_data', { token: admin, body: { username: bob.username, key: 'settings', value: { theme: 'dark', notifications: true } } });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body.data).toMatchObject({ user_id: bob.username, data_key: 'settings', data_value: { theme: 'dark', notifications: true } });
    const value = { nickname: '系统更新的昵称', skills: ['Python', 'JavaScript', 'Docker'] };
    const byServer = await api.call('POST', '/api/user_data', { body: { server_token: SERVER_TOKEN, username: bob.username, key: 'profile', value } });
    expect(byServer.body.data).toMatchObject({ user_id: bob.username, data_value: value });
    const read = await get(`/api/user_data?key=profile&username=${bob.username}`, { server_token: SERVER_TOKEN });
    expect(read.body).toMatchObject({ message: '获取成功', data: { user_id: bob.username, data_value: value } });
    // Alice may not read or write Bob's data.
    const peek = await get(`/api/user_data?key=profile&username=${bob.username}`, { api_token: aliceApiToken });
    expect(peek.status).toBe(403);
    expect(peek.body).toMatchObject({ code: 'INSUFFICIENT_PERMISSIONS', error: expect.any(String) });
    expect((await api.call('POST', '/api/user_data', { body: { api_token: aliceApiToken, username: bob.username, key: 'profile', value: {} } })).status).toBe(403);
    const still = await api.call('GET', `/api/user_data?key=profile&username=${bob.username}`, { token: admin });
    expect(still.body.data.data_value).toEqual(value);
  });

  it('refuses no credential, wrong tokens, bad keys, missing keys and unknown users', async () => {
    expect((await api.call('GET', '/api/user_data')).status).toBe(401);
    expect((await api.call('POST', '/api/user_data', { body: { key: 'a', value: 1 } })).status).toBe(401);
    expect((await api.call('POST', '/api/user_data', { body: { server_token: 'wrong', username: bob.username, key: 'a', value: 1 } })).status).toBe(401);
    expect((await api.call('POST', '/api/user_data', { body: { api_token: 'idcf_nope', key: 'a', value: 1 } })).status).toBe(401);
    const bad = await api.call('POST', '/api/user_data', { body: { api_token: aliceApiToken, key: 'bad key/', value: 1 } });
    expect(bad.status).toBe(422);
    expect(bad.body.details.errors.map((e: { field: string }) => e.field)).toEqual(['key']);
    expect((await api.call('POST', '/api/user_data', { body: { api_token: aliceApiToken, key: 'novalue' } })).status).toBe(422);
    expect((await get('/api/user_data?key=never_written', { api_token: aliceApiToken })).status).toBe(404);
    expect((await api.call('GET', '/api/user_data?key=profile&username=no_such_user_zz', { token: admin })).status).toBe(404);
    expect((await api.call('POST', '/api/user_data', { body: { server_token: SERVER_TOKEN, key: 'a', value: 1 } })).status).toBe(422);
    expect((await api.call('POST', '/api/user_data', { rawBody: '{"api_token":', headers: { 'content-type': 'application/json' } })).status).toBe(400);
  });

  it('refuses a value over the size limit with 413 and keeps the old one', async () => {
    await api.call('POST', '/api/user_data', { body: { api_token: aliceApiToken, key: 'big', value: 'small' } });
    const res = await api.call('POST', '/api/user_data', { body: { api_token: aliceApiToken, key: 'big', value: 'x'.repeat(70 * 1024) } });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { field: 'value' } });
    expect((await get('/api/user_data?key=big', { api_token: aliceApiToken })).body.data.data_value).toBe('small');
  });

  it('refuses more than the per-user total', async () => {
    const u = await api.createUser('user');
    const chunk = 'y'.repeat(60 * 1024);
    let last = 0;
    for (let i = 0; i < 20 && last !== 413; i++) last = (await api.call('POST', '/api/user_data', { token: u.token, body: { key: `k${i}`, value: chunk } })).status;
    expect(last).toBe(413);
    const list = await api.call('GET', '/api/v1/user-data', { token: u.token });
    const total = list.body.data.records.reduce((n: number, r: { value: string }) => n + r.value.length, 0);
    expect(total).toBeLessThanOrEqual(1024 * 1024);
  });
});

describe('seed 004: /api/user_data/bulk', () => {
  it('adds and updates in one go with per-operation results', async () => {
    const res = await api.call('POST', '/api/user_data/bulk', { body: { api_token: aliceApiToken, operations: [
      { key: 'profile', value: { nickname: '用户1', avatar: 'avatar1.jpg' }, action: 'add' },
      { key: 'settings', value: { theme: 'light', language: 'zh' }, action: 'update' },
    ] } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ message: '批量操作完成', success_count: 2, total_count: 2, results: [
      { key: 'profile', status: 'success', data: { id: expect.any(Number), data_key: 'profile', data_value: { nickname: '用户1', avatar: 'avatar1.jpg' } } },
      { key: 'settings', status: 'success', data: { id: expect.any(Number), data_key: 'settings', data_value: { theme: 'light', language: 'zh' } } },
    ] });
  });

  it('with the server token acts for several users', async () => {
    const [u1, u2, u3] = [await api.createUser('user'), await api.createUser('user'), await api.createUser('user')];
    await api.call('POST', '/api/user_data', { token: u3.token, body: { key: 'temporary_data', value: [1] } });
    const res = await api.call('POST', '/api/user_data/bulk', { body: { server_token: SERVER_TOKEN, operations: [
      { key: 'profile', value: { nickname: '系统用户1' }, action: 'update', username: u1.username },
      { key: 'settings', value: { theme: 'dark' }, action: 'update', username: u2.username },
      { key: 'temporary_data', action: 'delete', username: u3.username },
    ] } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success_count: 3, total_count: 3, results: [
      { key: 'profile', username: u1.username, status: 'success', data: { data_value: { nickname: '系统用户1' } } },
      { key: 'settings', username: u2.username, status: 'success' },
      { key: 'temporary_data', username: u3.username, status: 'success', action: 'delete' },
    ] });
    expect((await api.call('GET', '/api/user_data?key=temporary_data', { token: u3.token })).status).toBe(404);
  });

  it('changes nothing when one operation fails (default mode), and applies the rest in partial mode', async () => {
    const u = await api.createUser('user');
    await api.call('POST', '/api/user_data', { token: u.token, body: { key: 'keep', value: 'old' } });
    const ops = [
      { key: 'keep', value: 'new', action: 'update' },
      { key: 'fresh', value: { a: 1 }, action: 'add' },
      { key: 'missing', action: 'delete' },
    ];
    const atomic = await api.call('POST', '/api/user_data/bulk', { token: u.token, body: { operations: ops } });
    expect(atomic.status).toBe(404);
    expect(atomic.body.details).toMatchObject({ success_count: 0, total_count: 3, failed_index: 2 });
    expect(atomic.body.details.results.map((r: { status: string }) => r.status)).toEqual(['skipped', 'skipped', 'error']);
    const after = await api.call('GET', '/api/v1/user-data', { token: u.token });
    expect(after.body.data.records.map((r: { key: string; value: unknown }) => [r.key, r.value])).toEqual([['keep', 'old']]);

    const tooBig = await api.call('POST', '/api/user_data/bulk', { token: u.token, body: { operations: [{ key: 'keep', value: 'x', action: 'update' }, { key: 'huge', value: 'z'.repeat(70 * 1024), action: 'add' }] } });
    expect(tooBig.status).toBe(413);
    expect((await api.call('GET', '/api/user_data?key=keep', { token: u.token })).body.data.data_value).toBe('old');

    const partial = await api.call('POST', '/api/user_data/bulk', { token: u.token, body: { operations: ops, mode: 'partial' } });
    expect(partial.status).toBe(200);
    expect(partial.body).toMatchObject({ success_count: 2, total_count: 3 });
    expect(partial.body.results.map((r: { status: string }) => r.status)).toEqual(['success', 'success', 'error']);
    expect((await api.call('GET', '/api/user_data?key=keep', { token: u.token })).body.data.data_value).toBe('new');
  });

  it('refuses another user’s operations for non-admins, all or nothing', async () => {
    const res = await api.call('POST', '/api/user_data/bulk', { body: { api_token: aliceApiToken, operations: [
      { key: 'mine', value: 1, action: 'add' },
      { key: 'profile', value: {}, action: 'update', username: bob.username },
    ] } });
    expect(res.status).toBe(403);
    expect((await get('/api/user_data?key=mine', { api_token: aliceApiToken })).status).toBe(404);
  });

  it('in partial mode, another user’s operations fail alone and leave that user’s data as it was', async () => {
    await api.call('POST', '/api/user_data', { body: { server_token: SERVER_TOKEN, username: bob.username, key: 'bank', value: { iban: 'B' } } });
    const res = await api.call('POST', '/api/user_data/bulk', { body: { api_token: aliceApiToken, mode: 'partial', operations: [
      { key: 'own', value: 1, action: 'add' },
      { key: 'bank', value: { iban: 'ATTACKER' }, action: 'update', username: bob.username },
      { key: 'bank', action: 'delete', username: bob.username.toUpperCase() },
    ] } });
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['success', 'error', 'error']);
    expect(res.body.results[1].code).toBe('INSUFFICIENT_PERMISSIONS');
    expect((await api.call('GET', '/api/user_data?key=bank', { token: bob.token })).body.data.data_value).toEqual({ iban: 'B' });
    expect((await api.call('GET', '/api/v1/user-data', { token: alice.token })).body.data.records.map((r: { username: string }) => r.username)).not.toContain(bob.username);
  });

  it('deletes in bulk', async () => {
    const u = await api.createUser('user');
    for (const key of ['temporary_data', 'cache']) await api.call('POST', '/api/user_data', { token: u.token, body: { key, value: 1 } });
    const res = await api.call('DELETE', '/api/user_data/bulk', { token: u.token, body: { operations: [{ key: 'temporary_data', action: 'delete' }, { key: 'cache', action: 'delete' }] } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ message: '批量删除完成', success_count: 2, total_count: 2, deleted_keys: ['temporary_data', 'cache'] });
    expect((await api.call('GET', '/api/v1/user-data', { token: u.token })).body.data.records).toEqual([]);
  });

  it('refuses bad input and no credential', async () => {
    expect((await api.call('POST', '/api/user_data/bulk', { body: { operations: [] } })).status).toBe(401);
    expect((await api.call('DELETE', '/api/user_data/bulk', { body: { operations: [{ key: 'a' }] } })).status).toBe(401);
    const empty = await api.call('POST', '/api/user_data/bulk', { token: alice.token, body: { operations: [] } });
    expect(empty.status).toBe(422);
    const badAction = await api.call('POST', '/api/user_data/bulk', { token: alice.token, body: { operations: [{ key: 'a', action: 'explode' }] } });
    expect(badAction.body.details.errors.map((e: { field: string }) => e.field)).toEqual(['operations.0.action']);
    const noValue = await api.call('POST', '/api/user_data/bulk', { token: alice.token, body: { operations: [{ key: 'a', action: 'add' }] } });
    expect(noValue.status).toBe(422);
    expect((await api.call('POST', '/api/user_data/bulk', { token: alice.token, body: { operations: Array.from({ length: 101 }, (_, i) => ({ key: `k${i}`, action: 'delete' })) } })).status).toBe(422);
  });
});

describe('/api/v1/user-data', () => {
  it('reads and writes with ETags; a stale If-Match is a 412', async () => {
    const key = `doc-${crypto.randomBytes(3).toString('hex')}`;
    const created = await api.call('PUT', `/api/v1/user-data/${key}`, { token: alice.token, body: { value: { n: 1 } }, headers: { 'if-none-match': '*' } });
    expect(created.status).toBe(201);
    expect(created.headers.get('etag')).toBe('"v1"');
    expect(created.body.data).toMatchObject({ key, value: { n: 1 }, version: 1, etag: '"v1"', user_id: alice.id });
    expectError(await api.call('PUT', `/api/v1/user-data/${key}`, { token: alice.token, body: { value: {} }, headers: { 'if-none-match': '*' } }), 412, 'PRECONDITION_FAILED');
    const read = await api.call('GET', `/api/v1/user-data/${key}`, { token: alice.token });
    expect(read.headers.get('etag')).toBe('"v1"');
    const v2 = await api.call('PUT', `/api/v1/user-data/${key}`, { token: alice.token, body: { value: { n: 2 } }, headers: { 'if-match': '"v1"' } });
    expect(v2.status).toBe(200);
    expect(v2.headers.get('etag')).toBe('"v2"');
    expectError(await api.call('PUT', `/api/v1/user-data/${key}`, { token: alice.token, body: { value: { n: 3 } }, headers: { 'if-match': '"v1"' } }), 412, 'PRECONDITION_FAILED');
    expectError(await api.call('DELETE', `/api/v1/user-data/${key}`, { token: alice.token, headers: { 'if-match': '"v1"' } }), 412, 'PRECONDITION_FAILED');
    expect((await api.call('GET', `/api/v1/user-data/${key}`, { token: alice.token })).body.data.value).toEqual({ n: 2 });
    expect((await api.call('DELETE', `/api/v1/user-data/${key}`, { token: alice.token, headers: { 'if-match': '"v2"' } })).status).toBe(200);
    expectError(await api.call('GET', `/api/v1/user-data/${key}`, { token: alice.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('DELETE', `/api/v1/user-data/${key}`, { token: alice.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('PUT', `/api/v1/user-data/${key}`, { token: alice.token, body: { value: 1 }, headers: { 'if-match': '*' } }), 412, 'PRECONDITION_FAILED');
  });

  it('concurrent If-Match writes: exactly one wins', async () => {
    const key = 'counter';
    await api.call('PUT', `/api/v1/user-data/${key}`, { token: alice.token, body: { value: 0 } });
    const etag = (await api.call('GET', `/api/v1/user-data/${key}`, { token: alice.token })).headers.get('etag')!;
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) =>
      api.call('PUT', `/api/v1/user-data/${key}`, { token: alice.token, body: { value: i + 1 }, headers: { 'if-match': etag } })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 412, 412, 412, 412, 412, 412, 412]);
    const winner = answers.find((a) => a.status === 200)!;
    const now = await api.call('GET', `/api/v1/user-data/${key}`, { token: alice.token });
    expect(now.body.data.value).toBe(winner.body.data.value);
    expect(now.body.data.version).toBe(Number(etag.slice(2, -1)) + 1);
  });

  it('another user’s records do not exist for non-admins; admins reach them by user_id', async () => {
    await api.call('PUT', '/api/v1/user-data/secret', { token: bob.token, body: { value: 's' } });
    expectError(await api.call('GET', `/api/v1/user-data/secret?user_id=${bob.id}`, { token: alice.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('PUT', `/api/v1/user-data/secret?user_id=${bob.id}`, { token: alice.token, body: { value: 'x' } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('DELETE', `/api/v1/user-data/secret?user_id=${bob.id}`, { token: alice.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', `/api/v1/user-data?user_id=${bob.id}`, { token: alice.token }), 404, 'RESOURCE_NOT_FOUND');
    expect((await api.call('GET', `/api/v1/user-data/secret?user_id=${bob.id}`, { token: admin })).body.data.value).toBe('s');
    expectError(await api.call('GET', '/api/v1/user-data/secret?user_id=999999', { token: admin }), 404, 'RESOURCE_NOT_FOUND');
  });

  it('refuses bad input, no token, viewers writing, oversized values', async () => {
    expectError(await api.call('GET', '/api/v1/user-data'), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('PUT', '/api/v1/user-data/a', { body: { value: 1 } }), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('PUT', '/api/v1/user-data/bad%20key', { token: alice.token, body: { value: 1 } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('PUT', '/api/v1/user-data/a', { token: alice.token, body: {} }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('GET', '/api/v1/user-data?user_id=abc', { token: alice.token }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('PUT', '/api/v1/user-data/big', { token: alice.token, body: { value: 'x'.repeat(70 * 1024) } }), 413, 'PAYLOAD_TOO_LARGE');
    expectError(await api.call('PUT', '/api/v1/user-data/nul', { token: alice.token, body: { value: 'a\u0000b' } }), 422, 'VALIDATION_ERROR');
    const viewer = await api.createUser('viewer');
    expectError(await api.call('PUT', '/api/v1/user-data/a', { token: viewer.token, body: { value: 1 } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expect((await api.call('GET', '/api/v1/user-data', { token: viewer.token })).status).toBe(200);
    const bulk = await api.call('POST', '/api/v1/user-data/bulk', { token: alice.token, body: { operations: [{ key: 'n1', value: 1, action: 'add' }] } });
    expect(bulk.body.data).toMatchObject({ success_count: 1, total_count: 1 });
    expectError(await api.call('POST', '/api/v1/user-data/bulk', { token: alice.token, body: { operations: [{ key: 'n1', action: 'delete' }, { key: 'n2', action: 'delete' }] } }), 404, 'RESOURCE_NOT_FOUND');
    expect((await api.call('GET', '/api/v1/user-data/n1', { token: alice.token })).status).toBe(200);
  });
});

describe('deleting a user', () => {
  it('keeps their records in the backup', async () => {
    const u = await api.createUser('user');
    await api.call('PUT', '/api/v1/user-data/profile', { token: u.token, body: { value: { nickname: 'gone' } } });
    const res = await api.call('DELETE', `/api/v1/users/${u.id}?backup_data=true`, { token: admin });
    expect(res.status).toBe(200);
    const zip = new AdmZip(fs.readFileSync(path.join(process.env.IDCFLOW_DATA_DIR!, res.body.data.backup_file)));
    expect(JSON.parse(zip.readAsText('user_data.json'))).toEqual([expect.objectContaining({ key: 'profile', value: { nickname: 'gone' }, version: 1 })]);
    expect(JSON.parse(zip.readAsText('oauth.json'))).toEqual({ clients: [], consents: [] });
    expectError(await api.call('GET', '/api/v1/user-data', { token: u.token }), 401, 'INVALID_CREDENTIALS');
  });
});
