import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { route } from '../platform/http/route';
import { idParams } from '../platform/http/schemas';
import { AgentIdentityService, agentHostParams, requireOwnHost } from './agent-identity';

const joinTokenBody = z.object({
  ttl_seconds: z.number().int().min(60).max(7 * 86400).optional().describe('How long the token stays usable (default IDCFLOW_AGENT_JOIN_TOKEN_SECONDS, 1 h)'),
}).strict().optional();
const joinTokenSchema = z.object({
  token: z.string(), host: z.object({ id: z.number(), name: z.string() }), expires_at: z.string(), api_url: z.string(), command: z.string(),
});

const pem = (label: string) => z.string().max(16_384).regex(new RegExp(`^-----BEGIN ${label}-----[\\s\\S]+-----END ${label}-----\\s*$`), `must be a PEM ${label.toLowerCase()}`);
const agentVersion = z.string().min(1).max(32).regex(/^\d+\.\d+\.\d+([+-][0-9A-Za-z.-]*)?$/, 'a version such as 1.2.3');
const enrollBody = z.object({
  token: z.string().min(1).max(128), csr: pem('CERTIFICATE REQUEST'), agent_version: agentVersion,
}).strict();
const enrollSchema = z.object({
  host: z.object({ id: z.number(), name: z.string() }), certificate: z.string(), ca_certificate: z.string(), api_url: z.string(),
  temporal: z.object({ address: z.string(), namespace: z.string(), task_queue: z.string() }), platform_version: z.string(), min_agent_version: z.string(),
});

const figure = z.number().finite().min(0).max(1e15);
/** What `localHostStats()` reports (workers/agent-runtime.ts). */
const hostFigures = z.object({
  hostname: z.string().max(255), cpu_count: z.number().int().min(0).max(100_000), cpu_percent: z.number().min(0).max(100).nullable(),
  load_average: z.array(figure).max(3), mem_total_mb: figure, mem_used_mb: figure, disk_total_gb: figure.nullable(), disk_used_gb: figure.nullable(),
  uptime_seconds: figure,
}).strict();
const heartbeatBody = z.object({
  status: hostFigures.optional(),
  stopping: z.boolean().optional().describe('The agent stops on purpose: the host is offline at once, not after the heartbeat goes stale'),
}).strict();

/** Hosts' identities: join tokens (admins), enrolment (public: the join token is the credential), the agent's heartbeat. */
export function agentIdentityRoutes(deps: AppDeps) {
  const identities = new AgentIdentityService(deps);
  const tags = ['agents'];
  return [
    route({
      method: 'post', path: '/hosts/:id/join-tokens', tags: ['hosts'], permission: 'admin', status: 201, noStore: true, message: 'Join token issued',
      summary: 'A one-time join token for the host\'s agent (shown once) and the command that joins it: npm run agent -- --join <api-url> <token>',
      params: idParams, body: joinTokenBody, response: joinTokenSchema,
      handler: ({ caller, params, body }) => identities.issueJoinToken(caller, params.id, body?.ttl_seconds),
    }),
    route({
      method: 'post', path: '/agent/enroll', tags, auth: 'public', noStore: true, message: 'Agent enrolled',
      summary: 'A host agent joins: its join token and a certificate request for the key it made buy its client certificate from idcflow\'s agent CA',
      description: 'Public: the one-time join token is the credential. Joining again revokes the host\'s earlier certificates.',
      body: enrollBody, response: enrollSchema,
      handler: ({ body, client }) => identities.enroll(body, client),
    }),
    route({
      method: 'post', path: '/agent/hosts/:name/heartbeat', tags, auth: 'agent', summary: 'The agent\'s heartbeat and its host\'s figures (its own host only)',
      params: agentHostParams, body: heartbeatBody, response: z.object({ host: z.string(), online: z.boolean() }),
      handler: async ({ agent, params, body }) => {
        requireOwnHost(agent, params.name);
        const { knex } = deps;
        if (body.stopping) {
          await knex('hosts').where({ id: agent.hostId }).update({ agent_last_seen: null });
          return { host: agent.hostName, online: false };
        }
        await knex('hosts').where({ id: agent.hostId }).update({
          agent_last_seen: knex.fn.now(), agent_version: agent.version,
          ...(body.status ? { status: JSON.stringify({ source: 'agent', ...body.status, agent_version: agent.version }), status_at: knex.fn.now() } : {}),
        });
        return { host: agent.hostName, online: true };
      },
    }),
  ];
}
