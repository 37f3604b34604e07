import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Router from '@koa/router';
import { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { startTestApi, expectError, type TestApi, type TestUser } from '../support/api';
import { mount, route } from '../../api/platform/http/route';
import { PERMISSIONS } from '../../shared/platform/permissions';
import { ADDRESS_DELAY_STEP_MS } from '../../api/platform/auth/login-throttle';

let api: TestApi;
beforeAll(async () => { api = await startTestApi(); });
afterAll(async () => { await api.close(); });

const uid = () => crypto.randomBytes(4).toString('hex');

async function tokenFor(credential: string, scopes?: string[]) {
  const res = await api.call('POST', '/api/v1/tokens', { token: credential, body: { name: `t-${uid()}`, ...(scopes ? { scopes } : {}) } });
  return res;
}

describe('API token scopes never widen', () => {
  let user: TestUser;
  let viewOnly: string;
  let minter: string;
  beforeAll(async () => {
    user = await api.createUser('user');
    const created = await tokenFor(user.token, ['view']);
    expect(created.status).toBe(201);
    viewOnly = created.body.data.token;
    minter = (await tokenFor(user.token, ['view', 'tokens'])).body.data.token;
  });

  it('a view-only token cannot mint tokens at all; one with the tokens scope given empty or no scopes makes its own scopes, never a full one', async () => {
    for (const scopes of [[], undefined, ['view']]) expectError(await tokenFor(viewOnly, scopes), 403, 'INSUFFICIENT_PERMISSIONS');
    for (const scopes of [[], undefined]) {
      const child = await tokenFor(minter, scopes);
      expect(child.status).toBe(201);
      expect(child.body.data.scopes).toEqual(['view', 'tokens']);
      const me = await api.call('GET', '/api/v1/auth/me', { token: child.body.data.token });
      expect(me.body.data.permissions).toEqual(['view', 'tokens']);
      expectError(await api.call('POST', '/api/v1/db/credentials', { token: child.body.data.token, body: { name: `c-${uid()}`, username: 'u', password: 'p' } }), 403, 'INSUFFICIENT_PERMISSIONS');
    }
  });

  it('a token asking for more than its creator has is refused', async () => {
    expectError(await tokenFor(minter, ['view', 'create']), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await tokenFor(minter, ['*']), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await tokenFor(user.token, ['admin']), 403, 'INSUFFICIENT_PERMISSIONS');
    const narrower = await tokenFor(user.token, ['view', 'create']);
    expect(narrower.body.data.scopes).toEqual(['view', 'create']);
  });

  it('a session’s token without scopes follows the role', async () => {
    const full = await tokenFor(user.token);
    expect(full.body.data.scopes).toEqual([]);
    const me = await api.call('GET', '/api/v1/auth/me', { token: full.body.data.token });
    expect(me.body.data.permissions).toEqual(['view', 'create', 'update', 'delete']);
  });

  it('a view-only token cannot change the user, revoke other tokens or cancel operations; it may revoke itself', async () => {
    expectError(await api.call('PUT', `/api/v1/users/${user.id}`, { token: viewOnly, body: { email: `x-${uid()}@example.test` } }), 403, 'INSUFFICIENT_PERMISSIONS');
    const other = await tokenFor(user.token);
    expectError(await api.call('DELETE', `/api/v1/tokens/${other.body.data.id}`, { token: viewOnly }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('POST', `/api/v1/operations/op-${uid()}/cancel`, { token: viewOnly }), 403, 'INSUFFICIENT_PERMISSIONS');
    expect((await api.call('GET', `/api/v1/users/${user.id}`, { token: viewOnly })).status).toBe(200);
    // The user's own session still revokes its tokens, and changes its own email.
    expect((await api.call('DELETE', `/api/v1/tokens/${other.body.data.id}`, { token: user.token })).status).toBe(200);
    expect((await api.call('PUT', `/api/v1/users/${user.id}`, { token: user.token, body: { email: `y-${uid()}@example.test` } })).status).toBe(200);
    const self = await tokenFor(user.token, ['view']);
    expect((await api.call('DELETE', `/api/v1/tokens/${self.body.data.id}`, { token: self.body.data.token })).status).toBe(200);
  });
});

describe('every route declares its permission', () => {
  it('the OpenAPI document names a permission, or public, on every operation', async () => {
    const doc = (await api.call('GET', '/api/v1/openapi.json')).body;
    const operations = Object.entries(doc.paths as Record<string, Record<string, { 'x-permission'?: string; security?: unknown[] }>>)
      .flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, permission: op['x-permission'], security: op.security })));
    expect(operations.length).toBeGreaterThan(100);
    const undeclared = operations.filter((o) => !o.permission || !['public', 'agent', ...PERMISSIONS].includes(o.permission));
    expect(undeclared).toEqual([]);
    for (const o of operations.filter((op) => op.permission === 'public')) expect({ route: o.route, security: o.security }).toEqual({ route: o.route, security: [] });
    // Host agents' routes take only an agent's signed request, and every one of them is under /agent/.
    const agentRoutes = operations.filter((op) => op.permission === 'agent');
    expect(agentRoutes.length).toBeGreaterThan(0);
    for (const o of agentRoutes) expect({ route: o.route, security: o.security }).toEqual({ route: expect.stringMatching(/ \/api\/v1\/agent\/hosts\//), security: [{ agentSignature: [] }] });
    expect(operations.find((o) => o.route === 'POST /api/v1/operations/{id}/cancel')?.permission).toBe('update');
    expect(operations.find((o) => o.route === 'PUT /api/v1/users/{id}')?.permission).toBe('update');
  });

  it('the route helper refuses a route that declares neither a permission nor public', () => {
    const opts = { prefix: '/x', authenticate: async () => null, registry: new OpenAPIRegistry() };
    const bare = route({ method: 'get', path: '/bare', tags: [], summary: 'no permission', handler: async () => null });
    expect(() => mount(new Router(), [bare], opts)).toThrow(/GET \/x\/bare declares no permission/);
    const open = route({ method: 'get', path: '/open', tags: [], summary: 'public', auth: 'public', handler: async () => null });
    expect(() => mount(new Router(), [open], opts)).not.toThrow();
  });

  it('roles are declared on the route, documented as x-roles and enforced before anything else, never checked by a handler', async () => {
    const doc = (await api.call('GET', '/api/v1/openapi.json')).body;
    expect(doc.paths['/api/v1/bgp/sessions'].get).toMatchObject({ 'x-permission': 'view', 'x-roles': ['admin', 'manager'] });
    expect(doc.paths['/api/v1/monitoring/dashboard'].get).toMatchObject({ 'x-permission': 'view', 'x-roles': ['admin', 'manager', 'viewer'] });
    expect(doc.paths['/api/v1/wireguard/clients'].get['x-roles']).toBeUndefined();
    const viewer = await api.createUser('viewer');
    const manager = await api.createUser('manager');
    // A viewer holds `view` but is not a manager: refused before its (bad) query is read; a manager is let through.
    expectError(await api.call('GET', '/api/v1/bgp/sessions?page=0', { token: viewer.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('GET', '/api/v1/bgp/sessions?page=0', { token: manager.token }), 422, 'VALIDATION_ERROR');
    expect((await api.call('GET', '/api/v1/bgp/sessions', { token: manager.token })).status).toBe(200);
    expect((await api.call('GET', '/api/v1/monitoring/dashboard', { token: viewer.token })).status).toBe(200);
    expectError(await api.call('GET', '/api/v1/monitoring/dashboard', { token: (await api.createUser('user')).token }), 403, 'INSUFFICIENT_PERMISSIONS');
    // No route file checks a role by hand: roles live on the route spec, where mount() enforces and documents them.
    const root = path.resolve(__dirname, '..', '..', 'api');
    const routeFiles = fs.readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => /(^|\/)(routes[\w-]*|compat-[\w-]+)\.ts$/.test(f));
    expect(routeFiles.length).toBeGreaterThan(20);
    const byHand = routeFiles.filter((f) => /require(Role|\w*Manager|Operator)\(|\.role === '/.test(fs.readFileSync(path.join(root, f), 'utf8')));
    expect(byHand).toEqual([]);
  });
});

describe('no input makes a 500', () => {
  const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
  const deepObject = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

  it('a deeply nested body answers 422 in the surface’s envelope, with or without credentials', async () => {
    const native = await api.call('POST', '/api/v1/instances/report', { rawBody: deep(100_000) });
    expectError(native, 422, 'VALIDATION_ERROR');
    expect(native.body.error.details.field).toBe('body');
    const seed001 = await api.call('POST', '/api/client/upload', { rawBody: deep(100_000) });
    expect({ status: seed001.status, code: seed001.body.code, error: seed001.body.data.error }).toEqual({ status: 422, code: 422, error: 'VALIDATION_ERROR' });
    const user = await api.createUser('user');
    expectError(await api.call('POST', '/api/v1/tokens', { token: user.token, rawBody: `{"name":"x","scopes":${deep(5000)}}` }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', '/api/v1/hosts', { token: await api.admin(), rawBody: `{"name":"h","options":${deepObject(20_000)}}` }), 422, 'VALIDATION_ERROR');
    // Ordinary nesting still passes the depth check (and fails on the fields instead).
    const shallow = await api.call('POST', '/api/v1/tokens', { token: user.token, rawBody: `{"name":"x","scopes":${deep(10)}}` });
    expectError(shallow, 422, 'VALIDATION_ERROR');
    expect(shallow.body.error.details.field).toBe('scopes.0');
  });

  it('a body over the size limit answers 413 in the envelope', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) });
    expectError(await api.call('POST', '/api/v1/auth/login', { rawBody: big }), 413, 'PAYLOAD_TOO_LARGE');
  });

});

describe('headers', () => {
  it('nosniff on every answer: success, errors, pages', async () => {
    for (const [method, path] of [['GET', '/api/v1/status/health'], ['GET', '/api/v1/nowhere'], ['GET', '/api/v1/auth/me'], ['GET', '/docs'], ['GET', '/api/v1/openapi.json']]) {
      const res = await api.call(method, path);
      expect({ path, nosniff: res.headers.get('x-content-type-options') }).toEqual({ path, nosniff: 'nosniff' });
    }
  });

  it('no-store on every answer that carries a credential', async () => {
    const u = await api.createUser('user');
    const admin = await api.admin();
    const login = await api.call('POST', '/api/v1/auth/login', { body: { username: u.username, password: u.password } });
    const refresh = await api.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: login.body.data.refresh_token } });
    const seedLogin = await api.call('POST', '/auth/login', { body: { username: u.username, password: u.password } });
    const seedRefresh = await api.call('POST', '/api/refresh', { body: { refresh_token: seedLogin.body.data.refresh_token } });
    const answers = {
      login, refresh, seedLogin, seedRefresh,
      token: await tokenFor(u.token),
      agentToken: await api.call('GET', `/api/v1/instances/${crypto.randomUUID()}/agent-token`, { token: u.token }),
      systemToken: await api.call('GET', '/api/system/tquery', { token: admin }),
    };
    expect([login.status, refresh.status, seedLogin.status, seedRefresh.status, answers.token.status, answers.systemToken.status]).toEqual([200, 200, 200, 200, 201, 200]);
    for (const [name, res] of Object.entries(answers)) expect({ name, cache: res.headers.get('cache-control') }).toEqual({ name, cache: 'no-store' });
    expect((await api.call('GET', '/api/v1/auth/me', { token: u.token })).headers.get('cache-control')).toBeNull();
  });

  it('/docs and /console refuse framing and carry a content security policy', async () => {
    for (const path of ['/docs', '/console']) {
      const res = await api.call('GET', path);
      expect(res.status).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
  });
});

describe('Idempotency-Key without an owner', () => {
  it('two simultaneous requests with one key from the server token start one operation', async () => {
    const serverToken = `srv-${uid()}${uid()}`;
    const withServer = await startTestApi({ IDCFLOW_SERVER_TOKEN: serverToken });
    try {
      const target = await api.createUser('user');
      const key = `k-${uid()}`;
      const send = () => withServer.call('POST', '/api/delete_user', {
        headers: { 'idempotency-key': key, prefer: 'respond-async' },
        body: { server_token: serverToken, target_user: target.username, backup_data: false },
      });
      const answers = await Promise.all([send(), send(), send()]);
      expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
      const ids = new Set(answers.map((a) => a.body.operation.id));
      expect(ids.size).toBe(1);
      const rows = await api.deps.knex('operations').whereNull('created_by').where({ idempotency_key: key });
      expect(rows).toHaveLength(1);

      // The same key for two requests at once on different resources: one operation; the other is told the key is taken.
      const [one, two] = [await api.createUser('user'), await api.createUser('user')];
      const otherKey = `k-${uid()}`;
      const sendFor = (username: string) => withServer.call('POST', '/api/delete_user', {
        headers: { 'idempotency-key': otherKey, prefer: 'respond-async' },
        body: { server_token: serverToken, target_user: username, backup_data: false },
      });
      const both = await Promise.all([sendFor(one.username), sendFor(two.username)]);
      expect(both.map((a) => a.status).sort()).toEqual([202, 409]);
      expect(await api.deps.knex('operations').whereNull('created_by').where({ idempotency_key: otherKey })).toHaveLength(1);
    } finally {
      await withServer.close();
    }
  });
});

describe('login throttling', () => {
  let throttled: TestApi;
  beforeAll(async () => {
    throttled = await startTestApi({ IDCFLOW_LOGIN_MAX_FAILURES: '3', IDCFLOW_LOGIN_WINDOW_SECONDS: '60', IDCFLOW_LOGIN_LOCKOUT_SECONDS: '600', IDCFLOW_TRUST_PROXY: 'true' });
  });
  afterAll(async () => { await throttled.close(); });
  const login = (address: string, username: string, password: string) =>
    throttled.call('POST', '/api/v1/auth/login', { headers: { 'x-forwarded-for': address }, body: { username, password } });

  it('locks the account for the configured lockout, not what is left of the window, and records locked_until', async () => {
    const u = await api.createUser('user');
    for (let i = 0; i < 2; i++) expectError(await login('10.51.100.21', u.username, 'bad'), 401, 'INVALID_CREDENTIALS');
    const last = await login('10.51.100.21', u.username, 'bad');
    expectError(last, 429, 'RATE_LIMIT_EXCEEDED');
    const locked = await login('10.51.100.22', u.username, u.password);
    expectError(locked, 429, 'RATE_LIMIT_EXCEEDED');
    const retryAfter = Number(locked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(590);
    expect(retryAfter).toBeLessThanOrEqual(600);
    const row = await api.deps.knex('users').where({ id: u.id }).first('locked_until');
    const lockedFor = (new Date(row.locked_until).getTime() - Date.now()) / 1000;
    expect(lockedFor).toBeGreaterThan(590);
    expect(lockedFor).toBeLessThanOrEqual(600);
  });

  it('an address past its allowance is slowed down, never refused: colleagues’ right passwords still sign in', async () => {
    const address = '10.51.100.31';
    const colleague = await api.createUser('user');
    for (let i = 0; i < 12; i++) expectError(await login(address, `ghost_${uid()}`, 'bad'), 401, 'INVALID_CREDENTIALS');
    expect((await login(address, colleague.username, colleague.password)).status).toBe(200);
    // Four more failures: 4 × 250 ms of wait on each later login from there, right passwords included.
    for (let i = 0; i < 4; i++) expectError(await login(address, `ghost_${uid()}`, 'bad'), 401, 'INVALID_CREDENTIALS');
    const started = Date.now();
    expect((await login(address, colleague.username, colleague.password)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4 * ADDRESS_DELAY_STEP_MS);
    expect((await login('10.51.100.32', colleague.username, colleague.password)).status).toBe(200);
  });
});
