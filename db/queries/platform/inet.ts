import type { Knex } from 'knex';

/** PostgreSQL's reading of an address with a length: its network, and whether it is that network (no host bits set). */
export async function networkOf(knex: Knex, prefix: string): Promise<{ net: string; exact: boolean }> {
  const { rows } = await knex.raw('SELECT network(?::inet)::text AS net, ?::inet = network(?::inet) AS exact', [prefix, prefix, prefix]);
  return rows[0];
}

/** Whether the network `inner` lies inside the network `outer`. */
export async function cidrInside(knex: Knex, inner: string, outer: string): Promise<boolean> {
  const { rows } = await knex.raw('SELECT ?::cidr <<= ?::cidr AS inside', [inner, outer]);
  return rows[0].inside;
}
