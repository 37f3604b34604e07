import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { route } from '../platform/http/route';
import type { OperationService } from '../platform/operations/service';
import type { HealthService } from './health';
import type { HaService } from './ha';
import {
  accepted, clusterHealthSchema, failoverBody, healthRoundSchema, healthScheduleBody, healthScheduleSchema, hostHealthSchema, hostParams, hostSettingsBody,
  instanceParams, loadBalanceBody, pinBody, recoveryBody, pinSchema, replaceBody, trafficSchema,
} from './ha-schemas';

/** High availability natively under /api/v1: health, its Schedule, failover, load balancing, replacement, disaster recovery. Admin actions, every one. */
export function haRoutes(_deps: AppDeps, operations: OperationService, health: HealthService, ha: HaService) {
  const tags = ['availability'];
  const ok = (started: Parameters<OperationService['accepted']>[0]) => operations.accepted(started);
  return [
    route({ method: 'get', path: '/availability/health', tags, permission: 'admin', summary: 'Every host\'s health (agent heartbeat and engine probe, counted by the health Schedule), with the reasons', response: clusterHealthSchema, handler: () => health.all() }),
    route({ method: 'get', path: '/hosts/:id/health', tags, permission: 'admin', summary: 'A host\'s health with the reasons of its last failed check', params: hostParams, response: hostHealthSchema, handler: ({ params }) => health.host(params.id) }),
    route({ method: 'put', path: '/hosts/:id/availability', tags, permission: 'admin', summary: 'A host\'s HA settings: auto_failover (fail over by itself once unhealthy)', params: hostParams, body: hostSettingsBody, response: hostHealthSchema, message: 'Settings saved', handler: ({ caller, params, body }) => health.setHostSettings(caller, params.id, body) }),
    route({ method: 'post', path: '/availability/health/check', tags, permission: 'admin', summary: 'Run one health round now (what the Schedule runs), bounded', response: healthRoundSchema, handler: () => health.checkNow() }),
    route({ method: 'get', path: '/availability/health/schedule', tags, permission: 'admin', summary: 'The health Schedule (a Temporal Schedule)', response: healthScheduleSchema, handler: () => health.schedule() }),
    route({ method: 'put', path: '/availability/health/schedule', tags, permission: 'admin', summary: 'Create or replace the health Schedule', body: healthScheduleBody, response: healthScheduleSchema, message: 'Schedule saved', handler: ({ caller, body }) => health.putSchedule(caller, body) }),
    route({ method: 'delete', path: '/availability/health/schedule', tags, permission: 'admin', summary: 'Delete the health Schedule', response: z.object({ id: z.string(), deleted: z.boolean() }), message: 'Schedule deleted', handler: ({ caller }) => health.deleteSchedule(caller) }),
    route({
      method: 'post', path: '/availability/failover', tags, permission: 'admin', startsOperation: true, status: 202,
      summary: 'Fail a host over: fence it (generation +1), recreate each of its instances on healthy hosts (same uuid and name)', body: failoverBody, response: accepted,
      handler: async ({ caller, body }) => ok(await ha.failover(caller, body.host_id, body.target_host_ids)),
    }),
    route({
      method: 'post', path: '/availability/load-balance', tags, permission: 'admin', startsOperation: true, status: 202,
      summary: 'Move unpinned containers from the most to the least loaded healthy host until the counts differ by at most `spread`', body: loadBalanceBody, response: accepted,
      handler: async ({ caller, body }) => ok(await ha.loadBalance(caller, body)),
    }),
    route({
      method: 'post', path: '/availability/disaster-recovery', tags, permission: 'admin', startsOperation: true, status: 202,
      summary: 'Bring back every recorded instance on the usable hosts (host_ids: among these only); the result lists restored, moved and lost', body: recoveryBody, response: accepted,
      handler: async ({ caller, body }) => ok(await ha.disasterRecovery(caller, body?.host_ids)),
    }),
    route({
      method: 'post', path: '/availability/instances/:id/replace', tags, permission: 'admin', startsOperation: true, status: 202,
      summary: 'Replace a container with a new image or command: the new one runs before the old goes (ports allowing); the old one comes back if it fails',
      params: instanceParams, body: replaceBody, response: accepted,
      handler: async ({ caller, params, body }) => ok(await ha.replace(caller, await ha.instanceRow(params.id), body)),
    }),
    route({ method: 'put', path: '/availability/instances/:id/pin', tags, permission: 'admin', summary: 'Pin an instance to its host (load balancing never moves it) or unpin it', params: instanceParams, body: pinBody, response: pinSchema, message: 'Saved', handler: async ({ caller, params, body }) => ha.setPinned(caller, await ha.instanceRow(params.id), body.pinned) }),
    route({ method: 'get', path: '/availability/instances/:id/traffic', tags, permission: 'admin', summary: 'Bytes in and out of a container (its engine\'s stats, one bounded read)', params: instanceParams, response: trafficSchema, handler: async ({ params }) => ha.traffic(await ha.instanceRow(params.id)) }),
  ];
}
