import type { Nic } from '../../shared/compute/catalogue';
import type { ActivityDeps } from '../platform/deps';
import { createComputeActivities } from './activities';
import { type HostRoute, type InstanceRequest, type InstanceSnapshot } from '../../shared/compute/contracts';

/**
 * A create's database steps taken two at a time: one local activity each instead of two, as every local activity is a
 * round trip between the workflow and the worker. Each is as repeatable as the two it joins.
 */
export function createInstanceCreateSteps(deps: ActivityDeps) {
  const one = createComputeActivities(deps);
  return {
    /** The request is still valid on this host, and where the host's engine calls run. */
    async prepareInstanceCreate({ request, operationId, hostId }: { request: InstanceRequest; operationId: string; hostId: number }): Promise<HostRoute> {
      await one.validateInstanceCreate({ request: { ...request, hostId }, operationId });
      return one.computeHostRoute({ hostId });
    },

    /** The instance row (quota and host capacity) and its addresses; undone together by releaseInstance. */
    async reserveInstanceWithIps({ operationId, hostId, request }: { operationId: string; hostId: number; request: InstanceRequest }): Promise<{ inst: InstanceSnapshot; nics: Nic[] }> {
      const inst = await one.reserveInstance({ operationId, hostId, request });
      return { inst, nics: await one.reserveInstanceIps({ operationId, instanceId: inst.id }) };
    },
  };
}

export type InstanceCreateSteps = ReturnType<typeof createInstanceCreateSteps>;
