import crypto from 'node:crypto';
import type { z } from 'zod';
import { AppError, conflict, validationError } from '../../shared/platform/errors';
import { nodeHealth, type NodeHealth } from '../../shared/system/nodes';
import {
  allClusterNodes, clusterNodeById, deleteClusterNode, insertExternalNode, recordNodeCheck, type ClusterNodeRow,
} from '../../db/queries/system/cluster-nodes';
import { found } from '../../db/queries/platform/found';
import { clusterNodeProbeWorkflow } from '../../workflows/system/probe';
import type { ProbeResult } from '../../activities/system/probe';
import { audit } from '../platform/audit';
import type { Caller } from '../platform/caller';
import type { AppDeps } from '../platform/deps';
import { iso } from '../platform/http/schemas';
import { ClusterService as PlacementService } from '../compute/cluster';
import type { externalNodeFields, listNodesQuery } from './schemas';

/** The API's own liveness route: what a health check of an API node calls. */
const API_HEALTH_PATH = '/api/v1/status/health';

/** Cluster membership (seed 003 /cluster/*): idcflow's processes heartbeat themselves in; external nodes are registered. */
export class ClusterNodeService {
  constructor(private readonly deps: AppDeps) {}

  private get knex() { return this.deps.knex; }

  present(n: ClusterNodeRow, now = Date.now()) {
    const status: NodeHealth = nodeHealth(n, now, this.deps.config.system.staleSeconds);
    return {
      id: n.id, kind: n.kind, host: n.host, port: n.port ?? null, status, last_heartbeat: iso(n.last_heartbeat),
      load_factor: n.load_factor ?? null, capabilities: n.capabilities ?? [], metadata: { version: n.version ?? null, ...(n.metadata ?? {}) },
      health_url: n.health_url ?? null, started_at: iso(n.started_at), last_checked: iso(n.last_checked_at), last_check: n.last_check ?? null,
      is_current: n.id === this.deps.system.nodeId,
    };
  }

  private async all() {
    const now = Date.now();
    return (await allClusterNodes(this.knex)).map((n) => this.present(n, now));
  }

  async list(q: z.infer<typeof listNodesQuery>) {
    const nodes = (await this.all()).filter((n) => (!q.kind || n.kind === q.kind) && (!q.status || n.status === q.status));
    const start = (q.page - 1) * q.size;
    return { nodes: nodes.slice(start, start + q.size), pagination: { page: q.page, size: q.size, total: nodes.length, pages: Math.ceil(nodes.length / q.size) } };
  }

  private row(id: string): Promise<ClusterNodeRow> {
    return found(clusterNodeById(this.knex, id), 'cluster node', id);
  }

  async get(id: string) {
    return this.present(await this.row(id));
  }

  async status() {
    const nodes = await this.all();
    const count = (s: NodeHealth) => nodes.filter((n) => n.status === s).length;
    const latest = nodes.reduce<string | null>((a, n) => (n.last_heartbeat && (!a || n.last_heartbeat > a) ? n.last_heartbeat : a), null);
    const healthy = nodes.filter((n) => n.status === 'healthy');
    return {
      current_node_id: this.deps.system.nodeId,
      // No leader: work one process must do alone takes a PostgreSQL advisory lock for its duration.
      is_leader: false,
      coordination: 'advisory-lock leases',
      total_nodes: nodes.length, healthy_nodes: healthy.length, unhealthy_nodes: count('unhealthy'), stopped_nodes: count('stopped'), unknown_nodes: count('unknown'),
      heartbeat_seconds: this.deps.config.system.heartbeatSeconds, stale_after_seconds: this.deps.config.system.staleSeconds,
      nodes,
      services: {
        idcflow: { nodes: healthy.filter((n) => n.kind !== 'external').map((n) => n.id), metadata: { kinds: ['api', 'worker', 'agent'] }, last_updated: latest },
        ...(nodes.some((n) => n.kind === 'external') ? { external: { nodes: healthy.filter((n) => n.kind === 'external').map((n) => n.id), metadata: {}, last_updated: latest } } : {}),
      },
      load_balancer: await new PlacementService(this.deps).loadBalancer(),
    };
  }

  /** Registers an external node by its health URL (or host and port: http://host:port/health); probed on its health-check. */
  async register(caller: Caller, body: z.infer<typeof externalNodeFields>) {
    const healthUrl = body.health_url ?? (body.host && body.port ? `http://${body.host.includes(':') ? `[${body.host}]` : body.host}:${body.port}/health` : null);
    if (!healthUrl) throw validationError([{ field: 'health_url', location: 'body', message: 'is required unless host and port are given' }]);
    const url = URL.parse(healthUrl);
    if (!url) throw validationError([{ field: body.health_url ? 'health_url' : 'host', location: 'body', message: 'does not make a valid URL' }]);
    const existing = await clusterNodeById(this.knex, body.id);
    if (existing) throw conflict(`A cluster node ${body.id} exists already${existing.kind === 'external' ? '' : ` (an idcflow ${existing.kind} process)`}`, { field: 'id' });
    await insertExternalNode(this.knex, {
      id: body.id, kind: 'external', host: body.host ?? url.hostname.replace(/^\[|\]$/g, ''), port: body.port ?? (url.port ? Number(url.port) : null), health_url: healthUrl,
      status: 'registered', capabilities: JSON.stringify(body.capabilities), metadata: JSON.stringify(body.metadata), created_by: caller.principal.userId,
    });
    await audit(this.knex, caller, { module: 'system', action: 'cluster_node_add', resourceType: 'cluster_node', resourceId: body.id, message: `External cluster node ${body.id} registered (${healthUrl})` });
    return { message: 'Node added to the cluster', node: await this.get(body.id) };
  }

  async remove(caller: Caller, id: string) {
    const row = await this.row(id);
    if (row.kind !== 'external' && nodeHealth(row, Date.now(), this.deps.config.system.staleSeconds) === 'healthy') {
      throw conflict(`Cluster node ${id} is a running idcflow ${row.kind} process: stop it first (its row comes back with its next heartbeat)`);
    }
    await deleteClusterNode(this.knex, id);
    await audit(this.knex, caller, { module: 'system', action: 'cluster_node_remove', resourceType: 'cluster_node', resourceId: id, message: `Cluster node ${id} removed` });
    return { id, deleted: true };
  }

  /**
   * A real check: an external node's health URL, or an API node's liveness route, probed by a worker (one bounded GET,
   * through a short workflow: the API never calls out itself); a worker or agent by its heartbeat.
   */
  async healthCheck(caller: Caller, id: string) {
    const row = await this.row(id);
    const url = row.kind === 'external' ? row.health_url : row.kind === 'api' && row.port ? `http://${row.host.includes(':') ? `[${row.host}]` : row.host}:${row.port}${API_HEALTH_PATH}` : null;
    let check: (ProbeResult & { method: string; url?: string }) | null = null;
    if (url) {
      check = { method: 'http', url, ...(await this.probe(url)) };
      await recordNodeCheck(this.knex, id, check, row.kind === 'external' && check.ok);
    }
    const node = await this.get(id);
    const isHealthy = check ? check.ok && (row.kind === 'external' || node.status === 'healthy') : node.status === 'healthy';
    await audit(this.knex, caller, { module: 'system', action: 'cluster_node_check', resourceType: 'cluster_node', resourceId: id, message: `Health check of ${id}: ${isHealthy ? 'healthy' : 'unhealthy'}`, level: isHealthy ? 'INFO' : 'WARNING' });
    return {
      node_id: id, is_healthy: isHealthy, status: isHealthy ? 'healthy' : node.status === 'stopped' ? 'stopped' : 'unhealthy', last_checked: check?.checked_at ?? new Date().toISOString(),
      check: check ?? { method: 'heartbeat', last_heartbeat: node.last_heartbeat, stale_after_seconds: this.deps.config.system.staleSeconds },
    };
  }

  private async probe(url: string): Promise<ProbeResult> {
    const timeoutMs = this.deps.config.system.probeTimeoutMs;
    try {
      return await this.deps.temporal.workflow.execute(clusterNodeProbeWorkflow, {
        workflowId: `cluster-node-probe-${crypto.randomBytes(6).toString('hex')}`, taskQueue: this.deps.config.taskQueue,
        args: [{ url, timeoutMs }], workflowExecutionTimeout: `${Math.ceil(timeoutMs / 1000) + 15}s`,
      });
    } catch (err) {
      throw new AppError('SERVICE_UNAVAILABLE', `The health probe could not run: ${(err as Error).message}`, { reason: 'probe_unavailable' });
    }
  }
}
