import { z } from 'zod';
import { startTestApi, type TestApi } from '../support/api';
import { dbsyncRoutes } from '../../api/dbsync/routes';
import { whalefallRoutes } from '../../api/dbsync/compat-whalefall';
import type { AnyRoute } from '../../api/platform/http/route';
import { PERMISSIONS } from '../../shared/platform/permissions';
import { addCredential, addInstance, pgAdmin, pgServer, uid, waitOperation } from '../support/dbsync';

/**
 * Every database-instance endpoint, native and seed 002, derived from the route table itself:
 * no token → 401, a token without the route's permission → 403, an unknown id → 404, a malformed id → 422.
 */
let api: TestApi;
let routes: Array<AnyRoute & { prefix: string }>;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  api = await startTestApi();
  routes = [
    ...dbsyncRoutes(api.deps).map((r) => ({ ...r, prefix: '/api/v1' })),
    ...whalefallRoutes(api.deps).map((r) => ({ ...r, prefix: '' })),
  ];
  const admin = await api.admin();
  for (const scope of PERMISSIONS.filter((p) => p !== '*')) {
    const res = await api.call('POST', '/api/v1/tokens', { token: admin, body: { name: `only-${scope}`, scopes: [scope] } });
    tokens[scope] = res.body.data.token;
  }
});
afterAll(async () => { await api.close(); });

const paramNames = (path: string) => [...path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]);
const numeric = (r: AnyRoute, name: string) => {
  const shape = (r.params as z.ZodObject<z.ZodRawShape> | undefined)?.shape ?? {};
  return Boolean(shape[name]) && (shape[name] as z.ZodType).safeParse('abc').success === false;
};
const fill = (r: AnyRoute, value: (numeric: boolean) => string) => r.path.replace(/:([A-Za-z_]+)/g, (_m, n) => value(numeric(r, n)));
const bodyFor = (r: AnyRoute) => (r.path.endsWith('/rules') ? { name: 'x', expression: { fn: 'is_superuser' } } : r.method === 'get' || r.method === 'delete' ? undefined : {});

describe('every dbsync endpoint, both surfaces', () => {
  it('needs a token (401) unless public', async () => {
    const checked: string[] = [];
    for (const r of routes.filter((x) => (x.auth ?? 'required') === 'required')) {
      const res = await api.call(r.method.toUpperCase(), r.prefix + fill(r, (n) => (n ? '1' : 'x')), { body: bodyFor(r) });
      expect({ route: `${r.method} ${r.prefix}${r.path}`, status: res.status }).toEqual({ route: `${r.method} ${r.prefix}${r.path}`, status: 401 });
      checked.push(r.path);
    }
    expect(checked.length).toBeGreaterThan(80);
  });

  it('refuses a token without the route’s permission (403)', async () => {
    for (const r of routes.filter((x) => x.permission)) {
      const other = r.permission === 'view' ? 'create' : 'view';
      const res = await api.call(r.method.toUpperCase(), r.prefix + fill(r, (n) => (n ? '1' : 'x')), { token: tokens[other], body: bodyFor(r) });
      expect({ route: `${r.method} ${r.prefix}${r.path}`, status: res.status }).toEqual({ route: `${r.method} ${r.prefix}${r.path}`, status: 403 });
    }
  });

  it('answers 404 for an unknown id and 422 for a malformed numeric id', async () => {
    const admin = await api.admin();
    for (const r of routes.filter((x) => paramNames(x.path).length)) {
      const route = `${r.method} ${r.prefix}${r.path}`;
      const missing = await api.call(r.method.toUpperCase(), r.prefix + fill(r, (n) => (n ? '999999' : 'nope-999')), { token: admin, body: bodyFor(r) });
      expect({ route, status: missing.status }).toEqual({ route, status: 404 });
      if (paramNames(r.path).some((n) => numeric(r, n))) {
        const bad = await api.call(r.method.toUpperCase(), r.prefix + fill(r, (n) => (n ? 'abc' : 'x')), { token: admin, body: bodyFor(r) });
        expect({ route, status: bad.status }).toEqual({ route, status: 422 });
        const huge = await api.call(r.method.toUpperCase(), r.prefix + fill(r, (n) => (n ? '2147483648' : 'x')), { token: admin, body: bodyFor(r) });
        expect({ route, status: huge.status }).toEqual({ route, status: 422 });
      }
    }
  });

  it('answers each surface in its own envelope', async () => {
    const admin = await api.admin();
    const native = await api.call('GET', '/api/v1/db/instances', { token: admin });
    expect(Object.keys(native.body).sort()).toEqual(['data', 'success', 'timestamp']);
    const seed = await api.call('GET', '/api/form-options', { token: admin });
    expect(Object.keys(seed.body).sort()).toEqual(['data', 'message', 'status']);
    const seedError = await api.call('GET', '/api/jobs/nope', { token: admin });
    expect(seedError.body).toMatchObject({ status: 'error', error: 'RESOURCE_NOT_FOUND', code: 404, message: expect.any(String) });
  });
});

describe('accounts endpoints and classification CRUD', () => {
  it('lists and reads accounts; classifications can be created, read, updated and deleted', async () => {
    const admin = await api.admin();
    // Its own data: a role on the suite's PostgreSQL, an instance of it, one sync.
    const role = `acc_${uid()}`;
    await pgAdmin((c) => c.query(`CREATE ROLE ${role} LOGIN CREATEDB PASSWORD 'pw-${role}'`));
    const s = pgServer();
    const instance = await addInstance(api, { db_type: 'postgresql', host: s.host, port: s.port, database_name: s.database, credential_id: await addCredential(api, role, `pw-${role}`), ssl: 'disable' });
    const synced = await api.call('POST', `/api/v1/db/instances/${instance.id}/sync`, { token: admin });
    expect((await waitOperation(api, synced.body.data.operation.id, admin)).status).toBe('succeeded');

    const list = await api.call('GET', `/api/v1/db/accounts?instance_id=${instance.id}&search=${role}`, { token: tokens.view });
    expect(list.status).toBe(200);
    expect(list.body.data.accounts).toEqual([expect.objectContaining({ instance_id: instance.id, username: role, account_key: role, is_active: true })]);
    const a = list.body.data.accounts[0];
    const one = await api.call('GET', `/api/v1/db/accounts/${a.id}`, { token: tokens.view });
    expect(one.status).toBe(200);
    expect(one.body.data).toMatchObject({ id: a.id, account_key: role, privileges: expect.any(Array) });
    const ofInstance = await api.call('GET', `/api/v1/db/instances/${instance.id}/accounts?size=100`, { token: tokens.view });
    expect(ofInstance.status).toBe(200);
    expect(ofInstance.body.data.accounts.every((x: { instance_id: number }) => x.instance_id === instance.id)).toBe(true);
    expect(ofInstance.body.data.accounts.map((x: { id: number }) => x.id)).toContain(a.id);
    const code = `tmp_${Date.now()}`;
    const created = await api.call('POST', '/api/v1/db/classifications', { token: admin, body: { code, name: 'Temp', risk_level: 'high', priority: 3 } });
    expect(created.status).toBe(201);
    const again = await api.call('POST', '/api/v1/db/classifications', { token: admin, body: { code, name: 'Temp' } });
    expect(again.status).toBe(409);
    const got = await api.call('GET', `/api/v1/db/classifications/${created.body.data.id}`, { token: tokens.view });
    expect(got.body.data).toMatchObject({ code, risk_level: 'high', is_system: false, rules: [] });
    const put = await api.call('PUT', `/api/v1/db/classifications/${created.body.data.id}`, { token: admin, body: { risk_level: 'critical' } });
    expect(put.body.data.risk_level).toBe('critical');
    expect((await api.call('PUT', `/api/v1/db/classifications/${created.body.data.id}`, { token: admin, body: { risk_level: 'apocalyptic' } })).status).toBe(422);
    expect((await api.call('DELETE', `/api/v1/db/classifications/${created.body.data.id}`, { token: admin })).status).toBe(200);
    const defaults = await api.call('GET', '/api/v1/db/classifications', { token: tokens.view });
    expect(defaults.body.data.classifications.filter((c: { is_system: boolean }) => c.is_system).map((c: { code: string }) => c.code)).toEqual(['super_admin', 'privileged', 'sensitive_write', 'read_only', 'locked']);
  });

  it('a second sync of the same instance while one runs is a 409 naming the running one; Idempotency-Key replays', async () => {
    const admin = await api.admin();
    const cred = await api.call('POST', '/api/v1/db/credentials', { token: admin, body: { name: `c-${Date.now()}`, username: 'u', password: 'p' } });
    // An address nobody answers on keeps the first sync busy until its connect timeout.
    const net = await import('node:net');
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const inst = await api.call('POST', '/api/v1/db/instances', { token: admin, body: { name: `busy-${Date.now()}`, db_type: 'postgresql', host: '127.0.0.1', port: (silent.address() as import('node:net').AddressInfo).port, credential_id: cred.body.data.id } });
      const headers = { 'idempotency-key': `k-${Date.now()}` };
      const first = await api.call('POST', `/api/v1/db/instances/${inst.body.data.id}/sync`, { token: admin, headers });
      expect(first.status).toBe(202);
      const replay = await api.call('POST', `/api/v1/db/instances/${inst.body.data.id}/sync`, { token: admin, headers });
      expect(replay.body.data.operation.id).toBe(first.body.data.operation.id);
      const second = await api.call('POST', `/api/v1/db/instances/${inst.body.data.id}/sync`, { token: admin });
      expect(second.status).toBe(409);
      expect(second.body.error.details.operation_id).toBe(first.body.data.operation.id);
      await api.call('POST', `/api/v1/operations/${first.body.data.operation.id}/cancel`, { token: admin });
    } finally {
      silent.close();
    }
  });
});

describe('inputs the database cannot store or Temporal cannot take are a 422', () => {
  it('NUL characters in any string, an unknown time zone', async () => {
    const admin = await api.admin();
    const nul = await api.call('POST', '/api/v1/db/credentials', { token: admin, body: { name: 'a\u0000b', username: 'x', password: 'y' } });
    expect(nul.status).toBe(422);
    expect(nul.body.error.details.field).toBe('name');
    expect((await api.call('GET', '/api/v1/db/accounts?search=%00', { token: admin })).status).toBe(422);
    expect((await api.call('GET', '/api/sessions/a%00b', { token: admin })).status).toBe(422);
    const tz = await api.call('POST', '/api/v1/db/jobs', { token: admin, body: { name: 'tz', task_type: 'sync_accounts', schedule: '0 0 1 1 *', timezone: 'Mars/Olympus' } });
    expect(tz.status).toBe(422);
    expect(tz.body.error.details.field).toBe('timezone');
  });

  it('an instance with a name of the longest allowed length can be deleted (its name is freed)', async () => {
    const admin = await api.admin();
    const cred = await api.call('POST', '/api/v1/db/credentials', { token: admin, body: { name: `long-${Date.now()}`, username: 'u', password: 'p' } });
    const name = `n${Date.now()}`.padEnd(100, 'x');
    const inst = await api.call('POST', '/api/v1/db/instances', { token: admin, body: { name, db_type: 'postgresql', host: '127.0.0.1', port: 5432, credential_id: cred.body.data.id } });
    expect(inst.status).toBe(201);
    expect((await api.call('DELETE', `/api/v1/db/instances/${inst.body.data.id}`, { token: admin })).status).toBe(200);
    const again = await api.call('POST', '/api/v1/db/instances', { token: admin, body: { name, db_type: 'postgresql', host: '127.0.0.1', port: 5432, credential_id: cred.body.data.id } });
    expect(again.status).toBe(201);
  });
});
