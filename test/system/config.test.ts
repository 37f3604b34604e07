import jwt from 'jsonwebtoken';
import { useOwnDatabase } from '../userdata/own-database';
import { startTestApi, expectError, eventually, type TestApi, type TestUser } from '../support/api';
import { addHost, uniq } from '../support/compute';
import { spawnWorker } from '../support/processes';
import { spawnAgent } from '../support/agents';
import { createAvailabilityActivities } from '../../activities/availability/backups';
import { createLogger } from '../../shared/platform/logger';

// Two API processes' worth of everything (each its own LISTEN connection, loggers, rate limiter) on one database of
// this file's own: a setting changed through one must take effect in the other, without a restart.
let api1: TestApi;
let api2: TestApi;
let admin: string;
let user: TestUser;

beforeAll(async () => {
  await useOwnDatabase('system_config');
  api1 = await startTestApi();
  api2 = await startTestApi();
  admin = await api1.admin();
  user = await api1.createUser('user');
}, 60_000);
afterAll(async () => {
  await api1?.close();
  await api2?.close();
});

const C = '/api/v1/system/config';

describe('GET /api/v1/system/info', () => {
  it('answers the host, the application and the database with its pool', async () => {
    const res = await api1.call('GET', '/api/v1/system/info', { token: admin });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      system: { hostname: expect.any(String), os: expect.any(String), kernel: expect.any(String), architecture: expect.any(String), uptime: expect.any(Number) },
      application: { name: 'idcflow', version: expect.stringMatching(/^\d+\.\d+\.\d+/), environment: 'test', process: { node_id: expect.stringMatching(/^api:/) } },
      database: { type: 'PostgreSQL', version: expect.stringMatching(/^\d+/), status: 'connected', pool_size: 10, active_connections: expect.any(Number) },
    });
    expect(res.body.data.system.load_average).toHaveLength(3);
  });

  it('refuses no token (401) and a non-admin (403)', async () => {
    expectError(await api1.call('GET', '/api/v1/system/info'), 401, 'INVALID_CREDENTIALS');
    expectError(await api1.call('GET', '/api/v1/system/info', { token: user.token }), 403, 'INSUFFICIENT_PERMISSIONS');
  });
});

describe('GET/PUT /api/v1/system/config', () => {
  it('answers the environment\'s defaults before anything is stored', async () => {
    const res = await api1.call('GET', C, { token: admin });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      app_name: 'idcflow', log_level: 'SILENT', backup_retention: 30, session_timeout: 900, api_rate_limit: 1_000_000, max_log_size: 100,
      cache_enabled: false, monitoring_enabled: true, database_pool_size: 10, sources: { log_level: 'environment', api_rate_limit: 'environment' }, updated_at: null,
    });
  });

  it('refuses bad values naming each field, read-only and unknown fields, an empty update; no token, wrong role', async () => {
    const bad = await api1.call('PUT', C, { token: admin, body: { log_level: 'LOUD', api_rate_limit: -1, session_timeout: 'long' } });
    expectError(bad, 422, 'VALIDATION_ERROR');
    expect(bad.body.error.details.errors.map((e: { field: string }) => e.field).sort()).toEqual(['api_rate_limit', 'log_level', 'session_timeout']);
    const readOnly = await api1.call('PUT', C, { token: admin, body: { app_name: 'mine' } });
    expectError(readOnly, 422, 'VALIDATION_ERROR');
    expect(JSON.stringify(readOnly.body.error.details)).toContain('app_name');
    expectError(await api1.call('PUT', C, { token: admin, body: {} }), 422, 'VALIDATION_ERROR');
    expectError(await api1.call('PUT', C, { token: admin, rawBody: '{"log_level":' }), 400, 'BAD_REQUEST');
    expectError(await api1.call('PUT', C, { body: { log_level: 'INFO' } }), 401, 'INVALID_CREDENTIALS');
    expectError(await api1.call('PUT', C, { token: user.token, body: { log_level: 'DEBUG' } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api1.call('GET', C, { token: user.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expect((await api1.call('GET', C, { token: admin })).body.data.sources.log_level).toBe('environment');
  });

  it('changes the log level of a running worker process and a running agent process too', async () => {
    // Nothing is stored yet: both start at their environment's level (info) and heartbeat the level they apply.
    const host = await addHost(api1, { use_agent: true });
    const env = { IDCFLOW_NODE_HEARTBEAT_SECONDS: '1' };
    const worker = await spawnWorker(uniq('config'), env);
    const agent = await spawnAgent(api1, host, { ...process.env, LOG_LEVEL: 'info', ...env });
    try {
      const levels = async () => {
        const nodes = (await api1.call('GET', '/api/v1/cluster/nodes?size=100', { token: admin })).body.data.nodes as Array<{ metadata: { pid?: number; log_level?: string } }>;
        const of = (pid?: number) => nodes.find((n) => n.metadata.pid === pid)?.metadata.log_level;
        return [of(worker.proc.pid), of(agent.proc.pid)];
      };
      await eventually(async () => (await levels()).every((l) => l === 'info'), 15_000, 'both processes at info');
      expect((await api1.call('PUT', C, { token: admin, body: { log_level: 'ERROR' } })).status).toBe(200);
      await eventually(async () => (await levels()).every((l) => l === 'error'), 15_000, 'both processes at error');
      expect((await api1.call('PUT', C, { token: admin, body: { log_level: 'SILENT' } })).status).toBe(200);
      await eventually(async () => (await levels()).every((l) => l === 'silent'), 15_000, 'both processes silent');
    } finally {
      await Promise.all([worker.stop(), agent.stop()]);
    }
  });

  it('changes the log level of the running loggers of both API processes, audited', async () => {
    expect(api2.deps.logger.level).toBe('silent');
    const res = await api1.call('PUT', C, { token: admin, body: { log_level: 'error' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, data: { log_level: 'ERROR', updated_at: expect.any(String) } });
    expect(api1.deps.logger.level).toBe('error');
    await eventually(async () => api2.deps.logger.level === 'error', 10_000, 'the second API to take the new level');
    // A request's logger is a child made per request: it logs at the new level too.
    expect(api2.deps.logger.child({}).isLevelEnabled('error')).toBe(true);
    expect(api2.deps.logger.isLevelEnabled('warn')).toBe(false);
    const read = await api2.call('GET', C, { token: admin });
    expect(read.body.data).toMatchObject({ log_level: 'ERROR', sources: { log_level: 'database' }, updated_at: expect.any(String) });
    const row = await api1.deps.knex('audit_log').where({ module: 'system', action: 'config_update' }).orderBy('id', 'desc').first();
    expect(row).toMatchObject({ username: 'admin', resource_type: 'system_config' });
    expect(row.details).toMatchObject({ changes: { log_level: { from: 'SILENT', to: 'ERROR' } } });
    await api1.call('PUT', C, { token: admin, body: { log_level: 'SILENT' } });
    await eventually(async () => api2.deps.logger.level === 'silent', 10_000, 'the second API to be silent again');
  });

  it('gives sessions opened from now on the session_timeout as their access token lifetime', async () => {
    expect((await api1.call('PUT', C, { token: admin, body: { session_timeout: 120 } })).status).toBe(200);
    const tokens = await eventually(async () => {
      const t = await api2.login(user.username, user.password);
      return t.expires_in === 120 ? t : null;
    }, 10_000, 'the second API to issue 120 s tokens');
    const claims = jwt.decode(tokens.access_token) as jwt.JwtPayload;
    expect(claims.exp! - claims.iat!).toBe(120);
    await api1.call('PUT', C, { token: admin, body: { session_timeout: 900 } });
  });

  it('feeds backup_retention to the backup statistics and to the retention of platform backups', async () => {
    expect((await api1.call('PUT', C, { token: admin, body: { backup_retention: 7 } })).status).toBe(200);
    await eventually(async () => (await api2.call('GET', '/api/v1/backup/stats', { token: admin })).body.data?.retention?.keep_days === 7, 10_000, 'stats to show 7 days');
    const { knex } = api1.deps;
    const day = 86_400_000;
    await knex('platform_backups').insert([
      { id: 'sys-old', name: 'old', type: 'config', status: 'completed', created_at: new Date(Date.now() - 10 * day) },
      { id: 'sys-mid', name: 'mid', type: 'config', status: 'completed', created_at: new Date(Date.now() - 5 * day) },
      { id: 'sys-new', name: 'new', type: 'config', status: 'completed', created_at: new Date() },
    ]);
    const activities = createAvailabilityActivities({ knex, config: api1.config, logger: createLogger('silent') });
    expect(await activities.prunePlatformBackups({ keep: 'sys-new' })).toEqual(['sys-old']);
    expect((await knex('platform_backups').pluck('id')).sort()).toEqual(['sys-mid', 'sys-new']);
    await api1.call('PUT', C, { token: admin, body: { backup_retention: 1 } });
    expect(await activities.prunePlatformBackups({ keep: 'sys-new' })).toEqual(['sys-mid']);
  });

  it('enforces api_rate_limit per user and per anonymous address on the other API at once: 429 with Retry-After in each surface\'s envelope', async () => {
    // Made before the limit drops: each has its own count, the admin's only the two changes below.
    const changer = await api1.createUser('admin');
    const limited = await api1.createUser('user');
    const other = await api1.createUser('user');
    expect((await api1.call('PUT', C, { token: changer.token, body: { api_rate_limit: 5 } })).status).toBe(200);
    await eventually(async () => api2.deps.system.settings.current.api_rate_limit === 5, 10_000, 'the second API to take the limit');
    for (let i = 0; i < 5; i++) expect((await api2.call('GET', '/api/v1/auth/me', { token: limited.token })).status).toBe(200);
    const over = await api2.call('GET', '/api/v1/auth/me', { token: limited.token });
    expectError(over, 429, 'RATE_LIMIT_EXCEEDED');
    const retryAfter = Number(over.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(over.body.error.details).toMatchObject({ retry_after: retryAfter, limit: 5, window_seconds: 60 });
    // The same user on a compat surface: its own envelope (seed 001), still 429.
    const compat = await api2.call('GET', '/api/system/tquery', { token: limited.token });
    expect(compat.status).toBe(429);
    expect(compat.body).toMatchObject({ code: 429, data: { error: 'RATE_LIMIT_EXCEEDED' } });
    // Another user is counted on their own.
    expect((await api2.call('GET', '/api/v1/auth/me', { token: other.token })).status).toBe(200);
    // Anonymous callers are counted by address, on public routes too; a process started now reads the stored limit
    // (and has counted nothing yet for this address, unlike these two, where the logins above counted).
    const api3 = await startTestApi();
    try {
      const anonymous = [];
      for (let i = 0; i < 6; i++) anonymous.push((await api3.call('GET', '/api/v1/status/health')).status);
      expect(anonymous).toEqual([200, 200, 200, 200, 200, 429]);
    } finally {
      await api3.close();
    }
    // Turned off: the same user passes again on both processes.
    expect((await api1.call('PUT', C, { token: changer.token, body: { api_rate_limit: 0 } })).status).toBe(200);
    await eventually(async () => (await api2.call('GET', '/api/v1/auth/me', { token: limited.token })).status === 200, 10_000, 'the limit to be lifted');
  });
});
