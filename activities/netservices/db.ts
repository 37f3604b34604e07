import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from '../platform/deps';

/** The netservices bookkeeping the main worker does for the runbooks: what is wanted and what was applied. */
export function createNetservicesDbActivities({ knex }: ActivityDeps) {
  const server = async (serverId: number) => {
    const row = await knex('wg_servers').where({ id: serverId }).first('id');
    if (!row) throw ApplicationFailure.nonRetryable(`WireGuard server ${serverId} not found`, 'RESOURCE_NOT_FOUND');
  };
  return {
    async netservicesWireguardSetDesired({ serverId, desired }: { serverId: number; desired: 'running' | 'stopped' }) {
      await server(serverId);
      await knex('wg_servers').where({ id: serverId }).update({ desired_state: desired, updated_at: knex.fn.now() });
      return { desired };
    },
    async netservicesWireguardRecord({ serverId, status }: { serverId: number; status: 'running' | 'stopped' }) {
      await server(serverId);
      const at = new Date();
      await knex('wg_servers').where({ id: serverId }).update({
        status, last_error: null, updated_at: at, ...(status === 'running' ? { started_at: at } : { stopped_at: at }),
      });
      return { id: serverId, status, [status === 'running' ? 'started_at' : 'stopped_at']: at.toISOString() };
    },
    async netservicesBgpSetEnabled({ sessionId, enabled }: { sessionId: number; enabled: boolean }) {
      const row = await knex('bgp_sessions').where({ id: sessionId }).first('enabled');
      if (!row) throw ApplicationFailure.nonRetryable(`BGP session ${sessionId} not found`, 'RESOURCE_NOT_FOUND');
      await knex('bgp_sessions').where({ id: sessionId }).update({ enabled, updated_at: knex.fn.now() });
      return { previous: row.enabled as boolean };
    },
    async netservicesBgpSession({ sessionId }: { sessionId: number }) {
      const s = await knex('bgp_sessions').where({ id: sessionId }).first();
      if (!s) throw ApplicationFailure.nonRetryable(`BGP session ${sessionId} not found`, 'RESOURCE_NOT_FOUND');
      return { id: s.id as number, status: s.status as string, enabled: s.enabled as boolean, last_error: s.last_error as string | null };
    },
  };
}

export type NetservicesDbActivities = ReturnType<typeof createNetservicesDbActivities>;
