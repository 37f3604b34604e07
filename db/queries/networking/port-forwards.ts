import type { Knex } from 'knex';

/** A row of `port_forwards` (migration 006): host address:external port → one of the instance's engine-reported addresses. */
export interface PortForwardRow {
  id: number;
  host_id: number;
  instance_id: number;
  protocol: 'tcp' | 'udp';
  external_address: string;
  external_port: number;
  internal_address: string;
  internal_port: number;
  state: 'pending' | 'active' | 'deleting';
  created_at: Date;
  updated_at: Date;
}

/** The lowest port of the range no forward of this protocol holds on the host. */
export async function freeForwardPort(knex: Knex, hostId: number, protocol: string, start: number, end: number): Promise<number | null> {
  const { rows } = await knex.raw(
    `SELECT p FROM generate_series(?::int, ?::int) AS p
     WHERE NOT EXISTS (SELECT 1 FROM port_forwards f WHERE f.host_id = ? AND f.protocol = ? AND f.external_port = p) ORDER BY p LIMIT 1`,
    [start, end, hostId, protocol],
  );
  return rows[0]?.p ?? null;
}
