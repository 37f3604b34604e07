import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { route } from '../platform/http/route';
import { dbIdValue } from '../platform/http/schemas';
import { forbidden } from '../../shared/platform/errors';
import { NOTIFY_CHANNELS } from '../../shared/monitoring/live';
import { notify } from '../../db/notifications';
import { foreignNetservices, netservicesTargets, recordNetservicesReport } from '../../db/queries/netservices/host-reports';
import { agentHostParams, requireOwnHost } from '../compute/agent-identity';

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const reportBody = z.object({
  wireguard: z.array(z.object({
    server_id: dbIdValue,
    peers: z.array(z.object({
      public_key: z.string().min(1).max(64), latest_handshake: z.iso.datetime({ offset: true }).nullable(), transfer_rx: count, transfer_tx: count,
      endpoint: z.string().max(128).nullable(),
    })).max(10_000),
  })).max(256),
  bgp: z.array(z.object({
    session_id: dbIdValue, status: z.string().min(1).max(32), info: z.string().max(255).nullable(), last_error: z.string().max(255).nullable(),
    state_since: z.iso.datetime({ offset: true }).nullable(), routes_received: count.nullable(), routes_advertised: count.nullable(),
  })).max(1024),
}).strict();
const targetsSchema = z.object({
  wireguard: z.array(z.object({ server_id: z.number(), interface: z.string() })), bgp: z.array(z.object({ session_id: z.number(), protocol: z.string() })),
});

/** A host agent's WireGuard and BGP figures: what it should read on its host, and what it read (its own servers and sessions only). */
export function netservicesAgentRoutes(deps: AppDeps) {
  const tags = ['agents'];
  return [
    route({
      method: 'get', path: '/agent/hosts/:name/netservices', tags, auth: 'agent', params: agentHostParams, response: targetsSchema,
      summary: 'The WireGuard interfaces and BGP protocols the agent reads on its host for the platform',
      handler: async ({ agent, params }) => { requireOwnHost(agent, params.name); return netservicesTargets(deps.knex, agent.hostId); },
    }),
    route({
      method: 'post', path: '/agent/hosts/:name/netservices', tags, auth: 'agent', params: agentHostParams, body: reportBody,
      response: z.object({ wireguard: z.number(), bgp: z.number(), wireguard_drift: z.array(z.number()) }),
      summary: 'What the agent read (`wg show dump`, `birdc show protocols all`); answers the servers whose peers differ from the desired ones',
      handler: async ({ agent, params, body }) => {
        requireOwnHost(agent, params.name);
        const foreign = await foreignNetservices(deps.knex, agent.hostId, body.wireguard.map((s) => s.server_id), body.bgp.map((s) => s.session_id));
        if (foreign.servers.length || foreign.sessions.length) {
          throw forbidden(`Host ${agent.hostName} reports only for its own WireGuard servers and BGP sessions: not for servers [${foreign.servers}] or sessions [${foreign.sessions}]`);
        }
        const drift = await recordNetservicesReport(deps.knex, body.wireguard, body.bgp);
        await notify(deps.knex, NOTIFY_CHANNELS.netservices, { event: 'status', host: agent.hostName })
          .catch((err) => deps.logger.debug({ err: (err as Error).message }, 'announcing netservices status failed'));
        return { wireguard: body.wireguard.length, bgp: body.bgp.length, wireguard_drift: drift };
      },
    }),
  ];
}
