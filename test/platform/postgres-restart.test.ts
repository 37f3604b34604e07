import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { apiClient, eventually, expectError } from '../support/api';
import { uniq } from '../support/compute';
import { spawnApi, spawnEntrypoint, spawnWorker, type Spawned } from '../support/processes';
import { prepareDatabase, timed } from '../support/faults';
import { spawnAgent } from '../support/agents';
import { freePort } from '../../workers/embedded-services';
import { createKnex } from '../../db/knex';

/**
 * A PostgreSQL of this file's own (embedded, on a free port) restarted under load: while it is down every request fails
 * fast with 503 SERVICE_UNAVAILABLE (never a 500, never a hang), and the API, the worker and a host agent recover by
 * themselves once it is back: reads answer, operations started before and after finish, the agent heartbeats again.
 */
const queue = uniq('pg-restart');
let dir: string;
let port: number;
let pg: Spawned & { databaseUrl: string };
let api: Spawned & { url: string };
let worker: Spawned;
let agent: Spawned;

async function startPg() {
  const spawned = await spawnEntrypoint('test/support/postgres-main.ts', [path.join(dir, 'pg'), String(port)], { ...process.env }, /"databaseUrl"/, 60_000);
  return { ...spawned, databaseUrl: JSON.parse(spawned.output().split('\n').find((l) => l.includes('databaseUrl'))!).databaseUrl as string };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-pg-restart-'));
  fs.chmodSync(dir, 0o755); // PostgreSQL runs as the postgres user and must reach its data directory.
  port = await freePort();
  pg = await startPg();
  await prepareDatabase(pg.databaseUrl);
  const env = { DATABASE_URL: pg.databaseUrl, IDCFLOW_TASK_QUEUE: queue, IDCFLOW_OPERATION_SWEEP_SECONDS: '2', IDCFLOW_AGENT_HEARTBEAT_SECONDS: '1' };
  [api, worker] = await Promise.all([spawnApi(env), spawnWorker(queue, env)]);
}, 120_000);
afterAll(async () => {
  await Promise.all([agent, api, worker].map((p) => p?.stop()));
  await pg?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('restarted under load: 503 fast while down, then the API, worker and agent recover by themselves', async () => {
  const client = apiClient(api.url);
  const token = await client.admin();
  const hostName = uniq('pg-agent');
  const host = (await client.call('POST', '/api/v1/hosts', { token, body: { name: hostName, address: 'local', engine_type: 'simulator', use_agent: true, options: { latency_ms: 300 } } })).body.data;
  agent = await spawnAgent(client, host, { ...process.env, DATABASE_URL: pg.databaseUrl, LOG_LEVEL: 'info', IDCFLOW_AGENT_HEARTBEAT_SECONDS: '1' });
  const create = () => client.call('POST', `/api/v1/hosts/${host.id}/instances`, { token, body: { name: 'pg', uuid: uniq('vm') }, headers: { prefer: 'respond-async' } });

  // The load: reads and operation starts from four clients for the whole test.
  const answers: Array<{ status: number; code?: string; ms: number }> = [];
  const accepted: string[] = [];
  let stop = false;
  const load = Array.from({ length: 4 }, async (_, i) => {
    while (!stop) {
      const { ms, value } = await timed(() => (i === 0 ? create() : client.call('GET', `/api/v1/hosts/${host.id}`, { token })));
      answers.push({ status: value.status, code: value.body?.error?.code, ms });
      if (value.status === 202) accepted.push(value.body.data.operation.id);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  await eventually(async () => accepted.length >= 3, 30_000, 'operations started before the restart');

  await pg.stop();
  const down = answers.length;
  const whileDown = await timed(() => client.call('GET', `/api/v1/hosts/${host.id}`, { token }));
  expectError(whileDown.value, 503, 'SERVICE_UNAVAILABLE');
  expect(whileDown.ms).toBeLessThan(6000);
  expectError(await create(), 503, 'SERVICE_UNAVAILABLE');
  await eventually(async () => answers.slice(down).filter((a) => a.status === 503).length >= 6, 30_000, 'several 503s under load');

  pg = await startPg();
  const restarted = Date.now();
  await eventually(async () => (await client.call('GET', `/api/v1/hosts/${host.id}`, { token })).status === 200, 30_000, 'the API to answer again');
  const apiRecoveredMs = Date.now() - restarted;
  const heartbeat = async () => (await createKnexOnce()).raw('SELECT agent_last_seen FROM hosts WHERE id = ?', [host.id]).then((r) => new Date(r.rows[0].agent_last_seen).getTime());
  await eventually(async () => (await heartbeat()) > restarted, 30_000, 'the agent to heartbeat again');
  const agentRecoveredMs = Date.now() - restarted;
  await eventually(async () => accepted.length >= 6 && answers.slice(-4).every((a) => a.status < 500), 30_000, 'new operations accepted again');
  stop = true;
  await Promise.all(load);

  // Every operation accepted, before or after, ends as asked: the worker and the agent carried on.
  await eventually(async () => {
    const rows = await (await createKnexOnce())('operations').whereIn('id', accepted).select('status');
    return rows.length === accepted.length && rows.every((r) => r.status === 'succeeded');
  }, 60_000, 'every accepted operation to succeed');
  const opsRecoveredMs = Date.now() - restarted;
  // Never a 500; while down, 503s came fast.
  expect(answers.filter((a) => a.status >= 500 && a.status !== 503)).toEqual([]);
  const slowest503 = Math.max(...answers.filter((a) => a.status === 503).map((a) => a.ms));
  expect(slowest503).toBeLessThan(6000);
  console.log(`postgres-restart: ${answers.length} answers, ${answers.filter((a) => a.status === 503).length} 503s (slowest ${slowest503} ms); API answered ${apiRecoveredMs} ms after the restart, agent heartbeat ${agentRecoveredMs} ms, all ${accepted.length} operations done ${opsRecoveredMs} ms`);
  await (await createKnexOnce()).destroy();
}, 150_000);

let own: ReturnType<typeof createKnex> | undefined;
async function createKnexOnce() {
  own ??= createKnex(pg.databaseUrl, 2);
  return own;
}
