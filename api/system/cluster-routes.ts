import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { route } from '../platform/http/route';
import { ClusterNodeService } from './cluster';
import { clusterNode, clusterStatus, externalNodeFields, healthCheckResult, listNodesQuery, nodeAdded, nodeList, nodeParams } from './schemas';

/** Seed 003's /cluster/status and /cluster/nodes*: admins only. */
export function clusterRoutes(deps: AppDeps) {
  const nodes = new ClusterNodeService(deps);
  const tags = ['cluster'];
  return [
    route({
      method: 'get', path: '/cluster/status', tags, permission: 'admin', summary: 'Every node with its health (from its last heartbeat), this process\'s node, the placement strategy',
      response: clusterStatus, handler: () => nodes.status(),
    }),
    route({
      method: 'get', path: '/cluster/nodes', tags, permission: 'admin', summary: 'Cluster nodes: idcflow\'s API, worker and agent processes, and external nodes',
      query: listNodesQuery, response: nodeList, handler: ({ query }) => nodes.list(query),
    }),
    route({
      method: 'post', path: '/cluster/nodes', tags, permission: 'admin', status: 201, summary: 'Register an external node by its health URL (or host and port: http://host:port/health)',
      description: 'Only http and https URLs are accepted. Its status stays unknown until a health check probes it.',
      body: externalNodeFields, response: nodeAdded, message: 'Node added to the cluster',
      handler: ({ caller, body }) => nodes.register(caller, body),
    }),
    route({ method: 'get', path: '/cluster/nodes/:id', tags, permission: 'admin', summary: 'A cluster node', params: nodeParams, response: clusterNode, handler: ({ params }) => nodes.get(params.id) }),
    route({
      method: 'delete', path: '/cluster/nodes/:id', tags, permission: 'admin', summary: 'Remove an external node, or a process that is no longer running',
      params: nodeParams, response: z.object({ id: z.string(), deleted: z.boolean() }), handler: ({ caller, params }) => nodes.remove(caller, params.id),
    }),
    route({
      method: 'post', path: '/cluster/nodes/:id/health-check', tags, permission: 'admin', summary: 'Check a node now: an HTTP probe of its health URL (bounded), or its heartbeat',
      description: `External and API nodes: one GET by a worker, bounded by IDCFLOW_NODE_PROBE_TIMEOUT_MS, healthy on a 2xx; workers and agents: their last heartbeat against IDCFLOW_NODE_STALE_SECONDS.`,
      params: nodeParams, response: healthCheckResult, handler: ({ caller, params }) => nodes.healthCheck(caller, params.id),
    }),
  ];
}
