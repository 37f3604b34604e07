import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from '../platform/deps';
import { heartbeating } from '../platform/failure';
import { driverFor, type HostRow } from '../compute/engines';
import { type EngineInstance, type InstanceSpec } from '../../shared/compute/contracts';
import { DockerDriver } from '../compute/engines/docker';
import { removeStaleCopies } from './fencing';

/** The name a replacement container has until it takes the original's place. */
export const nextRef = (ref: string) => `${ref}.next`;

/** High availability's engine calls: run on the main worker, or on the host's agent (task queue host:<name>). */
export function createHaEngineActivities({ knex, config }: ActivityDeps) {
  const docker = async (hostId: number): Promise<DockerDriver> => {
    const host = await knex('hosts').where({ id: hostId }).whereNull('deleted_at').first();
    if (!host) throw ApplicationFailure.nonRetryable(`host ${hostId} not found`, 'RESOURCE_NOT_FOUND');
    const driver = driverFor(host as HostRow, config.masterKey);
    if (!(driver instanceof DockerDriver)) throw ApplicationFailure.nonRetryable('Only containers (docker engine hosts) can be replaced this way', 'NOT_SUPPORTED');
    return driver;
  };

  return {
    /** Creates the replacement beside the original (`<ref>.next`), stopped; a retry finds the one made before. */
    async availabilityCreateReplacement({ hostId, ref, spec }: { hostId: number; ref: string; spec: InstanceSpec }): Promise<EngineInstance> {
      return heartbeating(async () => (await docker(hostId)).createAs(nextRef(ref), spec));
    },

    /** The replacement takes the original's name, the original goes; repeated after a crash it finishes the swap. */
    async availabilitySwapReplacement({ hostId, ref }: { hostId: number; ref: string }): Promise<EngineInstance> {
      return heartbeating(async () => {
        const d = await docker(hostId);
        if (await d.status(nextRef(ref))) {
          await d.delete(ref);
          await d.rename(nextRef(ref), ref);
        }
        const now = await d.status(ref);
        if (!now) throw ApplicationFailure.nonRetryable(`Docker: no container ${ref} after the swap`, 'ENGINE_ERROR');
        return now;
      });
    },

    /** Removes the host's stale copies of instances moved away from it (hosts without an agent; agents do it themselves). */
    async availabilityRemoveStaleCopies({ hostId }: { hostId: number }): Promise<string[]> {
      return heartbeating(() => removeStaleCopies(knex, config.masterKey, hostId));
    },
  };
}

export type HaEngineActivities = ReturnType<typeof createHaEngineActivities>;
