import os from 'node:os';
import type { Knex } from 'knex';
import type { Config } from '../../shared/platform/config';
import type { Logger } from '../../shared/platform/logger';
import { VERSION } from '../../shared/platform/version';
import type { NodeKind } from '../../shared/system/nodes';
import { probeDueExternalNodes } from './external-probes';

export interface NodeSpec {
  kind: Exclude<NodeKind, 'external'>;
  /** What tells this process apart on its machine: the API's port, the agent's host name; default the pid. */
  discriminator?: string | number;
  port?: number | null;
  capabilities: string[];
  metadata?: Record<string, unknown>;
  /** What the process applies now (its loggers' live level), read again for each heartbeat into its metadata. */
  applied?: () => Record<string, unknown>;
}

/** How long a node that stopped heartbeating stays listed before the housekeeping sweep forgets it. */
const FORGET_AFTER = "interval '1 day'";

export const nodeIdOf = (config: Config, spec: NodeSpec) =>
  `${spec.kind}:${config.system.nodeId ?? os.hostname()}:${spec.discriminator ?? process.pid}`.slice(0, 128);

const loadFactor = () => Math.round((os.loadavg()[0] / Math.max(os.cpus().length, 1)) * 100) / 100;

/**
 * Runs `work` in a transaction only if this process gets the advisory lock `name` (none waits): how a job that one
 * process must do alone (the cluster sweep) is shared among replicas without electing a leader.
 */
export async function withLease<T>(knex: Knex, name: string, work: (trx: Knex.Transaction) => Promise<T>): Promise<{ held: boolean; result?: T }> {
  return knex.transaction(async (trx) => {
    const { rows } = await trx.raw('select pg_try_advisory_xact_lock(hashtext(?)) as held', [name]);
    if (!rows[0].held) return { held: false };
    return { held: true, result: await work(trx) };
  });
}

/** The sweep: forgets idcflow processes silent for a day (external nodes stay until deleted). */
export async function sweepClusterNodes(knex: Knex): Promise<number> {
  const { result } = await withLease(knex, 'idcflow:cluster-sweep', (trx) =>
    trx('cluster_nodes').whereNot('kind', 'external').where('last_heartbeat', '<', trx.raw(`now() - ${FORGET_AFTER}`)).delete());
  return result ?? 0;
}

export interface NodePresence {
  id: string;
  stop(): Promise<void>;
}

/**
 * Registers this process as a cluster node and heartbeats every IDCFLOW_NODE_HEARTBEAT_SECONDS (last heartbeat, load
 * factor); on a clean stop it says `stopped`. A process that dies simply stops heartbeating and reads as unhealthy.
 */
export async function joinCluster(knex: Knex, config: Config, logger: Logger, spec: NodeSpec): Promise<NodePresence> {
  const id = nodeIdOf(config, spec);
  const host = config.host && !['0.0.0.0', '::'].includes(config.host) && spec.kind === 'api' ? config.host : os.hostname();
  const row = { kind: spec.kind, host, port: spec.port ?? null, status: 'running', version: VERSION, capabilities: JSON.stringify(spec.capabilities) };
  const metadata = { environment: config.env, pid: process.pid, hostname: os.hostname(), node_version: process.version, ...(spec.metadata ?? {}) };
  const upsert = (starting: boolean) => {
    const live = {
      id, ...row, metadata: JSON.stringify({ ...metadata, ...spec.applied?.() }), last_heartbeat: knex.fn.now(), load_factor: loadFactor(),
      ...(starting ? { started_at: knex.fn.now() } : {}),
    };
    return knex('cluster_nodes').insert(live).onConflict('id').merge({ ...live, updated_at: knex.fn.now() });
  };
  await upsert(true);
  // An upsert, so a node whose row was swept or deleted while it was cut off comes back.
  const beat = async () => {
    await upsert(false);
    await sweepClusterNodes(knex);
    // Workers probe the external nodes (the API never calls out itself).
    if (spec.kind === 'worker') await probeDueExternalNodes(knex, config);
  };
  let beating = false;
  const timer = setInterval(() => {
    // One beat at a time: a database that stalls (a lock, a restore) must not pile them up on the pool.
    if (beating) return;
    beating = true;
    beat().catch((err) => logger.warn({ err: (err as Error).message, node: id }, 'cluster heartbeat failed')).finally(() => { beating = false; });
  }, config.system.heartbeatSeconds * 1000);
  timer.unref();
  return {
    id,
    async stop() {
      clearInterval(timer);
      // Best effort: when the database is already gone, the stale heartbeat says it soon enough.
      await knex('cluster_nodes').where({ id }).update({ status: 'stopped', updated_at: knex.fn.now() }).timeout(2000).catch(() => undefined);
    },
  };
}
