import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ActivityDeps } from '../platform/deps';
import { hostNetwork } from './host-apply';
import { HostToolError } from './tools';
import { hostAcme } from './host-state';
import type { AcmeSettings } from '../../shared/networking/acme';
import { checkOutboundTarget } from '../../shared/platform/outbound';
import { NETWORK_TABLES, type NetworkResource } from '../../shared/networking/resources';

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
      await knex(NETWORK_TABLES[kind]).where({ id }).whereIn('state', ['pending', 'active']).update({ state: 'active', updated_at: knex.fn.now() });
    },
    /** Removed from the host (or never applied): the row goes, freeing its port, address or domain. */
    async networkingForget({ kind, id }: { kind: NetworkResource; id: number }) {
      await knex(NETWORK_TABLES[kind]).where({ id }).delete();
    },
    /** An instance being deleted: all its rows leave the desired state (and are the ones whose flows the next apply forgets). */
    async networkingInstanceLeaves({ instanceId }: { instanceId: number }): Promise<{ hostId: number; count: number }> {
      let count = 0;
      for (const table of Object.values(NETWORK_TABLES)) {
        count += await knex(table).where({ instance_id: instanceId }).update({ state: 'deleting', updated_at: knex.fn.now() });
      }
      const inst = await knex('instances').where({ id: instanceId }).first('host_id');
      return { hostId: inst?.host_id ?? 0, count };
    },
    /** The deleted instance's rows go, freeing their ports, addresses and domains. */
    async networkingForgetInstance({ instanceId }: { instanceId: number }) {
      for (const table of Object.values(NETWORK_TABLES)) await knex(table).where({ instance_id: instanceId }).delete();
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
        if (state === 'active') await knex('host_acme').where({ host_id: hostId }).delete();
        else await knex('host_acme').where({ host_id: hostId }).update({ state: 'deleting', updated_at: knex.fn.now() });
        return;
      }
      // Caddy on the host fetches the directory: checked here again (the name may resolve elsewhere now) as webhooks are.
      if (state === 'pending') {
        await checkOutboundTarget(a.directory, config.tenancy.outboundAllowPrivate, 'directory', true).catch((err: Error) => {
          throw ApplicationFailure.nonRetryable(err.message, 'VALIDATION_ERROR', { field: 'directory' });
        });
      }
      await knex('host_acme').insert({
        host_id: hostId, directory: a.directory, email: a.email, ca_root_pem: a.caRootPem, challenges: JSON.stringify(a.challenges), state, updated_at: knex.fn.now(),
      }).onConflict('host_id').merge();
    },
    /** The apply took the settings in: they are in place, or gone. */
    async networkingSettleAcme({ hostId }: { hostId: number }) {
      await knex('host_acme').where({ host_id: hostId, state: 'deleting' }).delete();
      await knex('host_acme').where({ host_id: hostId, state: 'pending' }).update({ state: 'active' });
    },
    /** A delete that could not be applied: the row is desired again. */
    async networkingRestore({ kind, id }: { kind: NetworkResource; id: number }) {
      await knex(NETWORK_TABLES[kind]).where({ id, state: 'deleting' }).update({ state: 'active', updated_at: knex.fn.now() });
    },
  };
}

export type NetworkAgentActivities = ReturnType<typeof createNetworkAgentActivities>;
export type NetworkActivities = ReturnType<typeof createNetworkActivities>;
