import crypto from 'node:crypto';
import { startTestApi, expectError, type TestApi, type TestUser } from '../support/api';

let api: TestApi;
let admin: string;
let manager: TestUser;
let user: TestUser;
let other: TestUser;
beforeAll(async () => {
  api = await startTestApi({ IDCFLOW_QUOTA_IPV6_ALLOCATIONS: '100' });
  admin = await api.admin();
  [manager, user, other] = await Promise.all([api.createUser('manager'), api.createUser('user'), api.createUser('user')]);
});
afterAll(async () => { await api.close(); });

/** A ULA /32 of its own for each pool, so pools of concurrent test files never overlap. */
const ula32 = () => { const b = crypto.randomBytes(3).toString('hex'); return `fd${b.slice(0, 2)}:${b.slice(2)}::/32`; };
const uniq = (p: string) => `${p}-${crypto.randomBytes(4).toString('hex')}`;

async function pool(body: Record<string, unknown>, token = admin) {
  const res = await api.call('POST', '/api/v1/ipv6/pools', { token, body: { name: uniq('pool'), open_to_customers: true, ...body } });
  if (res.status !== 201) throw new Error(`pool: ${res.status} ${res.text}`);
  return res.body.data;
}

describe('IPv6 prefix pools', () => {
  it('a /32 pool of /64s reports exactly 4294967296 prefixes, in the seed\'s shape', async () => {
    const res = await api.call('POST', '/api/v1/ipv6/pools', { token: manager.token, body: { name: uniq('p32'), prefix: '2001:db8::/32', prefix_length: 64, description: 'big' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ success: true, message: 'IPv6前缀池创建成功' });
    expect(res.body.data).toMatchObject({ prefix: '2001:db8::/32', prefix_length: 64, total_prefixes: 4294967296, allocated_prefixes: 0, available_prefixes: 4294967296, status: 'active' });
    const listed = await api.call('GET', '/api/v1/ipv6/pools?size=100', { token: admin });
    expect(listed.body.data.pools.find((p: { id: number }) => p.id === res.body.data.id)).toMatchObject({ total_prefixes: 4294967296 });
    expect(listed.body.data.pagination).toMatchObject({ page: 1, size: 100 });
    // A /48 of /56s: 256; of /64s: 65536 (the seed's example).
    expect((await pool({ prefix: `${ula32().replace('::/32', ':1::/48')}`, prefix_length: 56 })).total_prefixes).toBe(256);
  });

  it('refuses overlapping pools (database exclusion constraint) and bad prefixes, naming the field', async () => {
    const p = ula32();
    await pool({ prefix: p, prefix_length: 48 });
    const inner = p.replace('::/32', ':ff00::/40');
    const overlap = await api.call('POST', '/api/v1/ipv6/pools', { token: admin, body: { name: uniq('o'), prefix: inner, prefix_length: 64 } });
    expectError(overlap, 409, 'CONFLICT');
    expect(overlap.body.error.details.field).toBe('prefix');
    for (const [body, fieldName] of [
      [{ prefix: '2001:db8::1/64', prefix_length: 64 }, 'prefix'], // host bits set
      [{ prefix: '10.0.0.0/8', prefix_length: 24 }, 'prefix'],
      [{ prefix: 'nonsense', prefix_length: 64 }, 'prefix'],
      [{ prefix: '2001:db8::/129', prefix_length: 64 }, 'prefix'],
      [{ prefix: 'fd00:1::/48', prefix_length: 40 }, 'prefix_length'], // shorter than the pool
      [{ prefix: 'fd00:2::/32', prefix_length: 128 }, 'prefix_length'], // 2^96 prefixes: beyond exact JSON numbers
      [{ prefix: 'fd00:3::/48', prefix_length: 129 }, 'prefix_length'],
      [{ prefix: 'fd00:4::/48' }, 'prefix_length'],
    ] as const) {
      const res = await api.call('POST', '/api/v1/ipv6/pools', { token: admin, body: { name: uniq('bad'), ...body } });
      expectError(res, 422, 'VALIDATION_ERROR');
      expect(res.body.error.details.errors.map((e: { field: string }) => e.field)).toContain(fieldName);
    }
    const dupName = await api.call('POST', '/api/v1/ipv6/pools', { token: admin, body: { name: 'same-name-pool', prefix: ula32(), prefix_length: 64 } });
    expect(dupName.status).toBe(201);
    expectError(await api.call('POST', '/api/v1/ipv6/pools', { token: admin, body: { name: 'same-name-pool', prefix: ula32(), prefix_length: 64 } }), 409, 'CONFLICT');
  });

  it('50 concurrent allocations: all different, none overlapping, counts exact; released prefixes are reused', async () => {
    const p = await pool({ prefix: ula32().replace('::/32', ':7::/48'), prefix_length: 64 });
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) =>
      api.call('POST', '/api/v1/ipv6/allocations', { token: i % 2 ? user.token : other.token, body: { pool_id: p.id, client_name: `c${i}` } })));
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(201));
    expect(answers[0].body.message).toBe('IPv6前缀分配成功');
    const prefixes = answers.map((a) => a.body.data.allocated_prefix as string);
    expect(new Set(prefixes).size).toBe(50);
    // The first 50 /64s of the pool, in some order: nothing skipped, nothing twice.
    const base = p.prefix.replace('::/48', '');
    const expected = Array.from({ length: 50 }, (_, i) => (i === 0 ? `${base}::/64` : `${base}:${i.toString(16)}::/64`));
    expect([...prefixes].sort()).toEqual([...expected].sort());
    const { rows } = await api.deps.knex.raw('SELECT count(*)::int AS n FROM ipv6_allocations a JOIN ipv6_allocations b ON a.pool_id = b.pool_id AND a.id < b.id AND a.cidr && b.cidr WHERE a.pool_id = ?', [p.id]);
    expect(rows[0].n).toBe(0);
    const view = await api.call('GET', `/api/v1/ipv6/pools/${p.id}`, { token: admin });
    expect(view.body.data).toMatchObject({ total_prefixes: 65536, allocated_prefixes: 50, available_prefixes: 65486 });
    // The database itself refuses an overlap (a containing /63) and a prefix outside the pool, whatever the code does.
    const knex = api.deps.knex;
    await expect(knex('ipv6_allocations').insert({ pool_id: p.id, cidr: `${base}:2::/63`, client_name: 'raw' })).rejects.toMatchObject({ code: '23P01' });
    await expect(knex('ipv6_allocations').insert({ pool_id: p.id, cidr: 'fd00:dead::/64', client_name: 'raw' })).rejects.toMatchObject({ code: '23514' });

    // Release the 8th prefix: the next allocation gets it back.
    const eighth = answers.find((a) => a.body.data.allocated_prefix === `${base}:7::/64`)!;
    const owner = eighth.body.data.user_id === user.id ? user : other;
    const released = await api.call('DELETE', `/api/v1/ipv6/allocations/${eighth.body.data.id}`, { token: owner.token });
    expect(released.body.data).toMatchObject({ released: true, allocated_prefix: `${base}:7::/64` });
    const again = await api.call('POST', '/api/v1/ipv6/allocations', { token: user.token, body: { pool_id: p.id, client_name: 'again' } });
    expect(again.body.data.allocated_prefix).toBe(`${base}:7::/64`);
  });

  it('a requested prefix: inside the pool, of its length, not taken; a full pool says so', async () => {
    const p = await pool({ prefix: ula32().replace('::/32', ':9::/62'), prefix_length: 64 });
    const base = p.prefix.replace('::/62', '');
    const wanted = await api.call('POST', '/api/v1/ipv6/allocations', { token: user.token, body: { pool_id: p.id, client_name: 'w', prefix: `${base}:2::/64` } });
    expect(wanted.status).toBe(201);
    expect(wanted.body.data.allocated_prefix).toBe(`${base}:2::/64`);
    expectError(await api.call('POST', '/api/v1/ipv6/allocations', { token: user.token, body: { pool_id: p.id, client_name: 'w', prefix: `${base}:2::/64` } }), 409, 'CONFLICT');
    for (const prefix of [`${base}:2::/63`, 'fd99::/64', `${base}:2::1/64`, 'junk']) {
      const res = await api.call('POST', '/api/v1/ipv6/allocations', { token: user.token, body: { pool_id: p.id, client_name: 'w', prefix } });
      expectError(res, 422, 'VALIDATION_ERROR');
      expect(res.body.error.details.field).toBe('prefix');
    }
    const got = [];
    for (let i = 0; i < 3; i++) got.push((await api.call('POST', '/api/v1/ipv6/allocations', { token: user.token, body: { pool_id: p.id, client_name: `n${i}` } })).body.data.allocated_prefix);
    expect(got).toEqual([`${base}::/64`, `${base}:1::/64`, `${base}:3::/64`]);
    const full = await api.call('POST', '/api/v1/ipv6/allocations', { token: user.token, body: { pool_id: p.id, client_name: 'x' } });
    expectError(full, 409, 'CONFLICT');
    expect(full.body.error.details.reason).toBe('pool_exhausted');
    expect((await api.call('GET', `/api/v1/ipv6/pools/${p.id}`, { token: admin })).body.data).toMatchObject({ total_prefixes: 4, allocated_prefixes: 4, available_prefixes: 0 });
    expectError(await api.call('DELETE', `/api/v1/ipv6/pools/${p.id}`, { token: admin }), 409, 'CONFLICT');
  });

  it('users see their own allocations only; pools are for admins and managers; no token, bad input and unknown ids', async () => {
    const p = await pool({ prefix: ula32(), prefix_length: 64 });
    const mine = (await api.call('POST', '/api/v1/ipv6/allocations', { token: user.token, body: { pool_id: p.id, client_name: 'mine' } })).body.data;
    const list = await api.call('GET', `/api/v1/ipv6/allocations?pool_id=${p.id}`, { token: other.token });
    expect(list.body.data.allocations).toEqual([]);
    expect((await api.call('GET', `/api/v1/ipv6/allocations?pool_id=${p.id}`, { token: user.token })).body.data.allocations.map((a: { id: number }) => a.id)).toEqual([mine.id]);
    expect((await api.call('GET', `/api/v1/ipv6/allocations?pool_id=${p.id}`, { token: manager.token })).body.data.allocations).toHaveLength(1);
    expectError(await api.call('GET', `/api/v1/ipv6/allocations/${mine.id}`, { token: other.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('DELETE', `/api/v1/ipv6/allocations/${mine.id}`, { token: other.token }), 404, 'RESOURCE_NOT_FOUND');
    expect((await api.call('GET', `/api/v1/ipv6/allocations/${mine.id}`, { token: user.token })).body.data.allocated_prefix).toBe(mine.allocated_prefix);

    for (const [method, path, body] of [['GET', '/api/v1/ipv6/pools'], ['POST', '/api/v1/ipv6/pools', { name: 'x', prefix: ula32(), prefix_length: 64 }], ['GET', `/api/v1/ipv6/pools/${p.id}`], ['DELETE', `/api/v1/ipv6/pools/${p.id}`]] as const) {
      expectError(await api.call(method, path, { token: user.token, ...(body ? { body } : {}) }), 403, 'INSUFFICIENT_PERMISSIONS');
    }
    const viewer = await api.createUser('viewer');
    expectError(await api.call('POST', '/api/v1/ipv6/allocations', { token: viewer.token, body: { pool_id: p.id, client_name: 'v' } }), 403, 'INSUFFICIENT_PERMISSIONS');
    for (const [method, path] of [['GET', '/api/v1/ipv6/pools'], ['POST', '/api/v1/ipv6/pools'], ['GET', '/api/v1/ipv6/pools/1'], ['DELETE', '/api/v1/ipv6/pools/1'],
      ['GET', '/api/v1/ipv6/allocations'], ['POST', '/api/v1/ipv6/allocations'], ['GET', '/api/v1/ipv6/allocations/1'], ['DELETE', '/api/v1/ipv6/allocations/1']]) {
      expectError(await api.call(method, path, method === 'POST' ? { body: {} } : {}), 401, 'INVALID_CREDENTIALS');
    }
    expectError(await api.call('GET', '/api/v1/ipv6/pools/999999', { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('DELETE', '/api/v1/ipv6/pools/999999', { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', '/api/v1/ipv6/allocations/999999', { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', '/api/v1/ipv6/allocations', { token: user.token, body: { pool_id: 999999, client_name: 'x' } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', '/api/v1/ipv6/pools/abc', { token: admin }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('GET', '/api/v1/ipv6/pools/99999999999', { token: admin }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', '/api/v1/ipv6/allocations', { token: user.token, body: { pool_id: 'one', client_name: '' } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', '/api/v1/ipv6/allocations', { token: user.token, rawBody: '{"pool_id":' }), 400, 'BAD_REQUEST');

    // An empty pool can be deleted; its prefix is then free for a new pool.
    await api.call('DELETE', `/api/v1/ipv6/allocations/${mine.id}`, { token: user.token });
    expect((await api.call('DELETE', `/api/v1/ipv6/pools/${p.id}`, { token: manager.token })).body.data).toMatchObject({ deleted: true });
    expect((await api.call('POST', '/api/v1/ipv6/pools', { token: admin, body: { name: uniq('re'), prefix: p.prefix, prefix_length: 56 } })).status).toBe(201);
  });
});
