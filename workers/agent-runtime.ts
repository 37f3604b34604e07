import fs from 'node:fs';
import os from 'node:os';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Knex } from 'knex';
import type { Config } from '../shared/platform/config';
import { temporalConnectionOptions } from '../shared/platform/temporal-connection';
import type { Logger } from '../shared/platform/logger';
import { sha256, randomToken } from '../shared/platform/crypto';
import { createAgentActivities } from '../activities';
import { VERSION } from '../shared/platform/version';
import { faultDelayInterceptor } from '../activities/platform/fault-injection';
import { startNetworkReconciler } from '../activities/networking/reconciler';
import { startNetservicesLoop } from '../activities/netservices/agent-loop';
import { createWireguardHostActivities } from '../activities/netservices/wireguard-host';
import { startProcessRuntime } from '../activities/system/process-runtime';
import { removeStaleCopies } from '../activities/availability/fencing';
import { cpuMeter, hostMetricsCollector } from '../activities/monitoring/host-metrics';
import { AgentApi, AgentApiError, type AgentIdentity } from '../activities/compute/agent-api';
import { enrollAgent, loadAgentIdentity } from '../activities/compute/agent-identity';
import { insertJoinToken } from '../db/queries/compute/agent-identity';

const cpu = cpuMeter();

/** This machine's figures, as the host status the API shows for agent hosts. */
export function localHostStats() {
  const { percent, cores } = cpu();
  let disk: { total: number; used: number } | null;
  try {
    const s = fs.statfsSync('/');
    disk = { total: s.blocks * s.bsize, used: (s.blocks - s.bfree) * s.bsize };
  } catch {
    disk = null;
  }
  const gb = (b: number) => Math.round((b / 1073741824) * 10) / 10;
  return {
    hostname: os.hostname(), cpu_count: cores, cpu_percent: percent,
    load_average: os.loadavg().map((l) => Math.round(l * 100) / 100), mem_total_mb: Math.round(os.totalmem() / 1048576),
    mem_used_mb: Math.round((os.totalmem() - os.freemem()) / 1048576), disk_total_gb: disk ? gb(disk.total) : null, disk_used_gb: disk ? gb(disk.used) : null,
    uptime_seconds: Math.round(os.uptime()),
  };
}

export interface AgentOptions {
  /**
   * The database, for what the agent does not do through its identity yet: its activities (desired state, sealed
   * secrets), the network reconciler, stale-copy removal, cluster presence. Without it the agent only reports (heartbeat,
   * figures, logs, network-service statistics) and runs no activities: operations for its host fail after the bounded wait.
   */
  knex?: Knex | null;
  handleSignals?: boolean;
}

/**
 * A host agent with its own identity: heartbeats and host figures, metric samples and network-service statistics go to
 * the API's /agent endpoints, signed with the host's key (docs/agents.md); with the database it also polls task queue
 * host:<name> for the engine calls of that host, and removes its stale copies of moved instances at start and at each
 * heartbeat. Operations for agent hosts fail with SERVICE_UNAVAILABLE when the heartbeat is stale.
 */
export async function startAgent(config: Config, identity: AgentIdentity, logger: Logger, opts: AgentOptions = {}) {
  const api = await AgentApi.create(identity);
  const { hostName, hostId } = identity;
  const knex = opts.knex ?? null;
  // Back from a failover (or any time), the host removes its copies of instances now recorded on other hosts, and never
  // starts them: at start and at each heartbeat, whether the platform still takes the agent or not (a fenced host's is revoked).
  let cleaning: Promise<unknown> | null = null;
  const cleanup = () => {
    if (cleaning || !knex) return cleaning;
    cleaning = removeStaleCopies(knex, config.masterKey, hostId, logger)
      .catch((err) => logger.warn({ err: (err as Error).message }, 'stale-copy cleanup failed'))
      .finally(() => { cleaning = null; });
    return cleaning;
  };
  // The first heartbeat proves the identity: a revoked, unknown or outdated one stops the agent here, saying why.
  await api.heartbeat(localHostStats()).catch(async (err) => {
    await cleanup();
    throw err;
  });
  void cleanup();
  const beatFailed = (err: unknown) => {
    const e = err as Error;
    if (e instanceof AgentApiError && (e.identityRefused || e.outdated)) logger.error({ err: e.message, host: hostName }, 'the platform refuses this agent');
    else logger.warn({ err: e.message }, 'agent heartbeat failed');
  };
  const timer = setInterval(() => { api.heartbeat(localHostStats()).catch(beatFailed).finally(cleanup); }, config.compute.agentHeartbeatSeconds * 1000);
  // The host's figures into the metrics store (monitoring), at their own pace.
  const collect = hostMetricsCollector();
  const sample = () => api.sample(collect()).catch((err) => logger.warn({ err: (err as Error).message }, 'recording host metrics failed'));
  void sample();
  const sampleTimer = setInterval(() => { void sample(); }, config.monitoring.sampleSeconds * 1000);
  const deps = knex ? { knex, config, logger, agentApi: api } : null;
  const stopNetservicesLoop = startNetservicesLoop(api, logger, {
    seconds: config.netservices.wgStatsSeconds, birdSocket: config.netservices.birdSocket,
    reapply: deps ? (serverId) => createWireguardHostActivities(deps).netservicesWireguardApply({ serverId }) : undefined,
  });
  const taskQueue = identity.temporal.taskQueue;
  const polling = deps ? await pollTaskQueue(config, identity, deps, opts) : null;
  const reconciler = deps ? startNetworkReconciler(config, deps.knex, logger, hostId) : null;
  const system = deps ? await startProcessRuntime(deps.knex, config, logger, {
    kind: 'agent', discriminator: hostName, capabilities: ['agent', `host:${hostName}`], metadata: { host: hostName, task_queue: taskQueue },
  }) : null;
  if (polling) logger.info({ host: hostName, taskQueue }, 'agent polling');
  else logger.warn({ host: hostName }, 'agent reporting: without DATABASE_URL it runs no activities yet (see docs/agents.md)');
  return {
    worker: polling?.worker ?? null,
    running: polling?.running ?? new Promise<void>(() => undefined),
    taskQueue,
    api,
    async stop() {
      clearInterval(timer);
      await system?.stop();
      clearInterval(sampleTimer);
      await reconciler?.stop();
      stopNetservicesLoop();
      if (polling) {
        if (polling.worker.getState() === 'RUNNING') polling.worker.shutdown();
        await polling.running.catch(() => undefined);
        await polling.connection.close();
      }
      // Gone on purpose: say so at once, so operations fail fast instead of waiting for the heartbeat to go stale
      // (best effort: when the platform is away, the stale heartbeat says it soon enough).
      await api.goodbye().catch(() => undefined);
    },
  };
}

/** The Temporal worker on the host's task queue; TEMPORAL_ADDRESS, when set, overrides the address the platform gave at enrolment. */
async function pollTaskQueue(config: Config, identity: AgentIdentity, deps: { knex: Knex; config: Config; logger: Logger; agentApi: AgentApi }, opts: AgentOptions) {
  const connection = await NativeConnection.connect(temporalConnectionOptions({ ...config, temporalAddress: config.temporalAddress || identity.temporal.address }));
  const worker = await Worker.create({
    connection, namespace: identity.temporal.namespace, taskQueue: identity.temporal.taskQueue,
    activities: createAgentActivities(deps),
    ...(opts.handleSignals === false ? { shutdownSignals: [] } : {}),
    interceptors: { activity: Object.keys(config.faultDelays).length ? [faultDelayInterceptor(config.faultDelays)] : [] },
  });
  return { worker, connection, running: worker.run() };
}

/**
 * The dev launcher's own agent identity: the one kept in the agent directory when it is this host's and the platform
 * still takes it, else a join token made here (the launcher holds the database) and enrolment through `apiUrl`.
 */
export async function localAgentIdentity(config: Config, knex: Knex, host: { id: number; name: string }, apiUrl: string): Promise<AgentIdentity> {
  const dir = config.compute.agentIdentity.dir;
  const kept = loadAgentIdentity(dir);
  if (kept?.hostName === host.name && kept.hostId === host.id) {
    const usable = await (await AgentApi.create({ ...kept, apiUrl })).heartbeat(localHostStats()).then(() => true, (err) => !(err instanceof AgentApiError && err.identityRefused));
    if (usable) return { ...kept, apiUrl };
  }
  const token = `idcj_${randomToken(32)}`;
  await insertJoinToken(knex, { hostId: host.id, tokenHash: sha256(token), createdBy: null, expiresAt: new Date(Date.now() + 60_000) });
  return enrollAgent(apiUrl, token, dir, VERSION);
}

/** The dev launcher's own host: Docker (or Podman's Docker API) when a socket is there, else a simulator. */
export async function ensureLocalHost(knex: Knex, name: string): Promise<{ id: number; name: string; engine_type: string; address: string }> {
  const existing = await knex('hosts').where({ name }).first('id', 'name', 'engine_type', 'address');
  if (existing) return existing;
  const socket = ['/var/run/docker.sock', '/run/podman/podman.sock'].find((p) => fs.existsSync(p));
  const row = { name, address: socket ? `unix://${socket}` : 'localhost', engine_type: socket ? 'docker' : 'simulator', use_agent: true, public_addresses: JSON.stringify(['127.0.0.1']) };
  await knex('hosts').insert(row).onConflict('name').ignore();
  return knex('hosts').where({ name }).first('id', 'name', 'engine_type', 'address');
}
