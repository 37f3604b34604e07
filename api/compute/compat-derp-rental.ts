import { z } from 'zod';
import { dbId, platformName } from '../platform/http/schemas';
import type { AppDeps } from '../platform/deps';
import { route } from '../platform/http/route';
import { computeServices } from './services';
import { imageReference } from '../../shared/compute/image-reference';

const containerStatus = (state: string) => (state === 'stopped' ? 'stopped' : state);
const containerName = platformName;

/** Seed 000 (DERP rental) servers and containers. Its "containers" are instances on docker-engine hosts. */
export function derpRentalComputeRoutes(deps: AppDeps) {
  const { operations, hosts, instances } = computeServices(deps);
  const tags = ['compat: seed 000 DERP rental'];
  const common = { tags, surface: 'seed000' as const };
  const nameParams = z.object({ container_name: z.string().min(1).max(128) });
  return [
    route({
      ...common, method: 'post', path: '/api/add_server', permission: 'admin', summary: 'Add a server (a docker-engine host at ip_address, tcp port 2375 unless given)',
      body: z.object({ server_name: z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash and underscore'), ip_address: z.string().min(1).max(255), status: z.string().max(32).optional() }),
      response: z.object({ server_id: z.number() }), message: 'Server added successfully',
      handler: async ({ caller, body }) => {
        const host = await hosts.createHost(caller, {
          name: body.server_name, address: body.ip_address, engine_type: 'docker', enabled: !['offline', 'disabled', 'inactive'].includes((body.status ?? 'online').toLowerCase()),
          public_addresses: [body.ip_address.replace(/^[a-z]+:\/\//, '').replace(/:\d+$/, '')],
        });
        return { server_id: host.id };
      },
    }),
    route({
      ...common, method: 'get', path: '/api/server/health_check', permission: 'view',
      summary: 'Health of the servers: every enabled host probed (agent heartbeat, or one bounded engine read); healthy when all answer',
      handler: async () => hosts.serversHealth(),
    }),
    route({
      ...common, method: 'get', path: '/api/containers', permission: 'view', summary: 'Containers (yours; an admin sees all)',
      handler: async ({ principal }) => ({
        containers: (await instances.listInstances(principal, { page: 1, size: 100 }, 'docker')).instances.map((i) => ({ container_name: i.uuid, name: i.name, status: containerStatus(i.state), image: i.image, server: i.host.name, container_id: i.id })),
      }),
    }),
    route({
      ...common, method: 'post', path: '/api/containers', permission: 'create', startsOperation: true, summary: 'Create a container on a docker host chosen by the placement strategy; waits (bounded)',
      body: z.object({ container_name: containerName, image: imageReference, server_id: dbId.optional(), command: z.array(z.string()).optional() }),
      handler: async ({ caller, body }) => {
        const started = await instances.createInstance(caller, {
          uuid: body.container_name, name: body.container_name, image: body.image, command: body.command, engine_type: 'docker', host_id: body.server_id, cpu: 1, ram_mb: 256, disk_gb: 1,
        });
        return operations.respond(caller, started, (r) => ({ container_id: r.instance_id, container_name: r.uuid, status: containerStatus(String(r.state)) }), 'Container created successfully');
      },
    }),
    route({
      ...common, method: 'get', path: '/api/containers/:container_name/status', permission: 'view', summary: 'A container\'s status', params: nameParams,
      handler: async ({ principal, params }) => {
        const row = await instances.containerByName(principal, params.container_name);
        return { container_name: row.uuid, status: containerStatus(row.state) };
      },
    }),
    route({
      ...common, method: 'post', path: '/api/containers/:container_name/stop', permission: 'update', startsOperation: true, summary: 'Stop a container; waits (bounded)', params: nameParams,
      handler: async ({ caller, principal, params }) => {
        const started = await instances.powerInstance(caller, await instances.containerByName(principal, params.container_name), 'stop');
        return operations.respond(caller, started, (r) => ({ container_name: r.uuid, status: containerStatus(String(r.state)) }), 'Container stopped successfully');
      },
    }),
    route({
      ...common, method: 'put', path: '/api/containers/:container_name', permission: 'update', startsOperation: true, summary: 'Rename and/or re-image a container (recreated); waits (bounded)',
      params: nameParams, body: z.object({ container_name: z.string().min(1).max(128).optional(), image: imageReference.optional() }).refine((b) => b.container_name || b.image, 'give container_name or image'),
      handler: async ({ caller, principal, params, body }) => {
        const row = await instances.containerByName(principal, params.container_name);
        const started = await instances.updateInstance(caller, row, { name: body.container_name, image: body.image });
        return operations.respond(caller, started, (r) => ({ container_name: r.uuid, name: r.name, status: containerStatus(String(r.state)) }), 'Container updated successfully');
      },
    }),
  ];
}
