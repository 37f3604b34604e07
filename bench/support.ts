import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import autocannon from 'autocannon';
import { freePort, startEmbeddedPostgres, startTemporalDevServer } from '../workers/embedded-services';
import type { Knex } from 'knex';
import { createKnex } from '../db/knex';
import { migrateLatest } from '../db/migrate';
import { ensureAdminUser } from '../db/queries/users/bootstrap';
import { loadConfig, type Config } from '../shared/platform/config';
import { createLogger } from '../shared/platform/logger';
import { createMainWorker } from '../workers/runtime';
import { startApi } from '../workers/api';

/** A whole idcflow on this machine for a benchmark: embedded PostgreSQL, the Temporal dev server, a worker and the API. */
export async function startStack(env: Record<string, string> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-bench-'));
  fs.chmodSync(dir, 0o755);
  const pg = await startEmbeddedPostgres(path.join(dir, 'pg'), await freePort());
  const temporal = await startTemporalDevServer({ dataDir: path.join(dir, 'temporal'), port: await freePort(), log: () => undefined });
  const config: Config = loadConfig({
    ...process.env, PORT: '0', LOG_LEVEL: 'silent', IDCFLOW_DATA_DIR: path.join(dir, 'data'),
    IDCFLOW_MASTER_KEY: crypto.randomBytes(32).toString('hex'), IDCFLOW_JWT_SECRET: crypto.randomBytes(32).toString('hex'),
    IDCFLOW_ADMIN_PASSWORD: 'bench-admin-password', DATABASE_URL: pg.databaseUrl, TEMPORAL_ADDRESS: temporal.address,
    IDCFLOW_TASK_QUEUE: 'bench', IDCFLOW_API_RATE_LIMIT: '1000000', ...env,
  });
  const knex = createKnex(config.databaseUrl);
  await migrateLatest(knex);
  await ensureAdminUser(knex, config.admin);
  const { worker, connection } = await createMainWorker(config, knex, createLogger('silent'), { handleSignals: false });
  const running = worker.run();
  const api = await startApi(config);
  const address = api.server.address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;
  return {
    config,
    knex,
    api,
    temporalAddress: temporal.address,
    url,
    client: adminClient(url, config.admin),
    async stop() {
      await api.close();
      worker.shutdown();
      await running;
      await connection.close();
      await knex.destroy();
      await temporal.stop();
      await pg.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Calls to the stack's API as its admin (signed in on first use): what the agent helpers need to join a host. */
function adminClient(url: string, admin: Config['admin']) {
  let token: Promise<string> | undefined;
  const call = async (method: string, path: string, opts: { token?: string; body?: unknown } = {}) => {
    const res = await fetch(url + path, {
      method, body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, text };
  };
  const signIn = async () => (await call('POST', '/api/v1/auth/login', { body: { username: admin.username, password: admin.password } })).body.data.access_token as string;
  return { url, call, admin: () => (token ??= signIn()) };
}

export interface LoadResult { name: string; requestsPerSecond: number; p50ms: number; p99ms: number; errors: number }

/** A bounded load (fixed duration, fixed connections) against one URL on loopback. */
export async function load(name: string, url: string, opts: { headers?: Record<string, string>; seconds?: number; connections?: number; method?: 'GET' | 'POST'; body?: string } = {}): Promise<LoadResult> {
  const result = await autocannon({ url, headers: opts.headers, ...(opts.method ? { method: opts.method } : {}), ...(opts.body ? { body: opts.body } : {}), duration: opts.seconds ?? 5, connections: opts.connections ?? 10 });
  return {
    name,
    requestsPerSecond: Math.round(result.requests.average),
    p50ms: result.latency.p50,
    p99ms: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

/** The SQL statements (with their bindings) the pools run while `fn` runs: a bare endpoint can replay exactly them. */
export async function capturedSql<T>(pools: Knex[], fn: () => Promise<T>): Promise<{ result: T; queries: Array<{ sql: string; bindings: unknown[] }> }> {
  const queries: Array<{ sql: string; bindings: unknown[] }> = [];
  const listener = (q: { sql: string; bindings?: unknown[] }) => { queries.push({ sql: q.sql, bindings: q.bindings ?? [] }); };
  for (const knex of new Set(pools)) knex.on('query', listener);
  try {
    return { result: await fn(), queries };
  } finally {
    for (const knex of new Set(pools)) knex.off('query', listener);
  }
}

/** Runs `fn(0..count-1)` with at most `concurrency` at a time. */
export async function pool<T>(count: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) { const i = next++; out[i] = await fn(i); }
  }));
  return out;
}

export const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
