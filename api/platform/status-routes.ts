import os from 'node:os';
import fs from 'node:fs';
import { z } from 'zod';
import type { AppDeps } from './deps';
import { route } from './http/route';
import { VERSION } from '../../shared/platform/version';
import { pingTemporal, TEMPORAL_HEALTH_DEADLINE_MS } from './temporal-health';

type ComponentStatus = { status: 'healthy' | 'degraded' | 'unhealthy'; response_time: number; [k: string]: unknown };

async function timed(check: () => Promise<Record<string, unknown>>): Promise<ComponentStatus> {
  const started = Date.now();
  try {
    const extra = await check();
    return { status: 'healthy', response_time: Date.now() - started, ...extra };
  } catch (err) {
    return { status: 'unhealthy', response_time: Date.now() - started, error: (err as Error).message };
  }
}

function cpuUsagePercent(): number {
  const cpus = os.cpus();
  const idle = cpus.reduce((s, c) => s + c.times.idle, 0);
  const total = cpus.reduce((s, c) => s + Object.values(c.times).reduce((a, b) => a + b, 0), 0);
  return total ? Math.round((1 - idle / total) * 1000) / 10 : 0;
}

export function systemResources(dataDir: string) {
  const disk = fs.statfsSync(fs.existsSync(dataDir) ? dataDir : '/');
  const diskTotal = disk.blocks * disk.bsize;
  const diskFree = disk.bavail * disk.bsize;
  const memTotal = os.totalmem();
  const memFree = os.freemem();
  return {
    cpu: { usage: cpuUsagePercent(), cores: os.cpus().length, load_average: os.loadavg().map((l) => Math.round(l * 100) / 100) },
    memory: { total: memTotal, used: memTotal - memFree, free: memFree, usage_percent: Math.round(((memTotal - memFree) / memTotal) * 1000) / 10 },
    disk: { total: diskTotal, used: diskTotal - diskFree, free: diskFree, usage_percent: Math.round(((diskTotal - diskFree) / diskTotal) * 1000) / 10 },
  };
}

/** WireGuard: servers (wanted running, and running as last applied) and clients. */
async function wireguardHealth(knex: AppDeps['knex']) {
  const [servers] = await knex('wg_servers').select(knex.raw('count(*)::int AS servers'), knex.raw("count(*) FILTER (WHERE desired_state = 'running')::int AS wanted"), knex.raw("count(*) FILTER (WHERE desired_state = 'running' AND status = 'running')::int AS running"));
  const [{ clients }] = await knex('wg_clients').select(knex.raw('count(*)::int AS clients'));
  return { servers: servers.servers, wanted_running: servers.wanted, running: servers.running, clients };
}

/** BGP: sessions, how many BIRD reports established, and the routes they received, as the host agents last read them. */
async function bgpHealth(knex: AppDeps['knex']) {
  const [row] = await knex('bgp_sessions').select(knex.raw('count(*)::int AS sessions'), knex.raw("count(*) FILTER (WHERE status = 'established')::int AS established"), knex.raw('coalesce(sum(routes_received), 0)::int AS routes'));
  return { sessions: row.sessions, established: row.established, routes: row.routes };
}

export function statusRoutes(deps: AppDeps) {
  const tags = ['status'];
  const service = 'idcflow';
  return [
    route({
      method: 'get', path: '/status/health', tags, auth: 'public', summary: 'Liveness: the API answers',
      response: z.object({ status: z.string(), service: z.string(), version: z.string(), timestamp: z.string() }),
      handler: async () => ({ status: 'healthy', service, version: VERSION, timestamp: new Date().toISOString() }),
    }),
    route({
      method: 'get', path: '/status/health/detailed', tags, permission: 'view', summary: 'Database, Temporal and worker pollers',
      response: z.object({ status: z.string(), service: z.string(), version: z.string(), components: z.record(z.string(), z.record(z.string(), z.unknown())), timestamp: z.string() }),
      handler: async () => {
        const { knex, temporal, config } = deps;
        const [database, temporalStatus, workers] = await Promise.all([
          timed(async () => {
            await knex.raw('select 1');
            const pool = knex.client.pool;
            return { connections: pool.numUsed(), pool_size: pool.max };
          }),
          timed(async () => {
            await pingTemporal(temporal);
            return { address: config.temporalAddress, namespace: config.temporalNamespace };
          }),
          timed(async () => {
            const res = await temporal.withDeadline(Date.now() + TEMPORAL_HEALTH_DEADLINE_MS, () =>
              temporal.workflowService.describeTaskQueue({ namespace: config.temporalNamespace, taskQueue: { name: config.taskQueue }, taskQueueType: 1 }));
            const pollers = (res.pollers ?? []).map((p) => ({ identity: p.identity, last_access: p.lastAccessTime?.seconds ? new Date(Number(p.lastAccessTime.seconds) * 1000).toISOString() : null }));
            if (pollers.length === 0) throw new Error(`no worker polls task queue ${config.taskQueue}`);
            return { task_queue: config.taskQueue, pollers };
          }),
        ]);
        const [wireguard, bgp] = await Promise.all([timed(() => wireguardHealth(knex)), timed(() => bgpHealth(knex))]);
        const components: Record<string, ComponentStatus> = { database, temporal: temporalStatus, workers, wireguard, bgp };
        const status = database.status !== 'healthy' || temporalStatus.status !== 'healthy' ? 'unhealthy' : [workers, wireguard, bgp].some((c) => c.status !== 'healthy') ? 'degraded' : 'healthy';
        return { status, service, version: VERSION, components, timestamp: new Date().toISOString() };
      },
    }),
    route({
      method: 'get', path: '/status/system', tags, permission: 'view', summary: 'Host system: uptime, load, CPU, memory, disk',
      response: z.object({ system: z.record(z.string(), z.unknown()), resources: z.record(z.string(), z.unknown()), timestamp: z.string() }),
      handler: async () => ({
        system: { hostname: os.hostname(), os: `${os.type()} ${os.release()}`, architecture: os.arch(), uptime: Math.round(os.uptime()), load_average: os.loadavg(), node_version: process.version },
        resources: systemResources(deps.config.dataDir),
        timestamp: new Date().toISOString(),
      }),
    }),
  ];
}
