/**
 * Network-services benchmark (`npm run bench:netservices`): IPv6 prefix allocation through the API, 50 concurrent clients,
 * at an empty pool and at a pool with BENCH_PREALLOCATED (default 1,000,000) prefixes already allocated (the gap query must not grow with them),
 * against two ceilings measured in the same run: a bare Koa JSON endpoint and a raw single-row INSERT into the table.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { startStack, percentile } from './support';

const CLIENTS = 50;
/** Prefixes allocated before the second measurement (`BENCH_PREALLOCATED`, default 1,000,000). */
const PREALLOCATED = Number(process.env.BENCH_PREALLOCATED ?? 1_000_000);
const PER_CLIENT = 20;

async function timedConcurrent(work: (i: number) => Promise<void>): Promise<number[]> {
  const lat: number[] = [];
  await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
    for (let i = 0; i < PER_CLIENT; i++) {
      const t = performance.now();
      await work(c * PER_CLIENT + i);
      lat.push(performance.now() - t);
    }
  }));
  return lat;
}

const ms = (v: number) => `${v.toFixed(1)} ms`;

async function main() {
  const stack = await startStack();
  const say = (s: string) => process.stdout.write(`${s}\n`);
  try {
    const login = await fetch(`${stack.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'bench-admin-password' }) });
    const token = ((await login.json()) as { data: { access_token: string } }).data.access_token;
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${stack.url}/api/v1${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
      const json = (await res.json()) as { data: { id: number } };
      if (res.status !== 201) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
      return json.data;
    };

    const koa = new Koa();
    koa.use((ctx) => { ctx.body = { success: true, data: { ok: true } }; });
    const bare = http.createServer(koa.callback()).listen(0, '127.0.0.1');
    await new Promise((r) => bare.once('listening', r));
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`;
    const ceiling = await timedConcurrent(async () => { await (await fetch(bareUrl, { method: 'POST', body: '{}' })).text(); });
    bare.close();

    const empty = await post('/ipv6/pools', { name: 'bench-empty', prefix: 'fdaa::/32', prefix_length: 64 });
    const emptyLat = await timedConcurrent(async (i) => { await post('/ipv6/allocations', { pool_id: empty.id, client_name: `c${i}` }); });

    const full = await post('/ipv6/pools', { name: 'bench-full', prefix: 'fdbb::/32', prefix_length: 64 });
    const t0 = performance.now();
    await stack.knex.raw(`INSERT INTO ipv6_allocations (pool_id, cidr, client_name)
      SELECT ?, format('fdbb:0:%s:%s::/64', to_hex(i >> 16), to_hex(i & 65535))::cidr, 'bulk' FROM generate_series(0, ?::int - 1) AS i`, [full.id, PREALLOCATED]);
    // Where allocating them one by one through the API would have left the pool's scan hint.
    await stack.knex.raw('UPDATE ipv6_pools SET scan_from = (SELECT max(cidr) FROM ipv6_allocations WHERE pool_id = ?) WHERE id = ?', [full.id, full.id]);
    await stack.knex.raw('ANALYZE ipv6_allocations');
    const bulkSeconds = (performance.now() - t0) / 1000;
    const fullLat = await timedConcurrent(async (i) => { await post('/ipv6/allocations', { pool_id: full.id, client_name: `c${i}` }); });
    const counts = (await (await fetch(`${stack.url}/api/v1/ipv6/pools/${full.id}`, { headers })).json()) as { data: Record<string, number> };

    const raw = await post('/ipv6/pools', { name: 'bench-raw', prefix: 'fdcc::/32', prefix_length: 64 });
    const rawLat = await timedConcurrent(async (i) => {
      await stack.knex('ipv6_allocations').insert({ pool_id: raw.id, cidr: `fdcc:0:${i.toString(16)}::/64`, client_name: 'raw' });
    });

    const overlaps = await stack.knex.raw(`SELECT count(*)::int AS n FROM ipv6_allocations a JOIN ipv6_allocations b
      ON a.pool_id = b.pool_id AND a.id < b.id AND a.cidr && b.cidr WHERE a.pool_id IN (?, ?)`, [empty.id, full.id]);

    const row = (name: string, lat: number[]) => say(`| ${name} | ${ms(percentile(lat, 50))} | ${ms(percentile(lat, 99))} | ${(percentile(lat, 50) / percentile(ceiling, 50)).toFixed(1)}× |`);
    say(`\n${CLIENTS} concurrent clients × ${PER_CLIENT} requests each (${CLIENTS * PER_CLIENT} per row), ${new Date().toISOString()}\n`);
    say('| what | p50 | p99 | p50 vs bare Koa |');
    say('|---|---|---|---|');
    row('bare Koa JSON endpoint (ceiling)', ceiling);
    row('raw single-row INSERT through knex (database floor)', rawLat);
    row('POST /ipv6/allocations, empty /32 pool', emptyLat);
    row(`POST /ipv6/allocations, /32 pool with ${PREALLOCATED.toLocaleString('en')} allocated`, fullLat);
    say(`\nBulk insert of ${PREALLOCATED.toLocaleString('en')} allocations (exclusion constraint checked on each): ${bulkSeconds.toFixed(1)} s. ` +
      `Pool after the run: ${JSON.stringify({ total: counts.data.total_prefixes, allocated: counts.data.allocated_prefixes, available: counts.data.available_prefixes })}; overlapping pairs: ${overlaps.rows[0].n}.`);
  } finally {
    await stack.stop();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
