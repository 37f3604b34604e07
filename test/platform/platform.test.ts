import http from 'node:http';
import { startTestApi, expectError, type TestApi } from '../support/api';

let api: TestApi;
let admin: string;
beforeAll(async () => { api = await startTestApi({ IDCFLOW_CORS_ORIGINS: 'https://panel.example.test' }); admin = await api.admin(); });
afterAll(async () => { await api.close(); });

describe('status', () => {
  it('GET /status/health is public', async () => {
    const res = await api.call('GET', '/api/v1/status/health');
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ status: 'healthy', service: 'idcflow', version: expect.any(String) });
  });

  it('GET /status/health/detailed checks the database, Temporal and the worker pollers', async () => {
    expectError(await api.call('GET', '/api/v1/status/health/detailed'), 401, 'INVALID_CREDENTIALS');
    const res = await api.call('GET', '/api/v1/status/health/detailed', { token: admin });
    expect(res.body.data.status).toBe('healthy');
    expect(res.body.data.components.database.status).toBe('healthy');
    expect(res.body.data.components.temporal.status).toBe('healthy');
    expect(res.body.data.components.workers).toMatchObject({ status: 'healthy', task_queue: 'idcflow-test' });
    expect(res.body.data.components.workers.pollers.length).toBeGreaterThan(0);
  });

  it('reports a task queue without workers as degraded', async () => {
    const lonely = await startTestApi({ IDCFLOW_TASK_QUEUE: 'nobody-polls-this' });
    try {
      const res = await lonely.call('GET', '/api/v1/status/health/detailed', { token: await lonely.admin() });
      expect(res.body.data.status).toBe('degraded');
      expect(res.body.data.components.workers).toMatchObject({ status: 'unhealthy', error: expect.stringContaining('nobody-polls-this') });
    } finally {
      await lonely.close();
    }
  });

  it('GET /status/system reports real resources', async () => {
    expectError(await api.call('GET', '/api/v1/status/system'), 401, 'INVALID_CREDENTIALS');
    const res = await api.call('GET', '/api/v1/status/system', { token: admin });
    expect(res.body.data.resources.cpu.cores).toBeGreaterThan(0);
    expect(res.body.data.resources.memory.total).toBeGreaterThan(res.body.data.resources.memory.free);
    expect(res.body.data.resources.disk.total).toBeGreaterThan(0);
    expect(typeof res.body.data.system.hostname).toBe('string');
  });
});

describe('OpenAPI and docs', () => {
  it('documents every route with its schemas and security', async () => {
    const res = await api.call('GET', '/api/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const paths = Object.keys(res.body.paths);
    for (const p of ['/api/v1/auth/login', '/api/v1/users/{id}', '/api/v1/operations/{id}/wait', '/api/v1/tokens', '/api/system/resets', '/api/delete_user', '/api/v1/user-backups/{id}/download']) {
      expect(paths).toContain(p);
    }
    const create = res.body.paths['/api/v1/users'].post;
    expect(create.requestBody.content['application/json'].schema.properties.username).toBeDefined();
    expect(create.responses['422']).toBeDefined();
    expect(create.security).toEqual([{ bearerAuth: [] }]);
    expect(res.body.paths['/api/v1/auth/login'].post.security).toEqual([]);
    expect(res.body.paths['/api/v1/users/{id}'].delete.responses['202']).toBeDefined();
  });

  it('serves the interactive docs', async () => {
    const page = await api.call('GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.text).toContain('/api/v1/openapi.json');
    const bundle = await fetch(`${api.url}/docs/assets/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expectError(await api.call('GET', '/docs/assets/..%2Fpackage.json'), 404, 'RESOURCE_NOT_FOUND');
  });
});

describe('cross-cutting behaviour', () => {
  it('/metrics is Prometheus text for admins only', async () => {
    expectError(await api.call('GET', '/metrics'), 401, 'INVALID_CREDENTIALS');
    await api.call('GET', '/api/v1/auth/me', { token: admin });
    const u = await api.createUser('user');
    expectError(await api.call('GET', '/metrics', { token: u.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    const res = await api.call('GET', '/metrics', { token: admin });
    expect(res.status).toBe(200);
    expect(res.text).toContain('# TYPE idcflow_http_request_duration_seconds histogram');
    expect(res.text).toMatch(/idcflow_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/auth\/me",status="200"\} \d+/);
  });

  it('echoes a sane X-Request-Id and makes one otherwise', async () => {
    const mine = await api.call('GET', '/api/v1/status/health', { headers: { 'x-request-id': 'req-12345678' } });
    expect(mine.headers.get('x-request-id')).toBe('req-12345678');
    const junk = await api.call('GET', '/api/v1/status/health', { headers: { 'x-request-id': 'a b;<script>' } });
    expect(junk.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('CORS answers only listed origins, never *', async () => {
    const allowed = await api.call('OPTIONS', '/api/v1/auth/login', { headers: { origin: 'https://panel.example.test', 'access-control-request-method': 'POST' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://panel.example.test');
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await api.call('OPTIONS', '/api/v1/auth/login', { headers: { origin: 'https://evil.example.test', 'access-control-request-method': 'POST' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('unknown routes and methods answer in the envelope', async () => {
    expectError(await api.call('GET', '/api/v1/no-such-thing', { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    const wrongMethod = await api.call('PATCH', '/api/v1/auth/login', { body: {} });
    expectError(wrongMethod, 405, 'METHOD_NOT_ALLOWED');
    expect(wrongMethod.headers.get('allow')).toContain('POST');
    // fetch refuses TRACE, so plain http.
    const trace = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
      http.request(`${api.url}/api/v1/status/health`, { method: 'TRACE' }, (res) => {
        let body = '';
        res.on('data', (c) => { body += c; }).on('end', () => resolve({ status: res.statusCode, body }));
      }).on('error', reject).end();
    });
    expect(trace.status).toBe(405);
    expect(JSON.parse(trace.body).error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('ids beyond the database’s integer range are a validation error, not a crash', async () => {
    expectError(await api.call('GET', '/api/v1/users/70368744177665', { token: admin }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('GET', '/api/v1/tokens?user_id=230162503765832', { token: admin }), 422, 'VALIDATION_ERROR');
  });

  it('a body that is not JSON is refused with 400 naming the body', async () => {
    const res = await api.call('POST', '/api/v1/auth/login', { rawBody: 'username=admin&password=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expectError(res, 400, 'BAD_REQUEST');
    expect(res.body.error).toMatchObject({ message: 'Send the body as application/json', details: { field: 'body' } });
  });
});

describe('inputs PostgreSQL could not store are a 422, never a 500 (found by fuzzing)', () => {
  it('NUL characters in object keys and broken UTF-16 anywhere', async () => {
        const key = await api.call('POST', '/api/v1/hosts', { token: admin, body: { name: `h-${Date.now()}`, address: '127.0.0.1', engine_type: 'simulator', options: { 'a\u0000b': 1 } } });
    expect(key.status).toBe(422);
    expect(key.body.error.details).toMatchObject({ field: 'options', message: 'has a key that must not contain NUL characters' });
    const surrogate = await api.call('POST', '/api/v1/tokens', { token: admin, body: { name: 'half \ud800 a pair' } });
    expect(surrogate.status).toBe(422);
    expect(surrogate.body.error.details).toMatchObject({ field: 'name', message: 'must be valid Unicode text' });
  });

  it('ids past PostgreSQL integers in list filters', async () => {
    expectError(await api.call('GET', '/api/v1/instances?host_id=9834375457524', { token: admin }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('GET', '/api/v1/instances?owner_id=9834375457524', { token: admin }), 422, 'VALIDATION_ERROR');
  });

  it('ids past PostgreSQL integers in a compat body (seed 000 server_id)', async () => {
        const res = await api.call('POST', '/api/containers', { token: admin, body: { container_name: 'c1', image: 'busybox', server_id: 33749913029 } });
    expect(res.status).toBe(400); // seed 000's status for invalid data
    expect(res.body.details.field).toBe('server_id');
  });
});

describe('search terms are literal text in every list', () => {
  it('% and _ match themselves, not everything', async () => {
    const name = `lit-${Date.now()}`;
    expect((await api.call('POST', '/api/v1/hosts', { token: admin, body: { name, address: '127.0.0.1', engine_type: 'simulator' } })).status).toBe(201);
    for (const path of ['/api/v1/hosts', '/api/v1/instances', '/api/v1/users', '/api/v1/db/instances']) {
      const res = await api.call('GET', `${path}?search=%25`, { token: admin });
      expect({ path, status: res.status, total: res.body.data.pagination.total }).toEqual({ path, status: 200, total: 0 });
    }
    const found = await api.call('GET', `/api/v1/hosts?search=${name}`, { token: admin });
    expect(found.body.data.hosts.map((h: { name: string }) => h.name)).toEqual([name]);
  });
});
