import type { Knex } from 'knex';
import { ownedBy, type Viewer } from '../platform/scope';

/** A WireGuard client (peer) of a server: its owner's, and the admins' and network managers'. */
export interface WgClientRow {
  id: number;
  server_id: number;
  user_id: number | null;
  name: string;
  ipv4_address: string | null;
  ipv6_address: string | null;
  ipv6_allocation_id: number | null;
  public_key: string;
  private_key_sealed: string | null;
  dns_servers: string[];
  allowed_ips: string[];
  enabled: boolean;
  expires_at: Date | null;
  last_handshake: Date | null;
  bytes_received: string | number;
  bytes_sent: string | number;
  endpoint: string | null;
  stats_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** The clients `viewer` may see: their own (admins and network managers: all). */
export const wgClientsOf = (db: Knex | Knex.Transaction, viewer: Viewer) => ownedBy(db<WgClientRow>('wg_clients'), viewer, 'user_id');

export async function findWgClient(db: Knex | Knex.Transaction, viewer: Viewer, id: number): Promise<WgClientRow | undefined> {
  return wgClientsOf(db, viewer).where({ id }).first();
}

/** The clients `viewer` may see, in id order, optionally of one server: a query to paginate. */
export function listWgClients(db: Knex, viewer: Viewer, filter: { server_id?: number }) {
  const q = wgClientsOf(db, viewer).orderBy('id');
  if (filter.server_id) q.where({ server_id: filter.server_id });
  return q;
}

export async function insertWgClient(db: Knex.Transaction, row: Omit<WgClientRow, 'id' | 'last_handshake' | 'bytes_received' | 'bytes_sent' | 'endpoint' | 'stats_at' | 'created_at' | 'updated_at' | 'dns_servers' | 'allowed_ips'> & { dns_servers: string; allowed_ips: string }): Promise<WgClientRow> {
  const [inserted] = await db('wg_clients').insert(row).returning('*');
  return inserted as WgClientRow;
}

/** Changes a client `viewer` may change; undefined when there is none such. */
export async function updateWgClient(db: Knex, viewer: Viewer, id: number, patch: { enabled?: boolean; expires_at?: Date | null }): Promise<WgClientRow | undefined> {
  const [row] = await wgClientsOf(db, viewer).where({ id }).update({ ...patch, updated_at: db.fn.now() }).returning('*');
  return row as WgClientRow | undefined;
}

export async function deleteWgClient(db: Knex.Transaction, viewer: Viewer, id: number): Promise<number> {
  return wgClientsOf(db, viewer).where({ id }).delete();
}

/** The client holding an IPv6 allocation as its address, if any (whoever owns it). */
export async function wgClientOfAllocation(db: Knex | Knex.Transaction, allocationId: number): Promise<Pick<WgClientRow, 'id' | 'name'> | undefined> {
  return db('wg_clients').where({ ipv6_allocation_id: allocationId }).first('id', 'name');
}

/** How many clients a server has (every owner's). */
export async function countServerClients(db: Knex | Knex.Transaction, serverId: number): Promise<number> {
  const [{ count }] = await db('wg_clients').where({ server_id: serverId }).count<{ count: string }[]>('* as count');
  return Number(count);
}

/** The addresses of a family already given to a server's clients (every owner's: addresses are unique per server). */
export async function usedClientAddresses(db: Knex.Transaction, serverId: number, column: 'ipv4_address' | 'ipv6_address'): Promise<string[]> {
  return db('wg_clients').where({ server_id: serverId }).whereNotNull(column).pluck(column);
}

/** How many clients a user owns (their quota's use). */
export async function countUserWgClients(db: Knex | Knex.Transaction, userId: number): Promise<number> {
  const [{ count }] = await db('wg_clients').where({ user_id: userId }).count<{ count: string }[]>('* as count');
  return Number(count);
}
