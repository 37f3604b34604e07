import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ActivityDeps } from '../platform/deps';
import { hostNetwork } from './host-apply';
import { HostToolError } from './tools';
import type { AcmeSettings } from '../../shared/networking/acme';
import { checkOutboundTarget } from '../../shared/platform/outbound';
import type { NetworkResource } from '../../shared/networking/resources';
import {
  activateRow, forgetInstanceRows, forgetRow, markInstanceRowsDeleting, restoreDeletingRow,
} from '../../db/queries/networking/network-rows';
import { deleteHostAcme, hostAcme, markHostAcmeDeleting, saveHostAcme, settleHostAcme } from '../../db/queries/networking/host-acme';
import { instanceWithHost } from '../../db/queries/compute/instances';

async function heartbeating<T>(work: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(), 2000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** On the host's agent (task queue host:<name>): applies the host's whole desired network state. */
export function createNetworkAgentActivities({ knex, config, logger }: ActivityDeps) {
  return {
    async networkingApplyHost({ hostId }: { hostId: number }) {
      try {
        return await heartbeating(() => hostNetwork(knex, config, logger, hostId).apply());
      } catch (err) {
        if (err instanceof HostToolError) throw ApplicationFailure.nonRetryable(err.message, err.code, { host_id: hostId });
        throw err;
      }
    },
  };
}

/** On the main worker: the desired-state rows' bookkeeping around an apply. Each is safe to repeat. */
export function createNetworkActivities({ knex, config }: ActivityDeps) {
  return {
    /** The apply took it in: the row is in place. */
    async networkingActivate({ kind, id }: { kind: NetworkResource; id: number }) {
      await activateRow(knex, kind, id);
    },
    /** Removed from the host (or never applied): the row goes, freeing its port, address or domain. */
    async networkingForget({ kind, id }: { kind: NetworkResource; id: number }) {
      await forgetRow(knex, kind, id);
    },
    /** An instance being deleted: all its rows leave the desired state (and are the ones whose flows the next apply forgets). */
    async networkingInstanceLeaves({ instanceId }: { instanceId: number }): Promise<{ hostId: number; count: number }> {
      const count = await markInstanceRowsDeleting(knex, instanceId);
      const inst = await instanceWithHost(knex, instanceId);
      return { hostId: inst?.host_id ?? 0, count };
    },
    /** The deleted instance's rows go, freeing their ports, addresses and domains. */
    async networkingForgetInstance({ instanceId }: { instanceId: number }) {
      await forgetInstanceRows(knex, instanceId);
    },
    async networkingAcmeSettings({ hostId }: { hostId: number }): Promise<AcmeSettings | null> {
      return hostAcme(knex, hostId);
    },
    /**
     * New ACME settings for a host (`pending` until applied), or with null the host's settings marked `deleting` (left out
     * of its desired state); `active`: the previous settings put back as they were. The same call again changes nothing.
     */
    async networkingSetAcme({ hostId, settings: a, state = 'pending' }: { hostId: number; settings: AcmeSettings | null; state?: 'pending' | 'active' }) {
      if (!a) {
        if (state === 'active') await deleteHostAcme(knex, hostId);
        else await markHostAcmeDeleting(knex, hostId);
        return;
      }
      // Caddy on the host fetches the directory: checked here again (the name may resolve elsewhere now) as webhooks are.
      if (state === 'pending') {
        await checkOutboundTarget(a.directory, config.tenancy.outboundAllowPrivate, 'directory', true).catch((err: Error) => {
          throw ApplicationFailure.nonRetryable(err.message, 'VALIDATION_ERROR', { field: 'directory' });
        });
      }
      await saveHostAcme(knex, hostId, a, state);
    },
    /** The apply took the settings in: they are in place, or gone. */
    async networkingSettleAcme({ hostId }: { hostId: number }) {
      await settleHostAcme(knex, hostId);
    },
    /** A delete that could not be applied: the row is desired again. */
    async networkingRestore({ kind, id }: { kind: NetworkResource; id: number }) {
      await restoreDeletingRow(knex, kind, id);
    },
  };
}

export type NetworkAgentActivities = ReturnType<typeof createNetworkAgentActivities>;
export type NetworkActivities = ReturnType<typeof createNetworkActivities>;
