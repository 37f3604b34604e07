import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { buildTemporalServer, findTemporalServer, startTemporalServer, type RunningTemporalServer, type TemporalServerBinaries } from '../../workers/temporal-server';
import { ensureTemporalCerts } from '../../workers/temporal-certs';
import { temporalConnectionOptions } from '../../shared/platform/temporal-connection';
import type { TemporalTls } from '../../shared/platform/config';
import { ownDatabase } from './faults';
import { spawnApi, spawnWorker, type Spawned } from './processes';

/** Why the production topology cannot run here (no server binaries and no Go to build them), or null. */
export function topologyUnavailable(): string | null {
  if (findTemporalServer()) return null;
  return spawnSync('go', ['version']).status === 0 ? null : 'the Temporal server is not built and Go is missing (.ci/run builds it: npm run temporal:server)';
}

/** The cached server, or a build now (seconds with a warm Go cache, minutes cold). */
export const temporalServerBinaries = (): TemporalServerBinaries => findTemporalServer() ?? buildTemporalServer((m) => process.stderr.write(m + '\n'));

/**
 * `count` consecutive ports free on loopback, for the frontend and the services behind it: below 32768, since Temporal
 * keeps them in a smallint column of its cluster membership table (the system's ephemeral ports start above).
 */
async function freePortRun(count: number): Promise<number> {
  const listens = (port: number) => new Promise<boolean>((resolve) => {
    const server = net.createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  for (;;) {
    const base = 10_000 + crypto.randomInt(22_000);
    let free = true;
    for (let i = 0; i < count && free; i++) free = await listens(base + i);
    if (free) return base;
  }
}

export interface Topology {
  temporal: RunningTemporalServer;
  namespace: string;
  taskQueue: string;
  certsDir: string;
  databaseUrl: string;
  apis: Array<Spawned & { url: string }>;
  workers: Spawned[];
  /** The environment an idcflow process holding `role`'s certificate runs with (TEMPORAL_TLS_*). */
  envFor(role: string): NodeJS.ProcessEnv;
  /** A raw gRPC connection holding `role`'s certificate (a file name in the certs folder), or the given TLS settings. */
  connectAs(role: string | TemporalTls): Promise<Connection>;
  stop(): Promise<void>;
}

const tlsEnv = (tls: TemporalTls): NodeJS.ProcessEnv => ({ TEMPORAL_TLS_CA: tls.ca, TEMPORAL_TLS_CERT: tls.cert, TEMPORAL_TLS_KEY: tls.key, TEMPORAL_TLS_SERVER_NAME: tls.serverName });

/**
 * The production topology on this machine: the Temporal server built from source (PostgreSQL persistence and visibility
 * in databases of its own on the suite's PostgreSQL, mutual TLS, idcflow's authorizer), and idcflow's API and worker
 * processes, each with its own client certificate, on a database of their own. `agents` get certificates for
 * host:<name> (the join flow will issue these).
 */
export async function startTopology(opts: { apis: number; workers: number; agents: string[] }): Promise<Topology> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-topology-'));
  const certsDir = path.join(dir, 'certs');
  const suffix = crypto.randomBytes(4).toString('hex');
  const namespace = `idcflow-${suffix}`;
  const taskQueue = `topology-${suffix}`;
  await ensureTemporalCerts(certsDir, { agents: opts.agents });
  const pg = new URL(process.env.DATABASE_URL!);
  const port = await freePortRun(8);
  const [databaseUrl, temporal] = await Promise.all([
    ownDatabase('topology'),
    startTemporalServer({
      binaries: temporalServerBinaries(), dir: path.join(dir, 'temporal'), certsDir, namespace,
      port, internalPortBase: port + 1,
      postgres: {
        host: pg.hostname, port: Number(pg.port), user: decodeURIComponent(pg.username), password: decodeURIComponent(pg.password),
        database: `temporal_${suffix}`, visibilityDatabase: `temporal_visibility_${suffix}`,
      },
    }),
  ]);
  const envFor = (role: string): NodeJS.ProcessEnv => ({
    DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: namespace, IDCFLOW_TASK_QUEUE: taskQueue, ...tlsEnv(temporal.tlsFor(role)),
  });
  const connections: Connection[] = [];
  const topology: Topology = {
    temporal, namespace, taskQueue, certsDir, databaseUrl, apis: [], workers: [], envFor,
    async connectAs(role) {
      const temporalTls = typeof role === 'string' ? temporal.tlsFor(role) : role;
      const connection = await Connection.connect({ ...temporalConnectionOptions({ temporalAddress: temporal.address, temporalTls }), connectTimeout: 5000 });
      connections.push(connection);
      return connection;
    },
    async stop() {
      await Promise.all(connections.map((c) => c.close().catch(() => undefined)));
      await Promise.all([...topology.apis, ...topology.workers].map((p) => p.stop()));
      await temporal.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    const workers = Array.from({ length: opts.workers }, () => spawnWorker(taskQueue, envFor('worker')));
    const apis = Array.from({ length: opts.apis }, () => spawnApi(envFor('api')));
    const started = await Promise.allSettled([...workers, ...apis]);
    for (const [i, s] of started.entries()) if (s.status === 'fulfilled') (i < workers.length ? topology.workers : topology.apis).push(s.value as Spawned & { url: string });
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    await topology.stop();
    throw err;
  }
  return topology;
}
