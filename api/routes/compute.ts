import { z } from 'zod';
import type { AppDeps } from '../deps';
import { route } from '../http/route';
import { booleanish, idParams, pageQuery, pagination } from '../http/schemas';
import { OperationService, operationSchema } from '../services/operations';
import {
  ComputeService, createHostBody, createInstanceBody, hostSchema, instanceSchema, lbBody, listInstancesQuery, passwordBody, powerBody, quotaBody, updateHostBody,
  updateInstanceBody, usageReport,
} from '../services/compute';
import { PLACEMENT_STRATEGIES } from '../../shared/compute';

const accepted = z.object({ operation: operationSchema });
const engineSchema = z.object({
  type: z.string(), name: z.string(), enabled: z.boolean(), platform: z.array(z.string()), arch: z.array(z.string()), is_remote: z.boolean(),
  options: z.record(z.string(), z.string()), messages: z.array(z.string()), reason: z.string().nullable(), aliases: z.array(z.string()),
});
const lbSchema = z.object({ strategy: z.enum(PLACEMENT_STRATEGIES), node_weights: z.record(z.string(), z.number()), available_strategies: z.array(z.string()) });
const quotaSchema = z.object({
  user_id: z.number(), quota: quotaBody, used: quotaBody, source: z.enum(['user', 'default']), enforced: z.boolean(),
});

/** Native compute API: engines, hosts, instances, placement strategy, quotas. Every change to infrastructure is an operation (202). */
export function computeRoutes(deps: AppDeps) {
  const operations = new OperationService(deps);
  const compute = new ComputeService(deps, operations);
  const hostTags = ['hosts'];
  const tags = ['instances'];
  const ok = (started: Parameters<OperationService['accepted']>[0]) => operations.accepted(started);
  return [
    route({
      method: 'get', path: '/engines', tags: hostTags, summary: 'Engine types with enabled/platform/arch/remote/options/messages (seed 001\'s shape)',
      response: z.object({ engines: z.array(engineSchema) }),
      handler: async () => ({ engines: compute.engines() }),
    }),
    route({
      method: 'get', path: '/hosts', tags: hostTags, permission: 'view', summary: 'Hosts (admins see addresses and settings; nobody sees secrets)',
      query: pageQuery.extend({ search: z.string().max(64).optional(), engine_type: z.string().max(32).optional(), enabled: booleanish.optional() }),
      response: z.object({ hosts: z.array(hostSchema), pagination }),
      handler: ({ principal, query }) => compute.listHosts(principal, query),
    }),
    route({
      method: 'post', path: '/hosts', tags: hostTags, permission: 'admin', status: 201, summary: 'Add a host (password and keys are sealed at rest)',
      body: createHostBody, response: hostSchema, message: 'Host created',
      handler: ({ ctx, principal, body }) => compute.createHost(ctx, principal, body),
    }),
    route({
      method: 'get', path: '/hosts/:id', tags: hostTags, permission: 'view', summary: 'A host',
      params: idParams, response: hostSchema,
      handler: async ({ principal, params }) => compute.presentHost(await compute.hostRow(params.id), principal.permissions.includes('*') || principal.permissions.includes('admin')),
    }),
    route({
      method: 'put', path: '/hosts/:id', tags: hostTags, permission: 'admin', summary: 'Update a host (omit password/keys to keep them; null clears)',
      params: idParams, body: updateHostBody, response: hostSchema, message: 'Host updated',
      handler: ({ ctx, principal, params, body }) => compute.updateHost(ctx, principal, params.id, body),
    }),
    route({
      method: 'delete', path: '/hosts/:id', tags: hostTags, permission: 'admin', summary: 'Delete a host that has no instances',
      params: idParams, response: z.object({ id: z.number(), name: z.string(), deleted: z.boolean() }), message: 'Host deleted',
      handler: ({ ctx, principal, params }) => compute.deleteHost(ctx, principal, params.id),
    }),
    route({
      method: 'post', path: '/hosts/:id/enable', tags: hostTags, permission: 'admin', summary: 'Enable a host for new instances',
      params: idParams, response: hostSchema, message: 'Host enabled',
      handler: ({ ctx, principal, params }) => compute.setHostEnabled(ctx, principal, params.id, true),
    }),
    route({
      method: 'post', path: '/hosts/:id/disable', tags: hostTags, permission: 'admin', summary: 'Disable a host (no new instances; existing ones keep running)',
      params: idParams, response: hostSchema, message: 'Host disabled',
      handler: ({ ctx, principal, params }) => compute.setHostEnabled(ctx, principal, params.id, false),
    }),
    route({
      method: 'get', path: '/hosts/:id/status', tags: hostTags, permission: 'admin', summary: 'Live host status: CPU, memory, disk from the engine or the host agent',
      params: idParams, response: z.object({ host: z.string(), live: z.boolean(), source: z.string(), status: z.record(z.string(), z.unknown()).nullable(), at: z.string().nullable() }),
      handler: ({ params }) => compute.hostStatus(params.id),
    }),
    route({
      method: 'post', path: '/hosts/:id/scan', tags: hostTags, permission: 'admin', startsOperation: true,
      summary: 'Scan the engine: import instances found there, mark recorded ones that are gone as missing',
      params: idParams, response: accepted,
      handler: async ({ ctx, principal, params }) => ok(await compute.scanHost(ctx, principal, await compute.hostRow(params.id))),
    }),
    route({
      method: 'get', path: '/hosts/:id/instances', tags, permission: 'view', summary: 'Instances on a host (yours; an admin sees all)',
      params: idParams, query: pageQuery.extend(listInstancesQuery.shape),
      response: z.object({ instances: z.array(instanceSchema), pagination }),
      handler: async ({ principal, params, query }) => { await compute.hostRow(params.id); return compute.listInstances(principal, { ...query, host_id: params.id }); },
    }),
    route({
      method: 'post', path: '/hosts/:id/instances', tags, permission: 'create', startsOperation: true, summary: 'Create an instance on this host',
      params: idParams, body: createInstanceBody, response: accepted,
      handler: async ({ ctx, principal, params, body }) => ok(await compute.createInstance(ctx, principal, body, params.id)),
    }),
    route({
      method: 'get', path: '/instances', tags, permission: 'view', summary: 'Instances (yours; an admin sees all)',
      query: pageQuery.extend(listInstancesQuery.shape), response: z.object({ instances: z.array(instanceSchema), pagination }),
      handler: ({ principal, query }) => compute.listInstances(principal, query),
    }),
    route({
      method: 'post', path: '/instances', tags, permission: 'create', startsOperation: true,
      summary: 'Create an instance: validate, quota, placement (no host given), reserve capacity and an IP, create, start, wait until running',
      body: createInstanceBody, response: accepted,
      handler: async ({ ctx, principal, body }) => ok(await compute.createInstance(ctx, principal, body)),
    }),
    route({
      method: 'post', path: '/instances/report', tags, auth: 'public', summary: 'Usage report from an instance agent, authenticated by the per-instance token',
      body: usageReport, response: z.object({ vm_uuid: z.string(), received_at: z.string() }), message: 'Report received',
      handler: ({ ctx, body }) => compute.recordUsage(ctx, body),
    }),
    route({
      method: 'get', path: '/instances/:id', tags, permission: 'view', summary: 'An instance',
      params: idParams, response: instanceSchema,
      handler: async ({ principal, params }) => compute.presentInstance(await compute.instanceRow(principal, params.id)),
    }),
    route({
      method: 'put', path: '/instances/:id', tags, permission: 'update', status: 202, startsOperation: true, summary: 'Resize, rename or re-image an instance',
      params: idParams, body: updateInstanceBody, response: accepted,
      handler: async ({ ctx, principal, params, body }) => ok(await compute.updateInstance(ctx, principal, await compute.instanceRow(principal, params.id), body)),
    }),
    route({
      method: 'delete', path: '/instances/:id', tags, permission: 'delete', status: 202, startsOperation: true, summary: 'Delete an instance (releases its IPs and quota)',
      params: idParams, response: accepted,
      handler: async ({ ctx, principal, params }) => ok(await compute.deleteInstance(ctx, principal, await compute.instanceRow(principal, params.id))),
    }),
    route({
      method: 'post', path: '/instances/:id/power', tags, permission: 'update', startsOperation: true,
      summary: 'Power action: start, stop, shutdown, hard_stop, suspend/pause, resume, reset, hard_reset',
      params: idParams, body: powerBody, response: accepted,
      handler: async ({ ctx, principal, params, body }) => ok(await compute.powerInstance(ctx, principal, await compute.instanceRow(principal, params.id), body.action)),
    }),
    route({
      method: 'get', path: '/instances/:id/status', tags, permission: 'view', summary: 'Live state and usage from the engine',
      params: idParams,
      response: z.object({ id: z.number(), uuid: z.string(), recorded_state: z.string(), state: z.string(), engine: z.record(z.string(), z.unknown()).nullable(), stats: z.record(z.string(), z.unknown()).nullable(), usage: z.record(z.string(), z.unknown()).nullable(), usage_at: z.string().nullable() }),
      handler: async ({ principal, params }) => compute.instanceStatus(await compute.instanceRow(principal, params.id)),
    }),
    route({
      method: 'post', path: '/instances/:id/password', tags, permission: 'update', startsOperation: true, summary: 'Set the OS password (kept sealed; never returned)',
      params: idParams, body: passwordBody, response: accepted,
      handler: async ({ ctx, principal, params, body }) => ok(await compute.setInstancePassword(ctx, principal, await compute.instanceRow(principal, params.id), body.password)),
    }),
    route({
      method: 'get', path: '/instances/:id/console', tags, permission: 'update', summary: 'Console access: the engine\'s URL, or a WebSocket terminal (docker) with a single-use ticket',
      params: idParams, response: z.object({ type: z.string(), url: z.string(), web_url: z.string().optional().describe('A browser terminal for it, on this API'), expires_at: z.string().nullable() }),
      handler: async ({ ctx, principal, params }) => compute.console(ctx, principal, await compute.instanceRow(principal, params.id)),
    }),
    route({
      method: 'get', path: '/instances/:id/agent-token', tags, permission: 'update', summary: 'The per-instance token its agent reports usage with',
      params: idParams, response: z.object({ uuid: z.string(), token: z.string(), upload: z.string() }),
      handler: async ({ principal, params }) => compute.agentToken(await compute.instanceRow(principal, params.id)),
    }),
    route({
      method: 'get', path: '/cluster/load-balancer', tags: ['cluster'], permission: 'view', summary: 'Placement strategy for new instances (seed 003 shape)',
      response: lbSchema, handler: () => compute.loadBalancer(),
    }),
    route({
      method: 'put', path: '/cluster/load-balancer', tags: ['cluster'], permission: 'admin', summary: 'Set the placement strategy and node weights',
      body: lbBody, response: lbSchema, message: 'Load balancer updated',
      handler: ({ ctx, principal, body }) => compute.setLoadBalancer(ctx, principal, body),
    }),
    route({
      method: 'put', path: '/cluster/load-balancer/strategy', tags: ['cluster'], permission: 'admin', summary: 'Set the placement strategy (seed 003: ?strategy=)',
      query: z.object({ strategy: z.enum(PLACEMENT_STRATEGIES) }), response: z.object({ message: z.string(), strategy: z.string() }),
      handler: async ({ ctx, principal, query }) => ({ message: '负载均衡策略更新成功', strategy: (await compute.setLoadBalancer(ctx, principal, { strategy: query.strategy })).strategy }),
    }),
    route({
      method: 'get', path: '/users/:id/quota', tags: ['users'], summary: 'A user\'s compute quota and what is in use (yourself, or anyone for an admin)',
      params: idParams, response: quotaSchema,
      handler: ({ principal, params }) => compute.quota(principal, params.id),
    }),
    route({
      method: 'put', path: '/users/:id/quota', tags: ['users'], permission: 'admin', summary: 'Set a user\'s compute quota (cpu, ram_mb, disk_gb, instances)',
      params: idParams, body: quotaBody, response: quotaSchema, message: 'Quota updated',
      handler: ({ ctx, principal, params, body }) => compute.setQuota(ctx, principal, params.id, body),
    }),
  ];
}
