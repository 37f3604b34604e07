import type { Knex } from 'knex';

/** A row of `wg_servers` (migrations 007, 033): a WireGuard interface of a host, run by admins and network managers. */
export interface WgServerRow {
  id: number;
  name: string;
  host_id: number;
  interface: string;
  listen_port: number;
  ipv4_address: string | null;
  ipv6_address: string | null;
  dns_servers: string[];
  mtu: number | null;
  endpoint: string | null;
  public_key: string;
  private_key_sealed: string;
  is_active: boolean;
  open_to_customers: boolean;
  desired_state: 'running' | 'stopped';
  status: string;
  last_error: string | null;
  started_at: Date | null;
  stopped_at: Date | null;
  stats_at: Date | null;
  created_by: number | null;
  created_at: Date;
  updated_at: Date;
}

export type WgServerInsert = Pick<WgServerRow, 'name' | 'host_id' | 'interface' | 'listen_port' | 'ipv4_address' | 'ipv6_address' | 'mtu' | 'endpoint'
  | 'public_key' | 'private_key_sealed' | 'is_active' | 'open_to_customers' | 'created_by'> & { dns_servers: string };
export type WgServerPatch = Partial<Pick<WgServerRow, 'is_active' | 'open_to_customers'>>;

export async function wgServerById(knex: Knex, id: number): Promise<WgServerRow | undefined> {
  return knex<WgServerRow>('wg_servers').where({ id }).first();
}

/** Servers in id order, optionally of one status: a query to paginate. */
export function listWgServers(knex: Knex, status?: string) {
  const q = knex<WgServerRow>('wg_servers').orderBy('id');
  if (status) q.where({ status });
  return q;
}

/** A new server; a taken name, or the interface or port taken on the host, raises PostgreSQL's unique violation (23505). */
export async function insertWgServer(knex: Knex, row: WgServerInsert): Promise<WgServerRow> {
  const [inserted] = await knex('wg_servers').insert(row).returning('*');
  return inserted as WgServerRow;
}

export async function updateWgServer(knex: Knex, id: number, patch: WgServerPatch): Promise<WgServerRow | undefined> {
  const [row] = await knex('wg_servers').where({ id }).update({ ...patch, updated_at: knex.fn.now() }).returning('*');
  return row as WgServerRow | undefined;
}

export async function deleteWgServer(knex: Knex, id: number): Promise<void> {
  await knex('wg_servers').where({ id }).delete();
}

/** A server under its row's lock (a client being added to it). */
export async function lockWgServer(trx: Knex.Transaction, id: number): Promise<WgServerRow | undefined> {
  return trx<WgServerRow>('wg_servers').where({ id }).forUpdate().first();
}
