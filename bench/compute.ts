/**
 * Compute benchmark (`npm run bench:compute`): one run, every figure against a ceiling measured on the same machine
 * in the same run, as the README's Performance section reports them.
 *   (a) API → 202 latency of POST /api/v1/instances, against a bare Koa JSON endpoint;
 *   (b) end-to-end simulator creations per second (create → running, recorded), against a no-op workflow's rate
 *       on the same Temporal dev server;
 *   (c) docker create+start through idcflow (operation until running), against the same raw dockerode calls,
 *       on Podman's Docker API (skipped, saying why, when Podman cannot run here);
 *   (d) opening a container console (API ticket → WebSocket through the gateway → the shell's first output),
 *       against a raw dockerode exec with a TTY until its first output.
 * Env: BENCH_N (latency samples, 100), BENCH_E2E (creations, 60), BENCH_CONCURRENCY (10), BENCH_DOCKER (5).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Docker from 'dockerode';
import { Client, Connection } from '@temporalio/client';
import { temporalConnectionOptions } from '../shared/platform/temporal-connection';
import { loadConfig } from '../shared/platform/config';
import { createLogger } from '../shared/platform/logger';
import { createKnex } from '../db/knex';
import { migrateLatest } from '../db/migrate';
import { ensureAdminUser } from '../db/queries/users/bootstrap';
import { freePort, startEmbeddedPostgres, startTemporalDevServer } from '../workers/embedded-services';
import { createMainWorker } from '../workers/runtime';
import { startApi } from '../workers/api';
import { startConsoleGateway } from '../workers/console-gateway';
import WebSocket from 'ws';
import { startPodman } from '../test/support/podman';
import { noopWorkflow } from '../workflows/platform/noop';
import { pool } from './support';

const N = Number(process.env.BENCH_N ?? 100);
const E2E = Number(process.env.BENCH_E2E ?? 60);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);
const DOCKER_N = Number(process.env.BENCH_DOCKER ?? 5);

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
const ms = (x: number) => `${x.toFixed(1)} ms`;
const now = () => performance.now();

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-bench-'));
  fs.chmodSync(dir, 0o755);
  const stops: Array<() => Promise<void>> = [];
  const say = (s: string) => console.log(s);
  try {
    const pg = await startEmbeddedPostgres(path.join(dir, 'pg'), await freePort());
    stops.push(() => pg.stop());
    const temporal = await startTemporalDevServer({ dataDir: path.join(dir, 'temporal'), port: await freePort(), log: () => undefined });
    stops.push(() => temporal.stop());
    const adminPassword = crypto.randomBytes(12).toString('hex');
    const config = loadConfig({
      ...process.env, NODE_ENV: 'bench', PORT: '0', LOG_LEVEL: 'silent', DATABASE_URL: pg.databaseUrl, TEMPORAL_ADDRESS: temporal.address,
      IDCFLOW_DATA_DIR: path.join(dir, 'data'), IDCFLOW_TASK_QUEUE: 'bench', IDCFLOW_ADMIN_PASSWORD: adminPassword,
      IDCFLOW_CONSOLE_PORT: String(await freePort()), IDCFLOW_API_RATE_LIMIT: '1000000',
    });
    const setupKnex = createKnex(pg.databaseUrl, 2);
    await migrateLatest(setupKnex);
    await ensureAdminUser(setupKnex, { username: 'admin', password: adminPassword, email: 'admin@bench' });
    await setupKnex.destroy();
    const workerKnex = createKnex(pg.databaseUrl);
    const { worker, connection: workerConnection } = await createMainWorker(config, workerKnex, createLogger('silent', 'bench-worker'), { handleSignals: false });
    const running = worker.run();
    stops.push(async () => { worker.shutdown(); await running; await workerConnection.close(); await workerKnex.destroy(); });
    const gateway = await startConsoleGateway(config, workerKnex, createLogger('silent', 'bench-gateway'), { mainQueue: true, agentHosts: [] });
    stops.push(() => gateway.close());
    const api = await startApi(config);
    stops.push(() => api.close());
    const base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
    const agent = new http.Agent({ keepAlive: true });
    const call = async (method: string, p: string, token?: string, body?: unknown) => {
      const res = await fetch(base + p, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: body ? JSON.stringify(body) : undefined });
      return { status: res.status, body: await res.json() as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const token = (await call('POST', '/api/v1/auth/login', undefined, { username: 'admin', password: adminPassword })).body.data.access_token as string;
    const wait = async (id: string) => { for (;;) { const r = await call('GET', `/api/v1/operations/${id}/wait?timeout=30`, token); if (['succeeded', 'failed', 'canceled'].includes(r.body.data.status)) return r.body.data; } };

    // The ceiling for (a): a bare Koa JSON endpoint on the same machine, through the same fetch client.
    const bare = new Koa();
    bare.use((ctx) => { ctx.body = { ok: true }; });
    const bareServer = bare.listen(0, '127.0.0.1');
    await new Promise((r) => bareServer.once('listening', r));
    stops.push(async () => { await new Promise((r) => bareServer.close(r)); });
    const bareUrl = `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}/`;

    const sim = (await call('POST', '/api/v1/hosts', token, { name: 'bench-sim', address: 'local', engine_type: 'simulator' })).body.data;
    say(`# idcflow compute benchmark — ${new Date().toISOString()}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`);

    // (a) API → 202
    for (let i = 0; i < 10; i++) { await fetch(bareUrl).then((r) => r.text()); }
    const bareLat: number[] = [];
    for (let i = 0; i < N; i++) { const t = now(); await (await fetch(bareUrl)).text(); bareLat.push(now() - t); }
    // What starting any workflow costs on this dev server (SQLite-backed), for reading the figure below.
    const startClient = new Client({ connection: await Connection.connect(temporalConnectionOptions({ temporalAddress: temporal.address })) });
    stops.push(() => startClient.connection.close());
    const startLat: number[] = [];
    for (let i = 0; i < N; i++) { const t0 = now(); await startClient.workflow.start(noopWorkflow, { workflowId: `start-${i}-${Date.now()}`, taskQueue: 'bench' }); startLat.push(now() - t0); }
    // The API's own cost: a second API whose task queue no worker polls, so no workflow runs while it is measured.
    const idleConfig = loadConfig({ ...process.env, NODE_ENV: 'bench', PORT: '0', LOG_LEVEL: 'silent', DATABASE_URL: pg.databaseUrl, TEMPORAL_ADDRESS: temporal.address, IDCFLOW_DATA_DIR: path.join(dir, 'data'), IDCFLOW_TASK_QUEUE: 'bench-unpolled', IDCFLOW_API_RATE_LIMIT: '1000000' });
    const idleApi = await startApi(idleConfig, { ...api.deps, config: idleConfig }); // shares the database pool: objection binds models to one knex
    const idleBase = `http://127.0.0.1:${(idleApi.server.address() as AddressInfo).port}`;
    const idleLat: number[] = [];
    const idleOps: string[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = now();
      const res = await fetch(`${idleBase}/api/v1/instances`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ name: `idle-${i}`, uuid: `idle-${i}`, host_id: sim.id }) });
      const body = await res.json() as { data: { operation: { id: string } } };
      idleLat.push(now() - t0);
      idleOps.push(body.data.operation.id);
    }
    for (const id of idleOps) await startClient.workflow.getHandle(id).terminate('benchmark: API latency only');
    await idleApi.close();
    const createLat: number[] = [];
    const opIds: string[] = [];
    for (let i = 0; i < N; i++) {
      const t = now();
      const r = await call('POST', '/api/v1/instances', token, { name: `lat-${i}`, uuid: `lat-${i}`, host_id: sim.id });
      createLat.push(now() - t);
      if (r.status !== 202) throw new Error(`create answered ${r.status}: ${JSON.stringify(r.body)}`);
      opIds.push(r.body.data.operation.id);
    }
    for (const id of opIds) await wait(id);
    say('');
    say(`## (a) API → 202 Accepted for POST /api/v1/instances (${N} sequential requests)`);
    say(`| | p50 | p95 |`);
    say(`|---|---|---|`);
    say(`| bare Koa JSON endpoint (ceiling) | ${ms(pct(bareLat, 50))} | ${ms(pct(bareLat, 95))} |`);
    say(`| Temporal client workflow.start of a no-op workflow (no HTTP, no database) | ${ms(pct(startLat, 50))} | ${ms(pct(startLat, 95))} |`);
    say(`| POST /api/v1/instances → 202, no workflow running meanwhile | ${ms(pct(idleLat, 50))} | ${ms(pct(idleLat, 95))} |`);
    say(`| POST /api/v1/instances → 202, while the earlier creates run on the worker | ${ms(pct(createLat, 50))} | ${ms(pct(createLat, 95))} |`);
    say(`| ratio idle create / bare endpoint | ${(pct(idleLat, 50) / pct(bareLat, 50)).toFixed(1)}× | ${(pct(idleLat, 95) / pct(bareLat, 95)).toFixed(1)}× |`);
    say(`| ratio idle create / bare workflow start | ${(pct(idleLat, 50) / pct(startLat, 50)).toFixed(2)}× | ${(pct(idleLat, 95) / pct(startLat, 95)).toFixed(2)}× |`);

    // (b) end-to-end simulator creations per second vs no-op workflows per second
    const client = new Client({ connection: await Connection.connect(temporalConnectionOptions({ temporalAddress: temporal.address })) });
    stops.push(() => client.connection.close());
    await pool(20, CONCURRENCY, (i) => client.workflow.execute(noopWorkflow, { workflowId: `warm-${i}`, taskQueue: 'bench' }));
    let t = now();
    await pool(E2E, CONCURRENCY, (i) => client.workflow.execute(noopWorkflow, { workflowId: `noop-${i}-${Date.now()}`, taskQueue: 'bench' }));
    const noopRate = E2E / ((now() - t) / 1000);
    t = now();
    const results = await pool(E2E, CONCURRENCY, async (i) => {
      const r = await call('POST', '/api/v1/instances', token, { name: `e2e-${i}`, uuid: `e2e-${i}`, host_id: sim.id });
      return (await wait(r.body.data.operation.id)).status as string;
    });
    const e2eSeconds = (now() - t) / 1000;
    const failed = results.filter((s) => s !== 'succeeded').length;
    const e2eRate = E2E / e2eSeconds;
    say('');
    say(`## (b) End-to-end simulator creations (${E2E} instances, ${CONCURRENCY} at a time; each: API, validate, reserve quota/capacity/IP, create, start, wait running, record)`);
    say(`| | per second |`);
    say(`|---|---|`);
    say(`| no-op workflow, started and awaited through the client (ceiling) | ${noopRate.toFixed(1)} |`);
    say(`| instance creations through the API until the operation succeeded | ${e2eRate.toFixed(1)}${failed ? ` (${failed} failed)` : ''} |`);
    say(`| ratio | ${(e2eRate / noopRate).toFixed(2)} (a create is ${(noopRate / e2eRate).toFixed(1)}× a no-op workflow) |`);

    // (c) docker create+start: idcflow vs raw dockerode
    say('');
    const podman = await startPodman(path.join(dir, 'podman'));
    if ('skip' in podman) {
      say(`## (c) Docker create+start — skipped: ${podman.skip}`);
    } else {
      stops.push(() => podman.stop());
      const docker = new Docker({ socketPath: podman.socketPath });
      const dh = (await call('POST', '/api/v1/hosts', token, { name: 'bench-docker', address: `unix://${podman.socketPath}`, engine_type: 'docker' })).body.data;
      const raw: number[] = [];
      const flow: number[] = [];
      // Where a create's time goes: from the request to its first recorded step, each step to the next, the last to the answer.
      const spent = new Map<string, number[]>();
      const spend = (what: string, msSpent: number) => { spent.set(what, [...(spent.get(what) ?? []), msSpent]); };
      for (let i = 0; i < DOCKER_N + 1; i++) {
        let s = now();
        const c = await docker.createContainer({ name: `bench-raw-${i}`, Image: podman.image, Cmd: ['sleep', '600'], HostConfig: { NanoCpus: 1e9, Memory: 256 * 1048576 } });
        await c.start();
        while ((await c.inspect()).State.Status !== 'running') await new Promise((r) => setTimeout(r, 50));
        if (i > 0) raw.push(now() - s); // the first of each is a warm-up
        await c.remove({ force: true });
        s = now();
        const wall = Date.now();
        const r = await call('POST', '/api/v1/instances', token, { name: `bench-${i}`, uuid: `bench-${i}`, host_id: dh.id, image: podman.image, command: ['sleep', '600'], cpu: 1, ram_mb: 256 });
        const op = await wait(r.body.data.operation.id);
        if (op.status !== 'succeeded') throw new Error(`docker create failed: ${JSON.stringify(op.error)}`);
        if (i > 0) flow.push(now() - s);
        if (i > 0) {
          const events = ((await call('GET', `/api/v1/operations/${op.id}/events`, token)).body.data.events as Array<{ at: string; step: string }>);
          const at = events.map((e) => new Date(e.at).getTime());
          spend('request → first step recorded (API, row, workflow start, first workflow task)', at[0] - wall);
          events.forEach((e, k) => spend(`step ${e.step}`, (k + 1 < at.length ? at[k + 1] : wall + (now() - s)) - at[k]));
        }
        const inst = (await call('GET', `/api/v1/instances?search=bench-${i}`, token)).body.data.instances[0];
        await wait((await call('DELETE', `/api/v1/instances/${inst.id}`, token)).body.data.operation.id);
      }
      say(`## (c) Docker create+start until running (${DOCKER_N} sequential, Podman ${(await docker.version()).Version} Docker API)`);
      say(`| | p50 | mean |`);
      say(`|---|---|---|`);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      say(`| raw dockerode create + start + inspect until running (ceiling) | ${ms(pct(raw, 50))} | ${ms(mean(raw))} |`);
      say(`| idcflow: POST /api/v1/instances until the operation succeeded | ${ms(pct(flow, 50))} | ${ms(mean(flow))} |`);
      say(`| ratio | ${(pct(flow, 50) / pct(raw, 50)).toFixed(2)}× | ${(mean(flow) / mean(raw)).toFixed(2)}× |`);
      say('');
      say('Where an idcflow create spends its time (mean of the recorded steps\' timestamps; a step runs until the next is recorded, the last until the client has the answer):');
      say('| part | mean |');
      say('|---|---|');
      for (const [what, xs] of spent) say(`| ${what} | ${ms(mean(xs))} |`);

      // (d) console: ticket + WebSocket + exec through the gateway, against a raw exec with a TTY
      const r = await call('POST', '/api/v1/instances', token, { name: 'bench-console', uuid: 'bench-console', host_id: dh.id, image: podman.image, command: ['sleep', '600'] });
      await wait(r.body.data.operation.id);
      const inst = (await call('GET', '/api/v1/instances?search=bench-console', token)).body.data.instances[0];
      const firstOutput = (ws: WebSocket) => new Promise<void>((resolve, reject) => { ws.once('message', () => resolve()); ws.once('error', reject); });
      const rawOpen: number[] = [];
      const gatewayOpen: number[] = [];
      for (let i = 0; i < DOCKER_N * 4 + 1; i++) {
        let s = now();
        const exec = await docker.getContainer(inst.engine_ref).exec({ Cmd: ['/bin/sh', '-l'], AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: true });
        const stream = await exec.start({ hijack: true, stdin: true, Tty: true });
        await new Promise((resolve) => stream.once('data', resolve));
        if (i > 0) rawOpen.push(now() - s);
        stream.end('exit\n');
        s = now();
        const access = (await call('GET', `/api/v1/instances/${inst.id}/console`, token)).body.data;
        const ws = new WebSocket(access.url);
        await firstOutput(ws);
        if (i > 0) gatewayOpen.push(now() - s);
        ws.close();
      }
      await wait((await call('DELETE', `/api/v1/instances/${inst.id}`, token)).body.data.operation.id);
      say('');
      say(`## (d) Opening a container console until the shell's first output (${DOCKER_N * 4} sequential)`);
      say(`| | p50 | mean |`);
      say(`|---|---|---|`);
      say(`| raw dockerode exec (TTY) create + start until first output (ceiling) | ${ms(pct(rawOpen, 50))} | ${ms(mean(rawOpen))} |`);
      say(`| idcflow: GET /instances/:id/console (ticket for the gateway found in PostgreSQL) + WebSocket to the gateway, its checks and the exec until first output | ${ms(pct(gatewayOpen, 50))} | ${ms(mean(gatewayOpen))} |`);
      say(`| ratio | ${(pct(gatewayOpen, 50) / pct(rawOpen, 50)).toFixed(2)}× | ${(mean(gatewayOpen) / mean(rawOpen)).toFixed(2)}× |`);
    }
    agent.destroy();
  } finally {
    for (const stop of stops.reverse()) await stop().catch((e) => console.error('stop failed:', (e as Error).message));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
