import crypto from 'node:crypto';
import { startTestApi, expectError, eventually, type TestApi, type TestUser } from '../support/api';
import { seedLogEntries, startCleanup } from '../support/logs';
import { waitOperation } from '../support/dbsync';
import { createLogger, LogStoreSink } from '../../shared/platform/logger';
import { attachLogStore } from '../../db/queries/logs/store';
import { signTicket } from '../../api/logs/export';

const uid = () => crypto.randomBytes(4).toString('hex');

describe('log center through HTTP', () => {
  let api: TestApi;
  let admin: string;
  let manager: TestUser;
  const mod = `mod${uid()}`;
  const marker = `marker${uid()}`;
  const newest = new Date();

  beforeAll(async () => {
    api = await startTestApi();
    admin = await api.admin();
    manager = await api.createUser('manager');
    // 40 entries of our own module, one a second back from now: levels cycle INFO×6, WARNING×2, ERROR, CRITICAL.
    await seedLogEntries(api.deps.knex, { count: 40, module: mod, marker, newest });
  });
  afterAll(() => api.close());

  describe('native /api/v1/logs', () => {
    it('lists newest first with filters, counts and keyset pages', async () => {
      const res = await api.call('GET', `/api/v1/logs?module=${mod}&size=15`, { token: admin });
      expect(res.status).toBe(200);
      expect(res.body.success).toBe(true);
      const { logs, pagination } = res.body.data;
      expect(logs).toHaveLength(15);
      expect(pagination).toMatchObject({ page: 1, size: 15, total: 40, pages: 3, total_exact: true });
      const times = logs.map((l: { timestamp: string }) => Date.parse(l.timestamp));
      expect([...times].sort((a, b) => b - a)).toEqual(times);
      expect(logs[0]).toMatchObject({ module: mod, source: 'process', details: expect.objectContaining({ n: 0 }) });

      const next = await api.call('GET', `/api/v1/logs?module=${mod}&size=15&cursor=${pagination.next_cursor}`, { token: admin });
      const second = next.body.data.logs;
      expect(second).toHaveLength(15);
      expect(Date.parse(second[0].timestamp)).toBeLessThan(times.at(-1)!);
      const offset = await api.call('GET', `/api/v1/logs?module=${mod}&size=15&page=2`, { token: admin });
      expect(offset.body.data.logs.map((l: { id: number }) => l.id)).toEqual(second.map((l: { id: number }) => l.id));

      const errors = await api.call('GET', `/api/v1/logs?module=${mod}&level=error,critical`, { token: admin });
      expect(errors.body.data.pagination.total).toBe(8);
      expect(new Set(errors.body.data.logs.map((l: { level: string }) => l.level))).toEqual(new Set(['ERROR', 'CRITICAL']));
      const warned = await api.call('GET', `/api/v1/logs?module=${mod}&level=warn`, { token: admin });
      expect(warned.body.data.pagination.total).toBe(8);
    });

    it('finds by full text, and by time window', async () => {
      const res = await api.call('GET', `/api/v1/logs?search=${marker}`, { token: admin });
      expect(res.body.data.pagination.total).toBe(40);
      const both = await api.call('GET', `/api/v1/logs?search=${encodeURIComponent(`${marker} entry 7`)}`, { token: admin });
      expect(both.body.data.logs.map((l: { message: string }) => l.message.split(' ').slice(3, 5).join(' '))).toEqual(['entry 7']);
      const none = await api.call('GET', `/api/v1/logs?search=${marker}&module=nosuchmodule`, { token: admin });
      expect(none.body.data).toMatchObject({ logs: [], pagination: { total: 0, pages: 0 } });
      const since = new Date(newest.getTime() - 9_500).toISOString();
      const until = new Date(newest.getTime() - 2_500).toISOString();
      const window = await api.call('GET', `/api/v1/logs?module=${mod}&start_time=${since}&end_time=${until}`, { token: admin });
      expect(window.body.data.logs.map((l: { details: { n: number } }) => l.details.n)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    });

    it('refuses bad input with 422 naming the field', async () => {
      for (const [q, field] of [['level=LOUD', 'level'], ['size=1000', 'size'], ['start_time=yesterday', 'start_time'], ['cursor=bm9wZQ', 'cursor'], ['source=disk', 'source'], ['page=0', 'page']]) {
        const res = await api.call('GET', `/api/v1/logs?${q}`, { token: admin });
        expectError(res, 422, 'VALIDATION_ERROR');
        expect(res.body.error.details.errors.map((e: { field: string }) => e.field)).toContain(field);
      }
      expectError(await api.call('GET', '/api/v1/logs/abc', { token: admin }), 422, 'VALIDATION_ERROR');
      expectError(await api.call('GET', '/api/v1/logs/export?format=xml', { token: admin }), 422, 'VALIDATION_ERROR');
      expectError(await api.call('POST', '/api/v1/logs/cleanup', { token: admin, body: { days: 0 } }), 422, 'VALIDATION_ERROR');
      expectError(await api.call('POST', '/api/v1/logs/cleanup', { token: admin, rawBody: '{"days":' }), 400, 'BAD_REQUEST');
    });

    it('is for admins only: no token 401, another role 403', async () => {
      for (const [method, path] of [['GET', '/api/v1/logs'], ['GET', '/api/v1/logs/1'], ['GET', '/api/v1/logs/errors'], ['GET', '/api/v1/logs/modules'], ['GET', '/api/v1/logs/stats'], ['GET', '/api/v1/logs/health'], ['GET', '/api/v1/logs/export'], ['GET', '/api/v1/logs/tail'], ['POST', '/api/v1/logs/cleanup']]) {
        expectError(await api.call(method, path, { body: method === 'POST' ? { days: 30 } : undefined }), 401, 'INVALID_CREDENTIALS');
        expectError(await api.call(method, path, { token: manager.token, body: method === 'POST' ? { days: 30 } : undefined }), 403, 'INSUFFICIENT_PERMISSIONS');
      }
    });

    it('shows one entry, and 404 for one that is not there', async () => {
      const [row] = await api.deps.knex('log_entries').where({ module: mod }).orderBy('id').limit(1);
      const res = await api.call('GET', `/api/v1/logs/${row.id}`, { token: admin });
      expect(res.body.data).toMatchObject({ id: Number(row.id), module: mod, details: { n: expect.any(Number), host: expect.any(String) }, stack_trace: null });
      expectError(await api.call('GET', '/api/v1/logs/999999999999', { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    });

    it('answers errors, modules, stats and health', async () => {
      const errors = await api.call('GET', `/api/v1/logs/errors?module=${mod}`, { token: admin });
      expect(errors.body.data.pagination.total).toBe(8);
      const modules = await api.call('GET', '/api/v1/logs/modules', { token: admin });
      expect(modules.body.data.modules).toContainEqual({ module: mod, last_entry_at: expect.any(String) });
      const stats = await api.call('GET', `/api/v1/logs/stats?module=${mod}&hours=1`, { token: admin });
      expect(stats.body.data).toMatchObject({ total: 40, errors: 8, warnings: 8, by_level: { INFO: 24, WARNING: 8, ERROR: 4, CRITICAL: 4 }, by_source: { process: 40 } });
      expect(stats.body.data.hourly.reduce((a: number, h: { count: number }) => a + h.count, 0)).toBe(40);
      expectError(await api.call('GET', '/api/v1/logs/stats?hours=0', { token: admin }), 422, 'VALIDATION_ERROR');
      const health = await api.call('GET', '/api/v1/logs/health', { token: admin });
      expect(health.body.data).toMatchObject({ status: 'healthy', database: 'connected', sink: { queued: expect.any(Number), dropped: 0 } });
    });

    it('gives an export link that works without a token until it expires, and refuses an altered or expired one', async () => {
      const res = await api.call('GET', `/api/v1/logs/export?format=csv&module=${mod}&level=ERROR`, { token: admin });
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({ format: 'csv', file_size: null, entries: 4, expires_at: expect.any(String) });
      expect(Date.parse(res.body.data.expires_at) - Date.now()).toBeGreaterThan(50 * 60_000);
      const url: string = res.body.data.download_url;
      expect(url).toMatch(/^\/api\/v1\/logs\/export\/download\/export_\d{8}_\d{6}\.csv\?token=/);
      const file = await api.call('GET', url);
      expect(file.status).toBe(200);
      expect(file.headers.get('content-type')).toContain('text/csv');
      expect(file.text.trim().split('\n')).toHaveLength(5);
      expect(file.text.split('\n')[0]).toBe('id,timestamp,level,source,module,action,message,request_id,user_id,username,ip_address,resource_type,resource_id,process,details,stack_trace');

      const token = new URL(url, 'http://x').searchParams.get('token')!;
      const [body, sig] = token.split('.');
      const widened = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), filter: {} })).toString('base64url');
      expectError(await api.call('GET', url.replace(token, `${widened}.${sig}`)), 403, 'INSUFFICIENT_PERMISSIONS');
      const expired = signTicket(api.config.masterKey, { format: 'csv', filter: {}, exp: Date.now() - 1000, by: 'admin' });
      const gone = await api.call('GET', url.replace(token, expired));
      expectError(gone, 403, 'INSUFFICIENT_PERMISSIONS');
      expect(gone.body.error.details.reason).toBe('expired');
      expectError(await api.call('GET', url.split('?')[0]), 422, 'VALIDATION_ERROR');
      expectError(await api.call('GET', `/api/v1/logs/export/download/secrets.csv?token=${token}`), 422, 'VALIDATION_ERROR');
    });

    it('cleans up entries older than N days as an operation, and keeps the rest', async () => {
      const old = `old${uid()}`;
      await seedLogEntries(api.deps.knex, { count: 30, module: old, newest: new Date(Date.now() - 400 * 86_400_000) });
      await seedLogEntries(api.deps.knex, { count: 5, module: old });
      const res = await startCleanup(api, admin, { days: 300, batch_size: 100 });
      expect(res.status).toBe(202);
      expect(res.headers.get('location')).toContain('/api/v1/operations/');
      const op = await waitOperation(api, res.body.data.operation.id, admin);
      expect(op).toMatchObject({ status: 'succeeded', type: 'logs.cleanup', result: { days: 300 } });
      expect(op.result.deleted).toBeGreaterThanOrEqual(30);
      expect(await api.deps.knex('log_entries').where({ module: old }).count('* as n').first()).toEqual({ n: 5 });
      // The cleanup itself is in the audit trail, hence in the store.
      const audited = await api.call('GET', `/api/v1/logs?module=logs&source=audit&search=cleanup`, { token: admin });
      expect(audited.body.data.logs[0]).toMatchObject({ action: 'cleanup', username: 'admin', resource_id: op.id });
    });
  });

  describe('one store: the audit trail and every process\'s warnings and errors', () => {
    it('holds every audited change, with who, from where and the request id', async () => {
      const created = await api.call('POST', '/api/v1/users', { token: admin, body: { username: `logged_${uid()}`, email: `l${uid()}@example.test`, password: 'a-long-password-1' }, headers: { 'x-request-id': `req-${uid()}-abcdef` } });
      expect(created.status).toBe(201);
      const requestId = created.headers.get('x-request-id')!;
      const res = await api.call('GET', `/api/v1/logs?request_id=${requestId}`, { token: admin });
      expect(res.body.data.logs).toHaveLength(1);
      expect(res.body.data.logs[0]).toMatchObject({ source: 'audit', module: 'users', username: 'admin', ip_address: expect.any(String), request_id: requestId, resource_type: 'user', resource_id: String(created.body.data.id) });
    });

    it('stores a process\'s warnings and errors (redacted, batched, with the stack) and not its info lines', async () => {
      const sink = new LogStoreSink({ intervalMs: 50 });
      attachLogStore(sink, api.deps.knex);
      const logger = createLogger('info', 'idcflow-testproc', { store: sink });
      const word = `proc${uid()}`;
      logger.info({ module: word }, `${word} info line`);
      logger.warn({ module: word, reqId: 'r-1234567890', password: 'hunter22', nested: { token: 'abc' } }, `${word} disk nearly full`);
      logger.error({ module: word, err: new Error('boom') }, `${word} write failed`);
      await eventually(async () => Number((await api.deps.knex('log_entries').where({ module: word }).count('* as n').first())!.n) === 2, 10_000, 'the batch');
      await sink.close();
      const rows = await api.deps.knex('log_entries').where({ module: word }).orderBy('id');
      expect(rows.map((r) => r.level)).toEqual(['WARNING', 'ERROR']);
      expect(rows[0]).toMatchObject({ source: 'process', request_id: 'r-1234567890', details: { password: '[redacted]', nested: { token: '[redacted]' } } });
      expect(JSON.stringify(rows)).not.toContain('hunter22');
      expect(rows[1].stack_trace).toContain('Error: boom');
      expect(rows[1].process).toMatch(/^idcflow-testproc@/);
    });

    it('keeps lines while the database is away and writes them when it is back', async () => {
      const sink = new LogStoreSink({ intervalMs: 20 });
      let failing = true;
      const written: string[] = [];
      sink.attach(async (lines) => { if (failing) throw new Error('database away'); written.push(...lines.map((l) => l.message)); });
      const logger = createLogger('silent', 'idcflow-x', { store: sink });
      logger.level = 'warn';
      const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
      try {
        for (let i = 0; i < 3; i++) logger.error(`line ${i}`);
        await eventually(async () => stderr.mock.calls.length > 0, 5000, 'the complaint');
        expect(sink.queued).toBe(3);
        failing = false;
        await sink.close();
      } finally {
        stderr.mockRestore();
      }
      expect(written).toEqual(['line 0', 'line 1', 'line 2']);
    });
  });

  describe('seed 002 (WhaleFall) log center', () => {
    it('searches, lists errors and modules, shows a detail and statistics in its envelope', async () => {
      const today = new Date().toISOString().slice(0, 10);
      const res = await api.call('GET', `/api/search?level=ERROR&module=${mod}&start_date=2000-01-01&end_date=${today}&per_page=3`, { token: admin });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'success', pagination: { page: 1, per_page: 3, total: 4, pages: 2 } });
      expect(res.body.data).toHaveLength(3);
      const errors = await api.call('GET', `/api/errors?module=${mod}`, { token: admin });
      expect(errors.body.pagination.total).toBe(8);
      const modules = await api.call('GET', '/api/modules', { token: admin });
      expect(modules.body.data.map((m: { module: string }) => m.module)).toContain(mod);
      const detail = await api.call('GET', `/api/detail/${res.body.data[0].id}`, { token: admin });
      expect(detail.body).toMatchObject({ status: 'success', data: { id: res.body.data[0].id, level: 'ERROR' } });
      const missing = await api.call('GET', '/api/detail/999999999999', { token: admin });
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ status: 'error', error: 'RESOURCE_NOT_FOUND', code: 404 });
      const stats = await api.call('GET', `/api/stats?module=${mod}`, { token: admin });
      expect(stats.body.data).toMatchObject({ total: 40, errors: 8 });
      const bad = await api.call('GET', '/api/search?end_date=2025-13-45', { token: admin });
      expect(bad.status).toBe(422);
      expect(bad.body).toMatchObject({ status: 'error', error: 'VALIDATION_ERROR' });
    });

    it('exports as a direct download in each format', async () => {
      const txt = await api.call('GET', `/api/export?format=txt&module=${mod}&level=CRITICAL`, { token: admin });
      expect(txt.status).toBe(200);
      expect(txt.headers.get('content-disposition')).toMatch(/attachment; filename="logs_\d{8}_\d{6}\.txt"/);
      const lines = txt.text.trim().split('\n');
      expect(lines).toHaveLength(4);
      expect(lines[0]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z CRITICAL \\[${mod}\\] ${marker} `));
      const json = await api.call('GET', `/api/export?format=json&module=${mod}`, { token: admin });
      expect(json.body).toHaveLength(40);
      expect(json.body[0].timestamp < json.body[39].timestamp).toBe(true);
      const empty = await api.call('GET', '/api/export?format=json&module=nothing-here', { token: admin });
      expect(empty.body).toEqual([]);
    });

    it('cleans up and answers the outcome', async () => {
      const old = `old${uid()}`;
      await seedLogEntries(api.deps.knex, { count: 12, module: old, newest: new Date(Date.now() - 500 * 86_400_000) });
      const res = await eventually(async () => {
        const r = await api.call('POST', '/api/cleanup', { token: admin, body: { days: 450 } });
        return r.status === 409 ? null : r;
      }, 120_000, 'a free log store');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'success', data: { days: 450, operation: { status: 'succeeded' } } });
      expect(res.body.data.deleted_count).toBeGreaterThanOrEqual(12);
      expect((await api.call('POST', '/api/cleanup', { token: admin, body: { days: 'many' } })).status).toBe(422);
    });

    it('is for admins only', async () => {
      for (const path of ['/api/search', '/api/errors', '/api/modules', '/api/export', '/api/real-time', '/api/stats', '/api/detail/1']) {
        expect((await api.call('GET', path)).status).toBe(401);
        const res = await api.call('GET', path, { token: manager.token });
        expect(res.status).toBe(403);
        expect(res.body).toMatchObject({ status: 'error', error: 'INSUFFICIENT_PERMISSIONS' });
      }
      expect((await api.call('POST', '/api/cleanup', { token: manager.token, body: { days: 30 } })).status).toBe(403);
    });

    it('/api/health stays public, and adds the log store\'s health for an admin', async () => {
      const open = await api.call('GET', '/api/health');
      expect(open.body).toMatchObject({ status: 'success', data: { status: 'healthy' } });
      expect(open.body.data.logs).toBeUndefined();
      const mine = await api.call('GET', '/api/health', { token: admin });
      expect(mine.body.data.logs).toMatchObject({ status: 'healthy', database: 'connected', newest_entry_at: expect.any(String) });
      expect((await api.call('GET', '/api/health', { token: manager.token })).body.data.logs).toBeUndefined();
    });
  });

  describe('seed 001 (OpenIDCS) system logs, tasks and counts', () => {
    it('answers in its envelope, for admins only', async () => {
      const statis = await api.call('GET', '/api/system/statis', { token: admin });
      expect(statis.body).toMatchObject({ code: 200, msg: 'success', data: { host_count: expect.any(Number), vm_count: expect.any(Number), user_count: expect.any(Number), tasks: { total: expect.any(Number) } } });
      expect(statis.body.data.user_count).toBeGreaterThanOrEqual(2);
      const logs = await api.call('GET', '/api/system/logger/detail?page=1&limit=5', { token: admin });
      expect(logs.body.data).toMatchObject({ page: 1, limit: 5, logs: expect.any(Array) });
      expect(logs.body.data.logs).toHaveLength(5);
      expect(logs.body.data.total).toBeGreaterThanOrEqual(40);
      const tasks = await api.call('GET', '/api/system/tasker?limit=3', { token: admin });
      expect(tasks.body.data.tasks.length).toBeGreaterThan(0);
      expect(tasks.body.data.tasks[0]).toMatchObject({ id: expect.any(String), type: expect.any(String), status: expect.any(String) });
      const bad = await api.call('GET', '/api/system/logger/detail?limit=500', { token: admin });
      expect(bad.status).toBe(422);
      expect(bad.body).toMatchObject({ code: 422, data: { error: 'VALIDATION_ERROR' } });
      expect((await api.call('GET', '/api/system/tasker?status=sleeping', { token: admin })).status).toBe(422);
      for (const path of ['/api/system/statis', '/api/system/logger/detail', '/api/system/tasker']) {
        expect((await api.call('GET', path)).status).toBe(401);
        expect((await api.call('GET', path, { token: manager.token })).status).toBe(403);
      }
    });
  });
});
