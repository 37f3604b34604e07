import type { OperationService } from '../platform/operations/service';
import { route } from '../platform/http/route';
import type { HealthService } from './health';
import type { HaService } from './ha';
import { seedContainerParams, seedFailoverBody, seedLoadBalanceBody, seedRecoveryBody, seedReplaceBody, seedServerParams } from './ha-schemas';

/** Seed 000 (DERP rental) /api/ha/*: plain JSON over the same services; long actions wait (bounded) for their operation. */
export function derpRentalHaRoutes(operations: OperationService, health: HealthService, ha: HaService) {
  const common = { tags: ['compat: seed 000 DERP rental'], surface: 'seed000' as const, permission: 'admin' as const };
  return [
    route({
      ...common, method: 'get', path: '/api/ha/health', summary: 'Health of all servers: healthy, degraded or unhealthy, with each server\'s status and reasons',
      handler: async () => {
        const all = await health.all();
        return { status: all.status, servers: all.hosts.map((h) => ({ server_id: h.host_id, server_name: h.name, status: h.status, reasons: h.reasons })) };
      },
    }),
    route({
      ...common, method: 'get', path: '/api/ha/health/:server_id', summary: 'Health of one server, with the reasons', params: seedServerParams,
      handler: async ({ params }) => {
        const h = await health.host(params.server_id);
        return { server_id: h.host_id, server_name: h.name, status: h.status, reasons: h.reasons, checked_at: h.checked_at };
      },
    }),
    route({
      ...common, method: 'get', path: '/api/ha/container_traffic/:container_id', summary: 'Bytes in and out of a container (engine stats)', params: seedContainerParams,
      handler: async ({ params }) => {
        const t = await ha.traffic(await ha.instanceRow(params.container_id));
        return { container_id: t.container_id, container_name: t.container_name, traffic: t.traffic };
      },
    }),
    route({
      ...common, method: 'post', path: '/api/ha/failover', startsOperation: true, summary: 'Fail server_id over (fence, recreate its containers elsewhere); waits (bounded)', body: seedFailoverBody,
      handler: async ({ caller, body }) => operations.respond(caller, await ha.failover(caller, body.server_id, body.target_server_ids), (r) => r, 'Failover operation successful'),
    }),
    route({
      ...common, method: 'post', path: '/api/ha/load_balance', startsOperation: true, summary: 'Balance containers across the healthy servers; waits (bounded)', body: seedLoadBalanceBody,
      handler: async ({ caller, body }) => operations.respond(caller, await ha.loadBalance(caller, { spread: body?.spread, max_moves: body?.max_moves, host_ids: body?.server_ids }), (r) => r, 'Load balance operation successful'),
    }),
    route({
      ...common, method: 'post', path: '/api/ha/disaster_recovery', startsOperation: true, summary: 'Bring back every recorded container (server_ids: among these only); waits (bounded); lists restored, moved, lost',
      body: seedRecoveryBody,
      handler: async ({ caller, body }) => operations.respond(caller, await ha.disasterRecovery(caller, body?.server_ids), (r) => r, 'Disaster recovery operation successful'),
    }),
    route({
      ...common, method: 'post', path: '/api/ha/replace_container', startsOperation: true, summary: 'Replace a container (new image or command; the old one kept if the new one fails); waits (bounded)', body: seedReplaceBody,
      handler: async ({ caller, body }) => {
        const inst = await ha.instanceRow(body.container_id ?? body.container_name!);
        return operations.respond(caller, await ha.replace(caller, inst, body), (r) => ({ container_id: r.instance_id, container_name: r.uuid, image: r.image, status: r.state }), 'Docker container replaced successfully');
      },
    }),
  ];
}
