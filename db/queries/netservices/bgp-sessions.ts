import type { Knex } from 'knex';

/** A row of `bgp_sessions` (migration 007): a BIRD peering of a host, run by admins and network managers. */
export interface BgpSessionRow {
  id: number;
  name: string;
  host_id: number;
  neighbor: string;
  /** bigint: PostgreSQL's int8 arrives as text. */
  remote_as: string;
  local_as: string;
  password_sealed: string | null;
  enabled: boolean;
  status: string;
  info: string | null;
  last_error: string | null;
  state_since: Date | null;
  routes_received: number | null;
  routes_advertised: number | null;
  last_update: Date | null;
  created_by: number | null;
  created_at: Date;
  updated_at: Date;
}

export type BgpSessionInsert = Pick<BgpSessionRow, 'name' | 'host_id' | 'neighbor' | 'password_sealed' | 'enabled' | 'created_by'> & { remote_as: number; local_as: number };

export async function bgpSessionById(knex: Knex, id: number): Promise<BgpSessionRow | undefined> {
  return knex<BgpSessionRow>('bgp_sessions').where({ id }).first();
}

/** Every session in id order: a query to paginate. */
export const listBgpSessions = (knex: Knex) => knex<BgpSessionRow>('bgp_sessions').orderBy('id');

/** A new session; a taken name, or a second session to the neighbor on the host, raises PostgreSQL's unique violation (23505). */
export async function insertBgpSession(knex: Knex, row: BgpSessionInsert): Promise<BgpSessionRow> {
  const [inserted] = await knex('bgp_sessions').insert(row).returning('*');
  return inserted as BgpSessionRow;
}

export async function deleteBgpSession(knex: Knex, id: number): Promise<void> {
  await knex('bgp_sessions').where({ id }).delete();
}
