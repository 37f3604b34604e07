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

/** The URL of a gateway that said recently that it serves this host, or null. */
export async function gatewayServing(knex: Knex, host: { name: string; use_agent: boolean }, taskQueue: string): Promise<string | null> {
  const q = knex('console_gateways').where('seen_at', '>', knex.raw(`now() - interval '${GATEWAY_FRESH_SECONDS} seconds'`));
  if (host.use_agent) q.whereRaw('? = ANY(agent_hosts)', [host.name]);
  else q.where({ task_queue: taskQueue });
  const row = await q.orderBy('seen_at', 'desc').first('url');
  return row?.url ?? null;
}
