import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { temporalConnectionOptions } from '../shared/platform/temporal-connection';
import { freePort, startEmbeddedPostgres } from '../workers/embedded-services';
import { createKnex } from '../db/knex';
import { migrateLatest } from '../db/migrate';
import { ensureAdminUser } from '../db/queries/users/bootstrap';
import { loadConfig } from '../shared/platform/config';
import { startApi } from '../workers/api';
import { apiDepsOn } from '../workers/runtime';
import { entriesPageQuery, type LogFilter } from '../db/queries/logs/entries';
import { seedLogEntries } from '../test/support/logs';
import { percentile } from './support';

/**
 * The log center with 1,000,000 entries (BENCH_LOG_ENTRIES), seeded straight into PostgreSQL over 30 days: p50/p99 of
 * a filtered page and of a full-text search through the API (GET /api/v1/logs: authentication, validation, the page and
 * its bounded count, the envelope) against the same page's SQL run bare on a pg connection (the ceiling).
 */
const TOTAL = Number(process.env.BENCH_LOG_ENTRIES ?? 1_000_000);
const RUNS = Number(process.env.BENCH_LOG_RUNS ?? 200);

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-bench-logs-'));
  fs.chmodSync(dir, 0o755);
  const pg = await startEmbeddedPostgres(path.join(dir, 'pg'), await freePort());
  const config = loadConfig({
    ...process.env, PORT: '0', LOG_LEVEL: 'silent', IDCFLOW_DATA_DIR: path.join(dir, 'data'), DATABASE_URL: pg.databaseUrl, TEMPORAL_ADDRESS: '127.0.0.1:1',
    IDCFLOW_MASTER_KEY: crypto.randomBytes(32).toString('hex'), IDCFLOW_JWT_SECRET: crypto.randomBytes(32).toString('hex'), IDCFLOW_ADMIN_PASSWORD: 'bench-admin-password',
  });
  const knex = createKnex(config.databaseUrl);
  try {
    await migrateLatest(knex);
    await ensureAdminUser(knex, config.admin);
    const seeding = performance.now();
    const chunk = 100_000;
    const span = 30 * 86_400_000;
    for (let done = 0; done < TOTAL; done += chunk) {
      const n = Math.min(chunk, TOTAL - done);
      await seedLogEntries(knex, { count: n, newest: new Date(Date.now() - (done / TOTAL) * span), stepMs: Math.max(1, Math.floor(span / TOTAL)), messageBytes: 120 });
    }
    await knex.raw('VACUUM ANALYZE log_entries');
    const seedSeconds = (performance.now() - seeding) / 1000;
    const size = (await knex.raw("SELECT pg_size_pretty(pg_total_relation_size('log_entries')) AS s")).rows[0].s;
    console.log(`seeded ${TOTAL} entries in ${seedSeconds.toFixed(1)} s (${size} with indexes)`);

    const api = await startApi(config, apiDepsOn(config, knex, new Client({ connection: Connection.lazy(temporalConnectionOptions(config)) })));
    const url = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
    const login = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'bench-admin-password' }) });
    const token = ((await login.json()) as { data: { access_token: string } }).data.access_token;

    const since = new Date(Date.now() - 7 * 86_400_000);
    const cases: Array<{ name: string; query: string; filter: LogFilter }> = [
      { name: 'filtered page: level=ERROR, module=compute', query: 'level=ERROR&module=compute', filter: { levels: ['ERROR'], module: 'compute' } },
      { name: 'filtered page: module=networking, last 7 days, page 5', query: `module=networking&start_time=${since.toISOString()}&page=5`, filter: { module: 'networking', since } },
      { name: 'full-text search: "timeout refused"', query: 'search=timeout%20refused', filter: { search: 'timeout refused' } },
      { name: 'full-text search + level: "certificate" ERROR', query: 'search=certificate&level=ERROR', filter: { search: 'certificate', levels: ['ERROR'] } },
    ];
    const rows: string[] = [];
    const bare = await knex.client.acquireConnection();
    try {
      for (const c of cases) {
        const page = /page=(\d+)/.exec(c.query)?.[1];
        const { sql, bindings } = entriesPageQuery(knex, c.filter, { offset: (Number(page ?? 1) - 1) * 20, limit: 20 }).toSQL().toNative();
        const sqlTimes: number[] = [];
        const apiTimes: number[] = [];
        let matched = 0;
        for (let i = 0; i < RUNS + 10; i++) {
          const t0 = performance.now();
          const r = await bare.query(sql, bindings);
          const t1 = performance.now();
          const res = await fetch(`${url}/api/v1/logs?${c.query}&size=20`, { headers: { authorization: `Bearer ${token}` } });
          const body = (await res.json()) as { data: { logs: unknown[]; pagination: { total: number; total_exact: boolean } } };
          const t2 = performance.now();
          if (res.status !== 200 || body.data.logs.length !== r.rows.length) throw new Error(`${c.name}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
          matched = body.data.pagination.total;
          if (i >= 10) { sqlTimes.push(t1 - t0); apiTimes.push(t2 - t1); }
        }
        const f = (v: number) => v.toFixed(1);
        const [s50, s99, a50, a99] = [percentile(sqlTimes, 50), percentile(sqlTimes, 99), percentile(apiTimes, 50), percentile(apiTimes, 99)];
        rows.push(`| ${c.name} | ${matched >= 1000 ? '≥ 1,000' : matched} | ${f(s50)} ms | ${f(s99)} ms | ${f(a50)} ms | ${f(a99)} ms | ${(a50 / s50).toFixed(1)}× |`);
        console.log(rows.at(-1));
      }
    } finally {
      await knex.client.releaseConnection(bare);
    }
    await api.close();
    const table = [
      `${TOTAL.toLocaleString('en')} entries over 30 days (${size}), ${RUNS} sequential requests per case after 10 warm-up; ${new Date().toISOString()}`,
      '',
      '| query (20 per page, newest first) | matching | bare SQL p50 | bare SQL p99 | GET /api/v1/logs p50 | p99 | p50 ratio |',
      '|---|---|---|---|---|---|---|',
      ...rows,
    ].join('\n');
    console.log(`\n${table}`);
    fs.writeFileSync(path.join(__dirname, 'logs-results.md'), `${table}\n`);
  } finally {
    await knex.destroy();
    await pg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
