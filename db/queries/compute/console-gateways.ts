import type { Knex } from 'knex';

/** How often a running gateway says it still runs, and how long the API trusts what one said. */
export const GATEWAY_ANNOUNCE_SECONDS = 15;
export const GATEWAY_FRESH_SECONDS = 3 * GATEWAY_ANNOUNCE_SECONDS;

/** A gateway says it runs, and which hosts it serves: those without an agent of `taskQueue`, and agent hosts by name. */
export async function announceGateway(knex: Knex, g: { url: string; taskQueue: string | null; agentHosts: string[] }): Promise<void> {
  await knex('console_gateways').insert({ url: g.url, task_queue: g.taskQueue, agent_hosts: g.agentHosts, seen_at: knex.fn.now() })
    .onConflict('url').merge(['task_queue', 'agent_hosts', 'seen_at']);
}

export async function withdrawGateway(knex: Knex, url: string): Promise<void> {
  await knex('console_gateways').where({ url }).delete();
}

/**
 * A live host's agent state with the URL of a gateway that said recently it serves it (null when none did): one query,
 * as a console's opening waits on it.
 */
export async function gatewayForHost(knex: Knex, hostId: number, taskQueue: string): Promise<{ name: string; use_agent: boolean; agent_last_seen: Date | null; url: string | null } | undefined> {
  return knex('hosts as h')
    .leftJoin('console_gateways as g', (j) => j
      .on('g.seen_at', '>', knex.raw(`now() - interval '${GATEWAY_FRESH_SECONDS} seconds'`))
      .andOn(knex.raw('CASE WHEN h.use_agent THEN h.name = ANY(g.agent_hosts) ELSE g.task_queue = ? END', [taskQueue])))
    .where('h.id', hostId).whereNull('h.deleted_at')
    .orderByRaw('g.seen_at DESC NULLS LAST')
    .first('h.name', 'h.use_agent', 'h.agent_last_seen', 'g.url');
}

/** Every console gateway's public URL (the console pages may connect to these and no other). */
export async function gatewayUrls(knex: Knex): Promise<string[]> {
  return (await knex('console_gateways').select('url')).map((r: { url: string }) => r.url);
}
