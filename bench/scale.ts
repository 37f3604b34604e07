/**
 * A big operator's database (`npm run bench:scale`): seeded straight in PostgreSQL — BENCH_USERS users (10,000),
 * BENCH_HOSTS hosts (500), BENCH_INSTANCES instances (100,000), BENCH_OPERATIONS operations (1,000,000) with two events
 * each, BENCH_AUDIT audit entries (1,000,000) — then p50/p99 of the native list and filter endpoints against the same SQL
 * (the statements the API ran for that request, captured and replayed) run bare through knex.
 * Target: p99 under 50 ms for a page. BENCH_SAMPLES requests per measure (100).
 */
import os from 'node:os';
import type { Knex } from 'knex';
import { capturedSql, percentile, startStack } from './support';

const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const HOSTS = Number(process.env.BENCH_HOSTS ?? 500);
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 100_000);
const OPERATIONS = Number(process.env.BENCH_OPERATIONS ?? 1_000_000);
const AUDIT = Number(process.env.BENCH_AUDIT ?? 1_000_000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 100);
const TYPES = ['instance.create', 'instance.delete', 'instance.power', 'instance.update', 'host.scan', 'user.delete', 'dbsync.sync', 'network.apply'];

/** Everything through generate_series, in the database: no rows cross the wire. */
async function seed(knex: Knex) {
  const t0 = performance.now();
  const firstUser = Number((await knex.raw(`insert into users (username, email, full_name, password_hash, role)
    select 'scale_user_' || i, 'scale' || i || '@example.test', 'Scale User ' || i, 'not-a-hash', case when i % 100 = 0 then 'manager' else 'user' end
    from generate_series(1, ?) i returning id`, [USERS])).rows[0].id);
  const firstHost = Number((await knex.raw(`insert into hosts (name, address, engine_type, options)
    select 'scale-host-' || i, 'local', 'simulator', '{}' from generate_series(1, ?) i returning id`, [HOSTS])).rows[0].id);
  await knex.raw(`insert into instances (uuid, host_id, name, owner_id, state, engine_ref, created_at, updated_at)
    select 'scale-' || i, ? + (i % ?), 'inst-' || i, ? + (i % ?),
      case when i % 50 = 0 then 'error' when i % 10 = 0 then 'stopped' else 'running' end, 'ref-' || i,
      now() - i * interval '1 minute', now()
    from generate_series(1, ?) i`, [firstHost, HOSTS, firstUser, USERS, INSTANCES]);
  await knex.raw(`insert into operations (id, type, status, resource_type, resource_id, resource_name, created_by, progress_percent, created_at, updated_at, finished_at)
    select 'scale-op-' || i, (?::text[])[1 + i % ?],
      case when i % 100000 = 0 then 'running' when i % 20 = 0 then 'failed' when i % 97 = 0 then 'canceled' else 'succeeded' end,
      'instance', case when i % 100000 = 0 then 'active-' || i else 'scale-' || (1 + i % ?) end, 'inst-' || (1 + i % ?), ? + (i % ?), 100,
      now() - i * interval '2 seconds', now() - i * interval '2 seconds', now() - i * interval '2 seconds' + interval '1 second'
    from generate_series(1, ?) i`, [TYPES, TYPES.length, INSTANCES, INSTANCES, firstUser, USERS, OPERATIONS]);
  await knex.raw(`insert into operation_events (operation_id, event_key, step, percent, message, at)
    select 'scale-op-' || i, e.k, e.step, e.pct, e.step || ' of operation ' || i, now() - i * interval '2 seconds'
    from generate_series(1, ?) i, (values ('1:validate', 'validate', 5), ('2:record', 'record', 95)) e(k, step, pct)`, [OPERATIONS]);
  await knex.raw(`insert into audit_log (at, level, module, action, message, user_id, username, resource_type, resource_id)
    select now() - i * interval '2 seconds', case when i % 50 = 0 then 'WARNING' else 'INFO' end, (array['auth','users','compute','platform'])[1 + i % 4],
      'action_' || (i % 10), 'Entry ' || i, ? + (i % ?), 'scale_user_' || (1 + i % ?), 'instance', 'scale-' || (1 + i % ?)
    from generate_series(1, ?) i`, [firstUser, USERS, USERS, INSTANCES, AUDIT]);
  await knex.raw('vacuum analyze');
  return { seconds: (performance.now() - t0) / 1000, firstUser, firstHost };
}

interface Measure { name: string; path: () => string }

async function main() {
  const stack = await startStack({ IDCFLOW_AUTH_CACHE_SECONDS: '60' });
  const say = (s: string) => console.log(s);
  try {
    const seeded = await seed(stack.knex);
    const login = await fetch(`${stack.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'bench-admin-password' }) });
    const token = ((await login.json()) as { data: { access_token: string } }).data.access_token;
    const pick = (n: number) => Math.floor(Math.random() * n);
    const page = () => 1 + pick(5);
    const since = (hours: number) => new Date(Date.now() - hours * 3_600_000).toISOString();
    const measures: Measure[] = [
      { name: 'instances by owner', path: () => `/api/v1/instances?owner_id=${seeded.firstUser + pick(USERS)}` },
      { name: 'instances by host', path: () => `/api/v1/instances?host_id=${seeded.firstHost + pick(HOSTS)}&page=${page()}` },
      { name: 'instances by status (error, 2 %)', path: () => `/api/v1/instances?state=error&page=${page()}` },
      { name: 'instances by status (running, 88 %)', path: () => `/api/v1/instances?state=running&page=${page()}` },
      { name: 'instances, all', path: () => `/api/v1/instances?page=${page()}` },
      { name: 'operations by type', path: () => `/api/v1/operations?type=${TYPES[pick(TYPES.length)]}&page=${page()}` },
      { name: 'operations by status (failed, 5 %)', path: () => `/api/v1/operations?status=failed&page=${page()}` },
      { name: 'operations by status (running, rare)', path: () => '/api/v1/operations?status=running' },
      { name: 'operations by resource', path: () => `/api/v1/operations?resource_type=instance&resource_id=scale-${1 + pick(INSTANCES)}` },
      { name: 'operations, all', path: () => `/api/v1/operations?page=${page()}` },
      { name: 'operation events', path: () => `/api/v1/operations/scale-op-${1 + pick(OPERATIONS)}/events` },
      { name: 'users by search (many match)', path: () => `/api/v1/users?search=scale_user_${1 + pick(9)}&page=${page()}` },
      { name: 'users by search (one matches)', path: () => `/api/v1/users?search=scale${1 + pick(USERS)}@` },
    ];
    const http = (path: string) => fetch(stack.url + path, { headers: { authorization: `Bearer ${token}` } }).then(async (r) => {
      if (r.status !== 200) throw new Error(`${path} answered ${r.status}: ${await r.text()}`);
      return r.json();
    });
    const bare = (queries: Array<{ sql: string; bindings: unknown[] }>) => Promise.all(queries.map((q) => stack.knex.raw(q.sql.replace(/\$\d+/g, '?'), q.bindings as Knex.RawBinding[])));

    say(`# idcflow at scale — ${new Date().toISOString()}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'} (shared), Node ${process.version}`);
    say('');
    say(`Seeded in ${seeded.seconds.toFixed(0)} s: ${USERS} users, ${HOSTS} hosts, ${INSTANCES} instances, ${OPERATIONS} operations with ${OPERATIONS * 2} events, ${AUDIT} audit entries.`);
    say(`${SAMPLES} requests per measure, one after another, pages 1–5 at random, admin JWT; bare = the same SQL statements the API ran for that request, replayed through knex without HTTP.`);
    say('');
    say('| list | p50 API | p99 API | p50 bare SQL | p99 bare SQL | p99 < 50 ms | total answered |');
    say('|---|---|---|---|---|---|---|');
    for (const m of measures) {
      for (let i = 0; i < 5; i++) await http(m.path()); // warm: plans, the auth cache, pages in memory
      const api: number[] = [];
      const raw: number[] = [];
      let total = '';
      for (let i = 0; i < SAMPLES; i++) {
        const path = m.path();
        const t0 = performance.now();
        const { result, queries } = await capturedSql([stack.api.deps.knex], () => http(path));
        api.push(performance.now() - t0);
        const t1 = performance.now();
        await bare(queries);
        raw.push(performance.now() - t1);
        const p = (result as { data: { pagination?: { total: number } } }).data.pagination;
        if (p) total = String(p.total);
      }
      const p99 = percentile(api, 99);
      say(`| ${m.name} | ${percentile(api, 50).toFixed(1)} ms | ${p99.toFixed(1)} ms | ${percentile(raw, 50).toFixed(1)} ms | ${percentile(raw, 99).toFixed(1)} ms | ${p99 < 50 ? 'yes' : 'no'} | ${total || '—'} |`);
    }
    // The native audit list belongs to the logs domain; its hottest query (a time range, newest first) measured bare.
    const auditRange: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const from = since(24 * (1 + pick(20)));
      const to = new Date(new Date(from).getTime() + 6 * 3_600_000).toISOString();
      const q = stack.knex('audit_log').where('at', '>=', from).where('at', '<', to).orderBy([{ column: 'at', order: 'desc' }, { column: 'id', order: 'desc' }]);
      const t0 = performance.now();
      await Promise.all([q.clone().offset(20 * pick(5)).limit(20), stack.knex.from(q.clone().clearOrder().clearSelect().select(stack.knex.raw('1')).limit(10_001).as('b')).count('* as n')]);
      auditRange.push(performance.now() - t0);
    }
    say(`| audit entries by time range (6 h window, bare SQL only: the endpoint is the logs domain's) | — | — | ${percentile(auditRange, 50).toFixed(1)} ms | ${percentile(auditRange, 99).toFixed(1)} ms | ${percentile(auditRange, 99) < 50 ? 'yes' : 'no'} | |`);
  } finally {
    await stack.stop();
  }
}

main().then(() => process.exit(0)).catch((err) => {
  console.error(err);
  process.exit(1);
});
