import Koa from 'koa';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { temporalConnectionOptions } from '../shared/platform/temporal-connection';
import { startApi } from '../workers/api';
import { noopWorkflow } from '../workflows/platform/noop';
import fs from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { findSourceMap } from 'node:module';
import { capturedSql, load, percentile, pool, startStack, type LoadResult } from './support';

type Json = { data: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];

/** One row per load: its median round, and its share of the ceiling's (the first load's) rate and CPU time, median and range. */
function printRounds(loads: Array<Array<LoadResult & { cpuUs: number }>>) {
  console.log('| endpoint | req/s (median) | p50 ms | p99 ms | errors | CPU µs/request | share of ceiling, median (range) | by CPU time, median (range) |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const runs of loads) {
    const shares = runs.map((x, r) => x.requestsPerSecond / loads[0][r].requestsPerSecond);
    const byCpu = runs.map((x, r) => loads[0][r].cpuUs / x.cpuUs);
    const mid = runs[runs.map((x) => x.requestsPerSecond).indexOf(median(runs.map((x) => x.requestsPerSecond)))];
    const range = (v: number[]) => `${median(v).toFixed(2)} (${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)})`;
    console.log(`| ${mid.name} | ${mid.requestsPerSecond} | ${mid.p50ms} | ${mid.p99ms} | ${runs.reduce((a, x) => a + x.errors, 0)} | ${median(runs.map((x) => x.cpuUs)).toFixed(0)} | ${range(shares)} | ${range(byCpu)} |`);
  }
}

/** A load, with the CPU time this process (server and client alike) spent per request. */
async function measured(name: string, url: string, seconds: number, headers: Record<string, string>) {
  const before = process.cpuUsage();
  const result = await load(name, url, { seconds, headers });
  const used = process.cpuUsage(before);
  return { ...result, cpuUs: (used.user + used.system) / Math.max(1, result.requestsPerSecond * seconds) };
}

type ProfileNode = { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }; children?: number[] };

/**
 * BENCH_PROFILE=<dir>: a load of `url` under V8's sampling profiler; the profile is written to <dir> (open it in Chrome's
 * DevTools) and the server's top frames by self time are returned as a table (samples under autocannon's own frames,
 * the client, are left out of the list but not of the total).
 */
async function profile(name: string, file: string, url: string, seconds: number, headers: Record<string, string>, dir: string): Promise<string> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  await load('profiled', url, { seconds, headers });
  const { profile: p } = (await session.post('Profiler.stop')) as unknown as { profile: { nodes: ProfileNode[]; samples: number[] } };
  session.disconnect();
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, file), JSON.stringify(p));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const frames = new Map<string, number>();
  let client = 0;
  for (const id of p.samples) {
    let inClient = false;
    for (let at: number | undefined = id; at !== undefined && !inClient; at = parent.get(at)) inClient = /autocannon|http-parser-js/.test(byId.get(at)!.callFrame.url);
    if (inClient) { client += 1; continue; }
    const { functionName, url: file, lineNumber, columnNumber } = byId.get(id)!.callFrame;
    // Our TypeScript runs compiled by tsx: its source maps give the line of the source.
    const line = (file.includes('node_modules') ? undefined : findSourceMap(file)?.findEntry(lineNumber, columnNumber) as { originalLine?: number } | undefined)?.originalLine ?? lineNumber;
    const where = file ? `${file.replace(/^file:\/\//, '').replace(/^.*?node_modules\//, '').replace(process.cwd() + '/', '')}:${line + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    frames.set(key, (frames.get(key) ?? 0) + 1);
  }
  const share = (n: number) => `${((100 * n) / p.samples.length).toFixed(1)} %`;
  const top = [...frames].sort((a, b) => b[1] - a[1]).slice(0, 15);
  return [`${name} under the profiler: top frames by self time, of ${p.samples.length} samples (autocannon's own: ${share(client)})`,
    '| frame | self |', '|---|---|', ...top.map(([k, n]) => `| \`${k}\` | ${share(n)} |`)].join('\n');
}

/**
 * The platform's own overhead, measured in one run on this machine:
 *  1. HTTP: a bare Koa JSON endpoint (the ceiling) against idcflow's public health endpoint and an authenticated read
 *     (GET /auth/me with a JWT, and with an API token: the whole middleware stack, the credential check cached in the
 *     replica), in rounds; BENCH_PROFILE=<dir> adds a profile of GET /auth/me and its top frames.
 *  2. An authenticated list (a page of 20 users) against a bare Koa endpoint running the same SQL statements (those the
 *     API ran for that request, captured and replayed).
 *  3. Operations started per second by 20 concurrent clients (POST /api/v1/instances on an API whose task queue no
 *     worker polls, so only the start is measured) against raw Temporal workflow.start at the same concurrency.
 *  4. Operations: latency from the request to the 202 Accepted of a durable operation (row + workflow start),
 *     and from the request to its completion.
 * Loads go to loopback only, for a fixed time.
 */
async function main() {
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const stack = await startStack();
  const bare = new Koa().use((ctx) => { ctx.body = { success: true, data: { status: 'healthy' } }; }).listen(0, '127.0.0.1');
  await new Promise((r) => bare.once('listening', r));
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`;
  try {
    const call = async (method: string, path: string, token?: string, headers: Record<string, string> = {}, body?: unknown) => {
      const res = await fetch(stack.url + path, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers }, body: body ? JSON.stringify(body) : undefined });
      return { status: res.status, body: (await res.json()) as Json };
    };
    const login = await fetch(`${stack.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'bench-admin-password' }) });
    const jwt = ((await login.json()) as Json).data.access_token as string;
    const apiToken = ((await (await fetch(`${stack.url}/api/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` }, body: JSON.stringify({ name: 'bench' }) })).json()) as Json).data.token as string;

    // 1. Warmed up (the JIT, the caches), then rounds of the four loads one after another: the machine is shared, so each
    //    round's ratios are read against that round's ceiling, and the median and the spread over the rounds are given.
    const endpoints: Array<[string, string, Record<string, string>]> = [
      ['bare Koa JSON (ceiling)', bareUrl, {}],
      ['GET /api/v1/status/health', `${stack.url}/api/v1/status/health`, {}],
      ['GET /api/v1/auth/me (JWT)', `${stack.url}/api/v1/auth/me`, { authorization: `Bearer ${jwt}` }],
      ['GET /api/v1/auth/me (API token)', `${stack.url}/api/v1/auth/me`, { authorization: `Bearer ${apiToken}` }],
    ];
    for (const [name, url, headers] of endpoints) await load(name, url, { seconds: 1, headers });
    const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
    const http: Array<Array<LoadResult & { cpuUs: number }>> = endpoints.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (const [i, [name, url, headers]] of endpoints.entries()) http[i].push(await measured(name, url, seconds, headers));
    }
    const profiled = process.env.BENCH_PROFILE ? await profile('GET /api/v1/auth/me (JWT)', 'auth-me-jwt.cpuprofile', `${stack.url}/api/v1/auth/me`, seconds, { authorization: `Bearer ${jwt}` }, process.env.BENCH_PROFILE) : null;

    // 2. An authenticated page of 20 against the same SQL bare.
    const { queries } = await capturedSql([stack.api.deps.knex], () => call('GET', '/api/v1/users?size=20', jwt));
    const listing = new Koa().use(async (ctx) => {
      const [rows, count] = await Promise.all(queries.map((q) => stack.knex.raw(q.sql.replace(/\$\d+/g, '?'), q.bindings as never)));
      ctx.body = { success: true, data: { users: rows.rows, pagination: { total: Number(count?.rows?.[0]?.n ?? 0) } } };
    }).listen(0, '127.0.0.1');
    await new Promise((r) => listing.once('listening', r));
    const listLoads: Array<[string, string, Record<string, string>]> = [
      [`bare Koa running the same ${queries.length} SQL statements (ceiling)`, `http://127.0.0.1:${(listing.address() as AddressInfo).port}/`, {}],
      ['GET /api/v1/users?size=20 (JWT)', `${stack.url}/api/v1/users?size=20`, { authorization: `Bearer ${jwt}` }],
    ];
    for (const [name, url, headers] of listLoads) await load(name, url, { seconds: 1, headers });
    const lists: Array<Array<LoadResult & { cpuUs: number }>> = listLoads.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (const [i, [name, url, headers]] of listLoads.entries()) lists[i].push(await measured(name, url, seconds, headers));
    }
    listing.close();
    const listProfiled = process.env.BENCH_PROFILE ? await profile('GET /api/v1/users?size=20 (JWT)', 'users-page-jwt.cpuprofile', `${stack.url}/api/v1/users?size=20`, seconds, { authorization: `Bearer ${jwt}` }, process.env.BENCH_PROFILE) : null;

    // 3. Operations started per second, 20 clients at a time, against raw workflow.start at the same concurrency.
    const starts = Number(process.env.BENCH_STARTS ?? 200);
    const host = (await call('POST', '/api/v1/hosts', jwt, {}, { name: 'bench-sim', address: 'local', engine_type: 'simulator' })).body.data;
    const idleConfig = { ...stack.config, taskQueue: 'bench-unpolled' };
    const idleApi = await startApi(idleConfig, { ...stack.api.deps, config: idleConfig });
    const idleUrl = `http://127.0.0.1:${(idleApi.server.address() as AddressInfo).port}`;
    const client = new Client({ connection: await Connection.connect(temporalConnectionOptions(stack.config)) });
    await pool(20, 20, (i) => client.workflow.start(noopWorkflow, { workflowId: `warm-${i}`, taskQueue: 'bench-unpolled' }));
    const post = (i: number) => fetch(`${idleUrl}/api/v1/instances`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` }, body: JSON.stringify({ name: `start-${i}`, uuid: `start-${i}`, host_id: host.id }) })
      .then(async (r) => { if (r.status !== 202) throw new Error(`POST /instances answered ${r.status}: ${await r.text()}`); });
    await pool(20, 20, (i) => post(1_000_000 + i));
    const rate = async (fn: () => Promise<unknown>) => { const t0 = performance.now(); await fn(); return starts / ((performance.now() - t0) / 1000); };
    const startRounds: Array<{ raw: number; api: number }> = [];
    for (let r = 0; r < rounds; r++) {
      const raw = await rate(() => pool(starts, 20, (i) => client.workflow.start(noopWorkflow, { workflowId: `raw-${r}-${i}`, taskQueue: 'bench-unpolled' })));
      const api = await rate(() => pool(starts, 20, (i) => post(r * starts + i)));
      startRounds.push({ raw, api });
    }
    await idleApi.close();
    await client.connection.close();

    // 4. Operations: create users, then delete them as operations one after another.
    const count = Number(process.env.BENCH_OPERATIONS ?? 30);
    const ids: number[] = [];
    for (let i = 0; i < count; i++) {
      const res = await fetch(`${stack.url}/api/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` }, body: JSON.stringify({ username: `bench_${i}`, email: `bench${i}@example.test`, password: 'bench-password' }) });
      ids.push(((await res.json()) as Json).data.id);
    }
    const accepted: number[] = [];
    const completed: number[] = [];
    for (const id of ids) {
      const t0 = performance.now();
      const started = await call('DELETE', `/api/v1/users/${id}?backup_data=true`, jwt, { prefer: 'respond-async' });
      accepted.push(performance.now() - t0);
      const done = await call('GET', `/api/v1/operations/${started.body.data.operation.id}/wait?timeout=30`, jwt);
      if (done.body.data.status !== 'succeeded') throw new Error(`operation ended ${done.body.data.status}`);
      completed.push(performance.now() - t0);
    }

    console.log('\nHTTP (autocannon in this process, 10 connections, %d rounds of %d s per endpoint after a warm-up; CPU: this process\'s CPU time per request, client included)', rounds, seconds);
    printRounds(http);
    if (profiled) console.log(`\n${profiled}`);
    console.log(`\nAn authenticated list, a page of 20 (autocannon, 10 connections, ${rounds} rounds of ${seconds} s each after a warm-up)`);
    printRounds(lists);
    if (listProfiled) console.log(`\n${listProfiled}`);
    console.log(`\nOperations started, ${rounds} rounds of ${starts} by 20 concurrent clients (no worker polls the queue: the start alone)`);
    console.log('| | per second (median) | share of ceiling, median (range) |\n|---|---|---|');
    const shares = startRounds.map((x) => x.api / x.raw);
    console.log(`| raw Temporal workflow.start of a no-op workflow (ceiling) | ${median(startRounds.map((x) => x.raw)).toFixed(0)} | 1.00 |`);
    console.log(`| POST /api/v1/instances → 202 (row, workflow start) | ${median(startRounds.map((x) => x.api)).toFixed(0)} | ${median(shares).toFixed(2)} (${Math.min(...shares).toFixed(2)}–${Math.max(...shares).toFixed(2)}) |`);
    console.log('\nDurable operation: delete a user with a zip backup (%d, one after another)', count);
    console.log('| measure | p50 ms | p95 ms | max ms |\n|---|---|---|---|');
    console.log(`| request → 202 Accepted | ${percentile(accepted, 50).toFixed(1)} | ${percentile(accepted, 95).toFixed(1)} | ${Math.max(...accepted).toFixed(1)} |`);
    console.log(`| request → succeeded | ${percentile(completed, 50).toFixed(1)} | ${percentile(completed, 95).toFixed(1)} | ${Math.max(...completed).toFixed(1)} |`);
  } finally {
    bare.close();
    await stack.stop();
  }
}

main().then(() => process.exit(0)).catch((err) => {
  console.error(err);
  process.exit(1);
});
