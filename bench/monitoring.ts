/**
 * Monitoring benchmark (`npm run bench:monitoring`): a month of metrics for 50 hosts seeded directly in PostgreSQL as the
 * store holds it (raw samples every minute for the last 48 hours, 5-minute rollups before), the rollup of a day of raw
 * samples, p50/p99 of 24-hour (and 30-day) metrics queries through the API, and the WebSocket fan-out latency from an
 * event (a sample posted to the API, NOTIFY, relayed) to 500 connected clients; ceilings measured in the same run: a
 * bare Koa JSON endpoint, and a bare `ws` server broadcasting to 500 clients.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import WebSocket, { WebSocketServer } from 'ws';
import { startStack, percentile } from './support';
import { monitoringRollupWorkflow } from '../workflows/monitoring/alerts';
import { Client, Connection } from '@temporalio/client';
import { temporalConnectionOptions } from '../shared/platform/temporal-connection';

const HOSTS = 50;
const CLIENTS = Number(process.env.BENCH_WS_CLIENTS ?? 500);
const QUERIES = 30;
const EVENTS = 10;
const ms = (v: number) => `${v.toFixed(1)} ms`;
const say = (s: string) => process.stdout.write(`${s}\n`);

// Every figure an agent records, as SQL over generate_series (i: minute index, h: host): plausible and varying.
const FIGURES: Array<[string, string]> = [
  ['system.cpu.usage', '20 + 30 * sin(i / 60.0 + h)'], ['system.cpu.cores', '8'], ['system.load.1', '1 + sin(i / 30.0)'], ['system.load.5', '1.2'], ['system.load.15', '1.1'],
  ['system.memory.total', '34359738368'], ['system.memory.used', '17179869184 + h * 1000000'], ['system.memory.free', '17179869184 - h * 1000000'], ['system.memory.usage', '50 + h % 10'],
  ['system.disk.total', '1099511627776'], ['system.disk.used', '549755813888'], ['system.disk.free', '549755813888'], ['system.disk.usage', '50'],
  ['system.network.bytes_sent', 'i * 1000000'], ['system.network.bytes_recv', 'i * 2000000'], ['system.network.packets_sent', 'i * 1000'], ['system.network.packets_recv', 'i * 2000'],
  ['system.network.bytes_sent_rate', '16666'], ['system.network.bytes_recv_rate', '33333'], ['system.uptime', 'i * 60'],
];
const forHost = (sql: string, h: number) => sql.replace(/\bh\b/g, String(h));
const jsonbSql = (h: number) => `jsonb_build_object(${FIGURES.map(([n, e]) => `'${n}', ${forHost(e, h)}`).join(', ')})`;
const arraySql = (h: number) => `array[${FIGURES.map(([, e]) => `(${forHost(e, h)})::float8`).join(', ')}]`;

async function timed(n: number, work: () => Promise<void>): Promise<number[]> {
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await work();
    lat.push(performance.now() - t);
  }
  return lat;
}

/** Connects `n` clients (in batches), resolves with them once each said it is ready. */
async function connectClients(n: number, url: string, ready: (m: { type: string }) => boolean) {
  const clients: WebSocket[] = [];
  for (let i = 0; i < n; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.on('error', reject);
      const onReady = (raw: WebSocket.RawData) => { if (ready(JSON.parse(raw.toString()))) { ws.off('message', onReady); resolve(); } };
      ws.on('message', onReady);
      clients.push(ws);
    })));
  }
  return clients;
}

/** Sends EVENTS events with `raise` and measures, per event, when each client got it (ms after raising). */
async function fanOut(clients: WebSocket[], raise: (marker: string) => Promise<void>, matches: (m: { type: string; data: Record<string, unknown> }, marker: string) => boolean) {
  const all: number[] = [];
  const lastPerEvent: number[] = [];
  for (let e = 0; e < EVENTS; e++) {
    const marker = `bench-${e}-${Date.now()}`;
    let start = 0;
    const got = clients.map((ws) => new Promise<number>((resolve) => {
      const on = (raw: WebSocket.RawData) => {
        const m = JSON.parse(raw.toString());
        if (matches(m, marker)) { ws.off('message', on); resolve(performance.now() - start); }
      };
      ws.on('message', on);
    }));
    start = performance.now();
    await raise(marker);
    const lat = await Promise.all(got);
    all.push(...lat);
    lastPerEvent.push(Math.max(...lat));
  }
  return { p50: percentile(all, 50), p99: percentile(all, 99), lastP50: percentile(lastPerEvent, 50) };
}

async function main() {
  const stack = await startStack({ IDCFLOW_METRICS_RAW_HOURS: '24' });
  const { knex } = stack;
  try {
    let token = '';
    const signIn = async () => {
      const login = await fetch(`${stack.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'bench-admin-password' }) });
      token = ((await login.json()) as { data: { access_token: string } }).data.access_token;
    };
    const get = async (path: string) => {
      const res = await fetch(`${stack.url}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body.slice(0, 300)}`);
      return JSON.parse(body) as { data: unknown[] };
    };

    // A month for 50 hosts: 5-minute rollups from 30 days ago to 48 hours ago, raw minutes for the last 48 hours.
    await knex('hosts').insert(Array.from({ length: HOSTS }, (_, h) => ({ name: `bench-${h}`, address: 'localhost', engine_type: 'simulator' })));
    const hosts = await knex('hosts').where('name', 'like', 'bench-%').orderBy('id').select('id', 'name');
    await knex('metric_names').insert(FIGURES.map(([name]) => ({ name }))).onConflict('name').ignore();
    const ids = new Map((await knex('metric_names').select('id', 'name')).map((r) => [r.name as string, r.id as number]));
    const idArray = `array[${FIGURES.map(([n]) => ids.get(n)).join(', ')}]::int[]`;
    const now = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    let t = performance.now();
    for (const [index, host] of hosts.entries()) {
      await knex.raw(`insert into metric_rollups (source, bucket, kind, host_id, samples, metric_ids, avg_values, max_values)
        select ?, ?::timestamptz - make_interval(mins => i::int), 'host', ?, 5, ${idArray}, v, v from (
          select i, ${arraySql(index)} as v from generate_series((48 * 60 + 5)::bigint, 30 * 24 * 60, 5) as i) s`, [`host:${host.name}`, now, host.id]);
      await knex.raw(`insert into metric_samples (source, at, kind, host_id, values)
        select ?, ?::timestamptz - make_interval(mins => i::int), 'host', ?, ${jsonbSql(index)} from generate_series(0::bigint, 48 * 60 - 1) as i`, [`host:${host.name}`, now, host.id]);
    }
    const seedSeconds = (performance.now() - t) / 1000;
    const count = async (table: string) => Number((await knex(table).count('* as n').first())!.n);
    const size = async (table: string) => Number((await knex.raw('select pg_total_relation_size(?) as s', [table])).rows[0].s);
    const seeded = { raw: await count('metric_samples'), rollups: await count('metric_rollups') };
    say(`seeded ${seeded.raw} raw samples and ${seeded.rollups} rollups for ${HOSTS} hosts in ${seedSeconds.toFixed(1)} s`);

    // The rollup Schedule's work: the older 24 of the 48 raw hours into 5-minute buckets.
    const connection = await Connection.connect(temporalConnectionOptions(stack.config));
    const temporal = new Client({ connection, namespace: stack.config.temporalNamespace });
    t = performance.now();
    const rolled = await temporal.workflow.execute(monitoringRollupWorkflow, { taskQueue: stack.config.taskQueue, workflowId: 'bench-rollup' });
    const rollupSeconds = (performance.now() - t) / 1000;
    await connection.close();
    await knex.raw('vacuum analyze metric_samples');
    await knex.raw('vacuum analyze metric_rollups');
    const stored = { raw: await count('metric_samples'), rollups: await count('metric_rollups'), rawBytes: await size('metric_samples'), rollupBytes: await size('metric_rollups') };
    say(`rollup: ${rolled.rolled_up} raw samples into ${rolled.rollups} rollups in ${rollupSeconds.toFixed(1)} s; stored ${stored.raw} raw (${(stored.rawBytes / 1048576).toFixed(0)} MiB) + ${stored.rollups} rollups (${(stored.rollupBytes / 1048576).toFixed(0)} MiB)`);

    await signIn();
    const koa = new Koa();
    koa.use((ctx) => { ctx.body = { success: true, data: { ok: true } }; });
    const bare = http.createServer(koa.callback()).listen(0, '127.0.0.1');
    await new Promise((r) => bare.once('listening', r));
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`;
    const ceiling = await timed(QUERIES, async () => { await (await fetch(bareUrl)).text(); });
    bare.close();

    const queries: Array<[string, string]> = [
      ['24 h, one host, every metric (20 series × 288 points)', '/monitoring/metrics/system?hours=24&host=bench-7'],
      ['24 h, one host, one metric', '/monitoring/metrics/system?hours=24&host=bench-7&name=system.cpu.usage'],
      ['24 h, 50 hosts combined, one metric', '/monitoring/metrics/system?hours=24&name=system.cpu.usage'],
      ['24 h, 50 hosts combined, every metric', '/monitoring/metrics/system?hours=24'],
      ['30 days, one host, every metric (2.5 h steps)', '/monitoring/metrics/system?hours=720&host=bench-7'],
      ['dashboard (latest of 50 hosts)', '/monitoring/dashboard'],
    ];
    const rows: string[] = [];
    const c50 = percentile(ceiling, 50);
    rows.push(`| bare Koa JSON (ceiling) | — | ${ms(c50)} | ${ms(percentile(ceiling, 99))} | 1.00 |`);
    for (const [name, path] of queries) {
      const points = (await get(path)).data.length ?? 1;
      const lat = await timed(QUERIES, async () => { await get(path); });
      rows.push(`| ${name} | ${Array.isArray((await get(path)).data) ? points : '—'} | ${ms(percentile(lat, 50))} | ${ms(percentile(lat, 99))} | ${(c50 / percentile(lat, 50)).toFixed(3)} |`);
    }

    await signIn();
    // Fan-out: 500 clients on /ws/system/status; an event is a sample POSTed to the API (stored, NOTIFY, relayed).
    const clients = await connectClients(CLIENTS, `${stack.url.replace('http', 'ws')}/api/v1/ws/system/status?token=${token}`, (m) => m.type === 'connected');
    await new Promise((r) => setTimeout(r, 2000));
    const idc = await fanOut(clients, async (marker) => {
      const res = await fetch(`${stack.url}/api/v1/monitoring/metrics`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ host: 'bench-0', values: { 'system.cpu.usage': 1, 'system.uptime': Number(marker.split('-')[2]) } }),
      });
      if (res.status !== 201) throw new Error(`push: ${res.status}`);
    }, (m, marker) => m.type === 'system_status' && m.data.host === 'bench-0' && Number((m.data as { cpu_usage: number }).cpu_usage) === 1 && marker.length > 0);
    for (const ws of clients) ws.terminate();

    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => wss.once('listening', r));
    wss.on('connection', (ws) => ws.send(JSON.stringify({ type: 'connected' })));
    const bareClients = await connectClients(CLIENTS, `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, (m) => m.type === 'connected');
    const bareFan = await fanOut(bareClients, async (marker) => {
      const text = JSON.stringify({ type: 'system_status', data: { host: 'bench-0', marker }, timestamp: new Date().toISOString() });
      for (const ws of wss.clients) ws.send(text);
    }, (m, marker) => m.type === 'system_status' && m.data.marker === marker);
    for (const ws of bareClients) ws.terminate();
    wss.close();

    say('');
    say(`Figures from ${new Date().toISOString()}: ${HOSTS} hosts, ${stored.raw} raw samples (${(stored.rawBytes / 1048576).toFixed(0)} MiB with indexes) and ${stored.rollups} rollups (${(stored.rollupBytes / 1048576).toFixed(0)} MiB); rolling up a day of raw samples (${rolled.rolled_up} rows → ${rolled.rollups}) took ${rollupSeconds.toFixed(1)} s.`);
    say('');
    say(`#### Metrics queries through the API (${QUERIES} sequential requests each)`);
    say('| query | points | p50 | p99 | ceiling p50 / p50 |');
    say('|---|---|---|---|---|');
    for (const r of rows) say(r);
    say('');
    say(`#### WebSocket fan-out to ${CLIENTS} clients (${EVENTS} events; latency from raising the event to each client's receipt)`);
    say('| path | p50 | p99 | last client (median over events) |');
    say('|---|---|---|---|');
    say(`| bare \`ws\` server, send to each (ceiling) | ${ms(bareFan.p50)} | ${ms(bareFan.p99)} | ${ms(bareFan.lastP50)} |`);
    say(`| POST /monitoring/metrics → PostgreSQL NOTIFY → /ws/system/status | ${ms(idc.p50)} | ${ms(idc.p99)} | ${ms(idc.lastP50)} |`);
  } finally {
    await stack.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
