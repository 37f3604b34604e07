import type Koa from 'koa';
import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { NO_STORE, Reply, route } from '../platform/http/route';
import { booleanish, dbId, idParams, pageQuery, pagination } from '../platform/http/schemas';
import type { OperationService } from '../platform/operations/service';
import { operationSchema } from '../platform/operations/present';
import { computeServices } from './services';
import {
  createHostBody, createInstanceBody, hostSchema, imageName, imageSchema, instanceSchema, lbBody, listInstancesQuery, passwordBody, powerBody, quotaBody, updateHostBody,
  updateInstanceBody, uploadImageBody, usageReport,
} from './schemas';
import { PLACEMENT_STRATEGIES } from '../../shared/compute/catalogue';

const accepted = z.object({ operation: operationSchema });
/** An instance by its numeric id or by its uuid, the id its operations name it by. */
const instanceParams = z.object({
  id: z.union([dbId, z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'an instance id or uuid')]),
});

/** An instance agent's token from X-Instance-Token or a Bearer header (or the body, which the service reads). */
export const instanceTokenOf = (ctx: Koa.Context) => ctx.get('x-instance-token') || ctx.get('authorization').replace(/^Bearer\s+/i, '') || undefined;
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
  const { operations, hosts, instances, cluster, images } = computeServices(deps);
  const hostTags = ['hosts'];
  const tags = ['instances'];
  const ok = (started: Parameters<OperationService['accepted']>[0]) => operations.accepted(started);
  return [
    route({
      method: 'get', path: '/engines', tags: hostTags, permission: 'view', summary: 'Engine types with enabled/platform/arch/remote/options/messages (seed 001\'s shape)',
      response: z.object({ engines: z.array(engineSchema) }),
      handler: async () => ({ engines: hosts.engines() }),
    }),
    route({
      method: 'get', path: '/hosts', tags: hostTags, permission: 'view', summary: 'Hosts (admins see addresses and settings; nobody sees secrets)',
      query: pageQuery.extend({ search: z.string().max(64).optional(), engine_type: z.string().max(32).optional(), enabled: booleanish.optional() }),
      response: z.object({ hosts: z.array(hostSchema), pagination }),
      handler: ({ principal, query }) => hosts.listHosts(principal, query),
    }),
    route({
      method: 'post', path: '/hosts', tags: hostTags, permission: 'admin', status: 201, summary: 'Add a host (password and keys are sealed at rest)',
      body: createHostBody, response: hostSchema, message: 'Host created',
      handler: ({ caller, body }) => hosts.createHost(caller, body),
    }),
    route({
      method: 'get', path: '/hosts/:id', tags: hostTags, permission: 'view', summary: 'A host',
      params: idParams, response: hostSchema,
      handler: async ({ principal, params }) => hosts.presentHost(await hosts.hostRow(params.id), principal.permissions.includes('*') || principal.permissions.includes('admin')),
    }),
    route({
      method: 'put', path: '/hosts/:id', tags: hostTags, permission: 'admin', summary: 'Update a host (omit password/keys to keep them; null clears)',
      params: idParams, body: updateHostBody, response: hostSchema, message: 'Host updated',
      handler: ({ caller, params, body }) => hosts.updateHost(caller, params.id, body),
    }),
    route({
      method: 'delete', path: '/hosts/:id', tags: hostTags, permission: 'admin', summary: 'Delete a host that has no instances',
      params: idParams, response: z.object({ id: z.number(), name: z.string(), deleted: z.boolean() }), message: 'Host deleted',
      handler: ({ caller, params }) => hosts.deleteHost(caller, params.id),
    }),
    route({
      method: 'post', path: '/hosts/:id/enable', tags: hostTags, permission: 'admin', summary: 'Enable a host for new instances',
      params: idParams, response: hostSchema, message: 'Host enabled',
      handler: ({ caller, params }) => hosts.setHostEnabled(caller, params.id, true),
    }),
    route({
      method: 'post', path: '/hosts/:id/disable', tags: hostTags, permission: 'admin', summary: 'Disable a host (no new instances; existing ones keep running)',
      params: idParams, response: hostSchema, message: 'Host disabled',
      handler: ({ caller, params }) => hosts.setHostEnabled(caller, params.id, false),
    }),
    route({
      method: 'get', path: '/hosts/:id/status', tags: hostTags, permission: 'admin', summary: 'Live host status: CPU, memory, disk from the engine or the host agent',
      params: idParams, response: z.object({ host: z.string(), live: z.boolean(), source: z.string(), status: z.record(z.string(), z.unknown()).nullable(), at: z.string().nullable() }),
      handler: ({ params }) => hosts.hostStatus(params.id),
    }),
    route({
      method: 'post', path: '/hosts/:id/scan', tags: hostTags, permission: 'admin', startsOperation: true,
      summary: 'Scan the engine: import instances found there, mark recorded ones that are gone as missing',
      params: idParams, response: accepted,
      handler: async ({ caller, params }) => ok(await hosts.scanHost(caller, await hosts.hostRow(params.id))),
    }),
    route({
      method: 'get', path: '/hosts/:id/images', tags: hostTags, permission: 'view', summary: 'The base images of a libvirt host\'s image_dir, with size and SHA-256 (read on the host)',
      description: 'A checksum is kept beside each image (<file>.sha256); an image put there by hand is read once, on the first listing.',
      params: idParams, response: z.object({ host_id: z.number(), images: z.array(imageSchema) }),
      handler: ({ params }) => images.list(params.id),
    }),
    route({
      method: 'post', path: '/hosts/:id/images', tags: hostTags, permission: 'admin', startsOperation: true,
      summary: 'Download a base image from a URL into the host\'s image_dir (streamed, size-bounded, SHA-256 and format checked)',
      params: idParams, body: uploadImageBody, response: accepted,
      handler: async ({ caller, params, body }) => ok(await images.upload(caller, params.id, body)),
    }),
    route({
      method: 'delete', path: '/hosts/:id/images/:name', tags: hostTags, permission: 'admin', status: 202, startsOperation: true,
      summary: 'Delete a base image (refused while an instance uses it)',
      params: z.object({ id: dbId, name: imageName }), response: accepted,
      handler: async ({ caller, params }) => ok(await images.remove(caller, params.id, params.name)),
    }),
    route({
      method: 'get', path: '/hosts/:id/instances', tags, permission: 'view', summary: 'Instances on a host (yours; an admin sees all)',
      params: idParams, query: pageQuery.extend(listInstancesQuery.shape),
      response: z.object({ instances: z.array(instanceSchema), pagination }),
      handler: async ({ principal, params, query }) => { await hosts.hostRow(params.id); return instances.listInstances(principal, { ...query, host_id: params.id }); },
    }),
    route({
      method: 'post', path: '/hosts/:id/instances', tags, permission: 'create', startsOperation: true, summary: 'Create an instance on this host',
      params: idParams, body: createInstanceBody, response: accepted,
      handler: async ({ caller, params, body }) => ok(await instances.createInstance(caller, body, params.id)),
    }),
    route({
      method: 'get', path: '/instances', tags, permission: 'view', summary: 'Instances (yours; an admin sees all)',
      query: pageQuery.extend(listInstancesQuery.shape), response: z.object({ instances: z.array(instanceSchema), pagination }),
      handler: ({ principal, query }) => instances.listInstances(principal, query),
    }),
    route({
      method: 'post', path: '/instances', tags, permission: 'create', startsOperation: true,
      summary: 'Create an instance: validate, quota, placement (no host given), reserve capacity and an IP, create, start, wait until running',
      body: createInstanceBody, response: accepted,
      handler: async ({ caller, body }) => ok(await instances.createInstance(caller, body)),
    }),
    route({
      method: 'post', path: '/instances/report', tags, auth: 'public', summary: 'Usage report from an instance agent, authenticated by the per-instance token',
      body: usageReport, response: z.object({ vm_uuid: z.string(), received_at: z.string() }), message: 'Report received',
      handler: ({ ctx, body }) => instances.recordUsage(instanceTokenOf(ctx), body),
    }),
    route({
      method: 'get', path: '/instances/:id', tags, permission: 'view', summary: 'An instance',
      params: instanceParams, response: instanceSchema,
      handler: async ({ principal, params }) => instances.presentInstance(await instances.instanceRow(principal, params.id)),
    }),
    route({
      method: 'put', path: '/instances/:id', tags, permission: 'update', status: 202, startsOperation: true, summary: 'Resize, rename or re-image an instance',
      params: instanceParams, body: updateInstanceBody, response: accepted,
      handler: async ({ caller, principal, params, body }) => ok(await instances.updateInstance(caller, await instances.instanceRow(principal, params.id), body)),
    }),
    route({
      method: 'delete', path: '/instances/:id', tags, permission: 'delete', status: 202, startsOperation: true, summary: 'Delete an instance (releases its IPs and quota)',
      params: instanceParams, response: accepted,
      handler: async ({ caller, principal, params }) => ok(await instances.deleteInstance(caller, await instances.instanceRow(principal, params.id))),
    }),
    route({
      method: 'post', path: '/instances/:id/power', tags, permission: 'update', startsOperation: true,
      summary: 'Power action: start, stop, shutdown, hard_stop, suspend/pause, resume, reset, hard_reset',
      params: instanceParams, body: powerBody, response: accepted,
      handler: async ({ caller, principal, params, body }) => ok(await instances.powerInstance(caller, await instances.instanceRow(principal, params.id), body.action)),
    }),
    route({
      method: 'get', path: '/instances/:id/status', tags, permission: 'view', summary: 'Live state and usage from the engine',
      params: instanceParams,
      response: z.object({ id: z.number(), uuid: z.string(), recorded_state: z.string(), state: z.string(), engine: z.record(z.string(), z.unknown()).nullable(), stats: z.record(z.string(), z.unknown()).nullable(), usage: z.record(z.string(), z.unknown()).nullable(), usage_at: z.string().nullable() }),
      handler: async ({ principal, params }) => instances.instanceStatus(await instances.instanceRow(principal, params.id)),
    }),
    route({
      method: 'post', path: '/instances/:id/password', tags, permission: 'update', startsOperation: true, summary: 'Set the OS password (kept sealed; never returned)',
      params: instanceParams, body: passwordBody, response: accepted,
      handler: async ({ caller, principal, params, body }) => ok(await instances.setInstancePassword(caller, await instances.instanceRow(principal, params.id), body.password)),
    }),
    route({
      method: 'get', path: '/instances/:id/console', tags, permission: 'update', summary: 'Console access: the engine\'s URL, or through the console gateway with a single-use ticket: a WebSocket terminal (docker) or VNC screen (libvirt_qemu)',
      params: instanceParams, response: z.object({ type: z.string(), url: z.string(), web_url: z.string().optional().describe('A browser terminal for it, on this API'), expires_at: z.string().nullable() }),
      handler: async ({ caller, principal, params }) => new Reply(await instances.console(caller, await instances.instanceRow(principal, params.id)), { headers: NO_STORE }),
    }),
    route({
      method: 'get', path: '/instances/:id/agent-token', tags, permission: 'update', noStore: true, summary: 'The per-instance token its agent reports usage with',
      params: instanceParams, response: z.object({ uuid: z.string(), token: z.string(), upload: z.string() }),
      handler: async ({ principal, params }) => instances.agentToken(await instances.instanceRow(principal, params.id)),
    }),
    route({
      method: 'get', path: '/cluster/load-balancer', tags: ['cluster'], permission: 'view', summary: 'Placement strategy for new instances (seed 003 shape)',
      response: lbSchema, handler: () => cluster.loadBalancer(),
    }),
    route({
      method: 'put', path: '/cluster/load-balancer', tags: ['cluster'], permission: 'admin', summary: 'Set the placement strategy and node weights',
      body: lbBody, response: lbSchema, message: 'Load balancer updated',
      handler: ({ caller, body }) => cluster.setLoadBalancer(caller, body),
    }),
    route({
      method: 'put', path: '/cluster/load-balancer/strategy', tags: ['cluster'], permission: 'admin', summary: 'Set the placement strategy (seed 003: ?strategy=)',
      query: z.object({ strategy: z.enum(PLACEMENT_STRATEGIES) }), response: z.object({ message: z.string(), strategy: z.string() }),
      handler: async ({ caller, query }) => ({ message: '负载均衡策略更新成功', strategy: (await cluster.setLoadBalancer(caller, { strategy: query.strategy })).strategy }),
    }),
    route({
      method: 'get', path: '/users/:id/quota', tags: ['users'], permission: 'view', summary: 'A user\'s compute quota and what is in use (yourself, or anyone for an admin)',
      params: idParams, response: quotaSchema,
      handler: ({ principal, params }) => cluster.quota(principal, params.id),
    }),
    route({
      method: 'put', path: '/users/:id/quota', tags: ['users'], permission: 'admin', summary: 'Set a user\'s compute quota (cpu, ram_mb, disk_gb, instances)',
      params: idParams, body: quotaBody, response: quotaSchema, message: 'Quota updated',
      handler: ({ caller, params, body }) => cluster.setQuota(caller, params.id, body),
    }),
  ];
}
