import Koa from 'koa';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { startApi } from '../workers/api';
import { noopWorkflow } from '../workflows/platform/noop';
import { capturedSql, load, percentile, pool, startStack, type LoadResult } from './support';

type Json = { data: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * The platform's own overhead, measured in one run on this machine:
 *  1. HTTP: a bare Koa JSON endpoint (the ceiling) against idcflow's public health endpoint and an
 *     authenticated read (JWT verification + session lookup in PostgreSQL, and the same with an API token).
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

    const http: LoadResult[] = [];
    http.push(await load('bare Koa JSON (ceiling)', bareUrl, { seconds }));
    http.push(await load('GET /api/v1/status/health', `${stack.url}/api/v1/status/health`, { seconds }));
    http.push(await load('GET /api/v1/auth/me (JWT)', `${stack.url}/api/v1/auth/me`, { seconds, headers: { authorization: `Bearer ${jwt}` } }));
    http.push(await load('GET /api/v1/auth/me (API token)', `${stack.url}/api/v1/auth/me`, { seconds, headers: { authorization: `Bearer ${apiToken}` } }));

    // 2. An authenticated page of 20 against the same SQL bare.
    const { queries } = await capturedSql([stack.api.deps.knex], () => call('GET', '/api/v1/users?size=20', jwt));
    const listing = new Koa().use(async (ctx) => {
      const [rows, count] = await Promise.all(queries.map((q) => stack.knex.raw(q.sql.replace(/\$\d+/g, '?'), q.bindings as never)));
      ctx.body = { success: true, data: { users: rows.rows, pagination: { total: Number(count?.rows?.[0]?.n ?? 0) } } };
    }).listen(0, '127.0.0.1');
    await new Promise((r) => listing.once('listening', r));
    const lists: LoadResult[] = [];
    lists.push(await load(`bare Koa running the same ${queries.length} SQL statements (ceiling)`, `http://127.0.0.1:${(listing.address() as AddressInfo).port}/`, { seconds }));
    lists.push(await load('GET /api/v1/users?size=20 (JWT)', `${stack.url}/api/v1/users?size=20`, { seconds, headers: { authorization: `Bearer ${jwt}` } }));
    listing.close();

    // 3. Operations started per second, 20 clients at a time, against raw workflow.start at the same concurrency.
    const starts = Number(process.env.BENCH_STARTS ?? 200);
    const host = (await call('POST', '/api/v1/hosts', jwt, {}, { name: 'bench-sim', address: 'local', engine_type: 'simulator' })).body.data;
    const idleConfig = { ...stack.config, taskQueue: 'bench-unpolled' };
    const idleApi = await startApi(idleConfig, { ...stack.api.deps, config: idleConfig });
    const idleUrl = `http://127.0.0.1:${(idleApi.server.address() as AddressInfo).port}`;
    const client = new Client({ connection: await Connection.connect({ address: stack.temporalAddress }) });
    await pool(20, 20, (i) => client.workflow.start(noopWorkflow, { workflowId: `warm-${i}`, taskQueue: 'bench-unpolled' }));
    let t0 = performance.now();
    await pool(starts, 20, (i) => client.workflow.start(noopWorkflow, { workflowId: `raw-${i}`, taskQueue: 'bench-unpolled' }));
    const rawRate = starts / ((performance.now() - t0) / 1000);
    const post = (i: number) => fetch(`${idleUrl}/api/v1/instances`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` }, body: JSON.stringify({ name: `start-${i}`, uuid: `start-${i}`, host_id: host.id }) })
      .then(async (r) => { if (r.status !== 202) throw new Error(`POST /instances answered ${r.status}: ${await r.text()}`); });
    await pool(20, 20, (i) => post(100_000 + i));
    t0 = performance.now();
    await pool(starts, 20, (i) => post(i));
    const apiRate = starts / ((performance.now() - t0) / 1000);
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

    const ceiling = http[0].requestsPerSecond;
    console.log('\nHTTP (autocannon, 10 connections, %d s each)', seconds);
    console.log('| endpoint | req/s | p50 ms | p99 ms | errors | share of ceiling |\n|---|---|---|---|---|---|');
    for (const r of http) console.log(`| ${r.name} | ${r.requestsPerSecond} | ${r.p50ms} | ${r.p99ms} | ${r.errors} | ${(r.requestsPerSecond / ceiling).toFixed(2)} |`);
    console.log('\nAn authenticated list, a page of 20 (autocannon, 10 connections, %d s each)', seconds);
    console.log('| endpoint | req/s | p50 ms | p99 ms | errors | share of ceiling |\n|---|---|---|---|---|---|');
    for (const r of lists) console.log(`| ${r.name} | ${r.requestsPerSecond} | ${r.p50ms} | ${r.p99ms} | ${r.errors} | ${(r.requestsPerSecond / lists[0].requestsPerSecond).toFixed(2)} |`);
    console.log('\nOperations started, %d by 20 concurrent clients (no worker polls the queue: the start alone)', starts);
    console.log('| | per second | share of ceiling |\n|---|---|---|');
    console.log(`| raw Temporal workflow.start of a no-op workflow (ceiling) | ${rawRate.toFixed(0)} | 1.00 |`);
    console.log(`| POST /api/v1/instances → 202 (row, workflow start) | ${apiRate.toFixed(0)} | ${(apiRate / rawRate).toFixed(2)} |`);
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
