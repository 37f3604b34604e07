import fs from 'node:fs';
import os from 'node:os';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Knex } from 'knex';
import type { Config } from '../shared/platform/config';
import { temporalConnectionOptions } from '../shared/platform/temporal-connection';
import type { Logger } from '../shared/platform/logger';
import { hostTaskQueue } from '../shared/compute/catalogue';
import { createAgentActivities } from '../activities';
import { VERSION } from '../shared/platform/version';
import { faultDelayInterceptor } from '../activities/platform/fault-injection';
import { startNetworkReconciler } from '../activities/networking/reconciler';
import { startNetservicesLoop } from '../activities/netservices/agent-loop';
import { startProcessRuntime } from '../activities/system/process-runtime';
import { removeStaleCopies } from '../activities/availability/fencing';
import { cpuMeter, hostMetricsCollector } from '../activities/monitoring/host-metrics';
import { recordSample } from '../db/queries/monitoring/samples';

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
    source: 'agent', hostname: os.hostname(), cpu_count: cores, cpu_percent: percent,
    load_average: os.loadavg().map((l) => Math.round(l * 100) / 100), mem_total_mb: Math.round(os.totalmem() / 1048576),
    mem_used_mb: Math.round((os.totalmem() - os.freemem()) / 1048576), disk_total_gb: disk ? gb(disk.total) : null, disk_used_gb: disk ? gb(disk.used) : null,
    uptime_seconds: Math.round(os.uptime()), agent_version: VERSION,
  };
}

/**
 * A host agent: polls task queue host:<name> for the engine calls of that host, and heartbeats (liveness and host
 * figures) into the database, removing its stale copies of moved instances at start and at each heartbeat. Operations for agent hosts fail with SERVICE_UNAVAILABLE when the heartbeat is stale.
 */
export async function startAgent(config: Config, knex: Knex, logger: Logger, hostName: string, opts: { handleSignals?: boolean } = {}) {
  const host = await knex('hosts').where({ name: hostName }).first('id', 'use_agent');
  if (!host) throw new Error(`No host named ${hostName}: add it (POST /api/v1/hosts with use_agent: true) before starting its agent`);
  if (!host.use_agent) logger.warn({ host: hostName }, 'host has use_agent=false: operations for it run on the main worker, not on this agent');
  const beat = async () => {
    await knex('hosts').where({ id: host.id }).update({ agent_last_seen: knex.fn.now(), agent_version: VERSION, status: JSON.stringify(localHostStats()), status_at: knex.fn.now() });
  };
  // Back from a failover (or any time), the host removes its copies of instances now recorded on other hosts, and never starts them.
  let cleaning = false;
  const cleanup = () => {
    if (cleaning) return;
    cleaning = true;
    removeStaleCopies(knex, config.masterKey, host.id, logger)
      .catch((err) => logger.warn({ err: (err as Error).message }, 'stale-copy cleanup failed'))
      .finally(() => { cleaning = false; });
  };
  await beat();
  cleanup();
  const timer = setInterval(() => { beat().then(cleanup, (err) => logger.warn({ err: (err as Error).message }, 'agent heartbeat failed')); }, config.compute.agentHeartbeatSeconds * 1000);
  // The host's figures into the metrics store (monitoring), at their own pace.
  const collect = hostMetricsCollector();
  const sample = () => recordSample(knex, { source: `host:${hostName}`, kind: 'host', hostId: host.id, host: hostName, values: collect() })
    .catch((err) => logger.warn({ err: (err as Error).message }, 'recording host metrics failed'));
  void sample();
  const sampleTimer = setInterval(() => { void sample(); }, config.monitoring.sampleSeconds * 1000);
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  const taskQueue = hostTaskQueue(hostName);
  const worker = await Worker.create({
    connection, namespace: config.temporalNamespace, taskQueue,
    activities: createAgentActivities({ knex, config, logger }),
    ...(opts.handleSignals === false ? { shutdownSignals: [] } : {}),
    interceptors: { activity: Object.keys(config.faultDelays).length ? [faultDelayInterceptor(config.faultDelays)] : [] },
  });
  const running = worker.run();
  const reconciler = startNetworkReconciler(config, knex, logger, host.id);
  const stopNetservicesLoop = startNetservicesLoop({ knex, config, logger }, hostName, config.netservices.wgStatsSeconds);
  const system = await startProcessRuntime(knex, config, logger, { kind: 'agent', discriminator: hostName, capabilities: ['agent', `host:${hostName}`], metadata: { host: hostName, task_queue: taskQueue } });
  logger.info({ host: hostName, taskQueue }, 'agent polling');
  return {
    worker,
    running,
    taskQueue,
    async stop() {
      clearInterval(timer);
      await system.stop();
      clearInterval(sampleTimer);
      await reconciler.stop();
      stopNetservicesLoop();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
      // Gone on purpose: say so at once, so operations fail fast instead of waiting for the heartbeat to go stale
      // (best effort: when the database is already gone, the stale heartbeat says it soon enough).
      await knex('hosts').where({ id: host.id }).update({ agent_last_seen: null }).timeout(2000).catch(() => undefined);
    },
  };
}

/** The dev launcher's own host: Docker (or Podman's Docker API) when a socket is there, else a simulator. */
export async function ensureLocalHost(knex: Knex, name: string): Promise<{ name: string; engine_type: string; address: string }> {
  const existing = await knex('hosts').where({ name }).first('name', 'engine_type', 'address');
  if (existing) return existing;
  const socket = ['/var/run/docker.sock', '/run/podman/podman.sock'].find((p) => fs.existsSync(p));
  const row = { name, address: socket ? `unix://${socket}` : 'localhost', engine_type: socket ? 'docker' : 'simulator', use_agent: true, public_addresses: JSON.stringify(['127.0.0.1']) };
  await knex('hosts').insert(row).onConflict('name').ignore();
  return row;
}
