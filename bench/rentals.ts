/**
 * Rentals benchmark (`npm run bench:rentals`): one run, on simulator hosts, with the worker in this process.
 *   (a) BENCH_RENTALS rentals (default 1,000; the figure is 10,000) redeemed through the API and provisioned, then
 *       left waiting on their timers: the process's memory and CPU during a quiet window, against the same process
 *       before any rental existed;
 *   (b) BENCH_EXPIRING of them (default 200; the 1,000) renewed to expire at the same instant: how long until
 *       every one is suspended, against the same number of no-op workflows run on the same Temporal server.
 * Env: BENCH_RENTALS, BENCH_EXPIRING, BENCH_CONCURRENCY (20), BENCH_IDLE_SECONDS (30).
 */
import crypto from 'node:crypto';
import { startStack } from './support';
import { noopWorkflow } from '../workflows/platform/noop';
import { Client, Connection } from '@temporalio/client';
import { temporalConnectionOptions } from '../shared/platform/temporal-connection';

const RENTALS = Number(process.env.BENCH_RENTALS ?? 1000);
const EXPIRING = Math.min(RENTALS, Number(process.env.BENCH_EXPIRING ?? 200));
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 30);
const PER_HOST = 5000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => Math.round(bytes / 1048576);

async function pool(count: number, concurrency: number, fn: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => { while (next < count) await fn(next++); }));
}

/** Memory now, and the CPU share of this process over `seconds` of waiting. */
async function quietWindow(seconds: number) {
  const cpu0 = process.cpuUsage(), t0 = performance.now();
  await sleep(seconds * 1000);
  const cpu = process.cpuUsage(cpu0), wall = (performance.now() - t0) * 1000;
  const m = process.memoryUsage();
  return { rssMb: mb(m.rss), heapMb: mb(m.heapUsed), cpuPercent: Math.round(((cpu.user + cpu.system) / wall) * 1000) / 10 };
}

async function main() {
  const stack = await startStack();
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await fetch(stack.url + path, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const json = await res.json() as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const lines: string[] = [];
  const say = (s: string) => { lines.push(s); }; // printed once at the end: bench/run-all.ts writes stdout into the README
  try {
    const signIn = async () => (await call('POST', '/api/v1/auth/login', undefined, { username: 'admin', password: 'bench-admin-password' })).data.access_token as string;
    let admin = await signIn();
    const hosts: number[] = [];
    for (let i = 0; i < Math.ceil(RENTALS / PER_HOST); i++) {
      hosts.push((await call('POST', '/api/v1/hosts', admin, { name: `sim-${i}`, address: 'local', engine_type: 'simulator', nat_port_start: 20000, nat_port_end: 20000 + PER_HOST - 1, public_addresses: [`198.51.100.${i + 1}`] })).data.id);
    }
    const users: string[] = [];
    for (let i = 0; i < 10; i++) {
      const username = `bench_${i}_${crypto.randomBytes(3).toString('hex')}`;
      await call('POST', '/api/v1/users', admin, { username, email: `${username}@example.test`, password: 'bench-password-1' });
      users.push((await call('POST', '/api/v1/auth/login', undefined, { username, password: 'bench-password-1' })).data.access_token);
    }
    const codes: string[] = [];
    while (codes.length < RENTALS) codes.push(...(await call('POST', '/api/v1/rentals/serial-batches', admin, { days: 30, count: Math.min(1000, RENTALS - codes.length) })).data.codes);

    await sleep(2000);
    const before = await quietWindow(Math.min(IDLE_SECONDS, 10));

    const t0 = performance.now();
    const ids: number[] = new Array(RENTALS);
    await pool(RENTALS, CONCURRENCY, async (i) => {
      ids[i] = (await call('POST', '/api/v1/rentals/redeem', users[i % users.length], { code: codes[i], host_id: hosts[Math.floor(i / PER_HOST)] })).data.rental.id;
    });
    const redeemed = performance.now() - t0;
    for (;;) {
      const [{ count }] = await stack.knex('rentals').where({ status: 'active' }).count<{ count: string }[]>('* as count');
      if (Number(count) >= RENTALS) break;
      const [{ failed }] = await stack.knex('rentals').where({ status: 'failed' }).count<{ failed: string }[]>('* as failed');
      if (Number(failed) > 0) throw new Error(`${failed} rentals failed to provision`);
      await sleep(1000);
    }
    const provisioned = performance.now() - t0;
    const waiting = await quietWindow(IDLE_SECONDS);

    say(`Figures from ${new Date().toISOString()}; ${RENTALS} rentals on ${hosts.length} simulator host(s), ${CONCURRENCY} redemptions at a time.`);
    say('');
    say('# (a) rentals alive, waiting on their timers');
    say('| | process RSS MB | heap MB | CPU % (one core = 100) |');
    say('|---|---|---|---|');
    say(`| before any rental (ceiling) | ${before.rssMb} | ${before.heapMb} | ${before.cpuPercent} |`);
    say(`| ${RENTALS} rentals waiting (${IDLE_SECONDS} s window) | ${waiting.rssMb} | ${waiting.heapMb} | ${waiting.cpuPercent} |`);
    say(`| per rental | ${((waiting.rssMb - before.rssMb) * 1024 / RENTALS).toFixed(1)} KB | ${((waiting.heapMb - before.heapMb) * 1024 / RENTALS).toFixed(1)} KB | |`);
    say('');
    say(`Redeeming ${RENTALS} codes took ${(redeemed / 1000).toFixed(1)} s (${Math.round(RENTALS / (redeemed / 1000))}/s); all relays were up after ${(provisioned / 1000).toFixed(1)} s (${(RENTALS / (provisioned / 1000)).toFixed(1)} rentals/s).`);

    // (b) EXPIRING rentals due at the same instant (signed in again: provisioning 10,000 outlasts an access token).
    admin = await signIn();
    const due = new Date(Date.now() + Math.max(20, EXPIRING / 10) * 1000);
    const chosen = ids.slice(0, EXPIRING);
    await pool(EXPIRING, CONCURRENCY, async (i) => { await call('POST', `/api/v1/rentals/${chosen[i]}/renew`, admin, { expires_at: due.toISOString() }); });
    while (Date.now() < due.getTime()) await sleep(200);
    for (;;) {
      const [{ count }] = await stack.knex('rentals').whereIn('id', chosen).where({ status: 'suspended' }).count<{ count: string }[]>('* as count');
      if (Number(count) >= EXPIRING) break;
      await sleep(250);
    }
    const expiry = Date.now() - due.getTime();

    const connection = await Connection.connect(temporalConnectionOptions(stack.config));
    const client = new Client({ connection });
    const n0 = performance.now();
    await pool(EXPIRING, CONCURRENCY, async (i) => {
      await client.workflow.execute(noopWorkflow, { workflowId: `bench-noop-${i}-${crypto.randomBytes(3).toString('hex')}`, taskQueue: stack.config.taskQueue });
    });
    const noop = performance.now() - n0;
    await connection.close();
    say('');
    say(`# (b) ${EXPIRING} rentals expiring at the same instant (each: reminder mail through the outbox, stop operation as a child workflow, status)`);
    say('| | seconds | per second | ratio |');
    say('|---|---|---|---|');
    say(`| ${EXPIRING} no-op workflows, ${CONCURRENCY} at a time (ceiling) | ${(noop / 1000).toFixed(1)} | ${Math.round(EXPIRING / (noop / 1000))} | 1.00 |`);
    say(`| ${EXPIRING} expiries, from the due instant until the last is suspended | ${(expiry / 1000).toFixed(1)} | ${Math.round(EXPIRING / (expiry / 1000))} | ${(expiry / noop).toFixed(2)} |`);
  } finally {
    await stack.stop();
  }
  console.log('\n' + lines.join('\n'));
}

main().then(() => process.exit(0)).catch((err) => {
  console.error(err);
  process.exit(1);
});
