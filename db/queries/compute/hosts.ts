import type { Knex } from 'knex';
import type { IpPool } from '../../../shared/compute/catalogue';
import { revokeAgentCerts } from './agent-identity';

/** A row of `hosts` (migrations 002, 013): secrets stay sealed here; the API never presents them. */
export interface HostRow {
  id: number;
  name: string;
  address: string;
  username: string | null;
  password_sealed: string | null;
  private_key_sealed: string | null;
  tls_key_sealed: string | null;
  engine_type: string;
  system_path: string | null;
  images_path: string | null;
  launch_path: string | null;
  nat_port_start: number | null;
  nat_port_end: number | null;
  public_addresses: string[];
  ip_pools: IpPool[];
  plans: Array<Record<string, unknown>>;
  options: Record<string, unknown>;
  instance_limit: number;
  weight: number;
  allowed_registries: string[] | null;
  enabled: boolean;
  use_agent: boolean;
  agent_last_seen: Date | null;
  agent_version: string | null;
  status: Record<string, unknown> | null;
  status_at: Date | null;
  /** High availability (migration 013): the counted health checks, the fencing generation, failing over by itself. */
  health: string;
  health_failures: number;
  health_successes: number;
  health_reasons: string[];
  health_checked_at: Date | null;
  health_changed_at: Date | null;
  generation: number;
  fenced_by: string | null;
  fenced_at: Date | null;
  auto_failover: boolean;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

/** What a host's create or change writes: its columns, the jsonb ones as JSON text, secrets sealed. */
export type HostWrite = Partial<Pick<HostRow, 'address' | 'username' | 'engine_type' | 'system_path' | 'images_path' | 'launch_path' | 'nat_port_start'
  | 'nat_port_end' | 'instance_limit' | 'weight' | 'enabled' | 'use_agent' | 'password_sealed' | 'private_key_sealed' | 'tls_key_sealed'>>
  & { public_addresses?: string; ip_pools?: string; plans?: string; options?: string; allowed_registries?: string | null };

/** A host as the API lists it: its row and how many live instances it has. */
export interface HostListRow extends HostRow {
  instance_count: number;
}

/**
 * Hosts that are not deleted, each with its live instance count. Hosts carry no owner: every signed-in user may list
 * them (the API presents a reduced view to non-admins), and only admins change them.
 */
export function liveHosts(knex: Knex): Knex.QueryBuilder<HostListRow, HostListRow[]> {
  return knex<HostListRow>('hosts as h').whereNull('h.deleted_at')
    .select('h.*', knex.raw('(SELECT COUNT(*)::int FROM instances i WHERE i.host_id = h.id AND i.deleted_at IS NULL) AS instance_count')) as unknown as Knex.QueryBuilder<HostListRow, HostListRow[]>;
}

export async function hostById(knex: Knex | Knex.Transaction, id: number): Promise<HostListRow | undefined> {
  return liveHosts(knex as Knex).where('h.id', id).first() as unknown as Promise<HostListRow | undefined>;
}

export async function hostByName(knex: Knex, name: string): Promise<HostListRow | undefined> {
  return liveHosts(knex).where('h.name', name).first() as unknown as Promise<HostListRow | undefined>;
}

/** A live host's row, without the count (activities and networking read it whole). */
export async function liveHostRow(knex: Knex | Knex.Transaction, id: number): Promise<HostRow | undefined> {
  return knex<HostRow>('hosts').where({ id }).whereNull('deleted_at').first();
}

/** Which of `ids` are not live hosts. */
export async function missingHosts(knex: Knex, ids: number[]): Promise<number[]> {
  const found = (await knex('hosts').whereIn('id', ids).whereNull('deleted_at').pluck('id')) as number[];
  return ids.filter((id) => !found.includes(id));
}

/** Whether a host fails over by itself once unhealthy. */
export async function setHostAutoFailover(knex: Knex, id: number, autoFailover: boolean): Promise<void> {
  await knex('hosts').where({ id }).update({ auto_failover: autoFailover });
}

/** A host's row, deleted or not (the name and addresses of a host something ran on). */
export async function hostRecord(knex: Knex, id: number): Promise<HostRow | undefined> {
  return knex<HostRow>('hosts').where({ id }).first();
}

/** Whether a host has this name, deleted or not (a deleted host with instances keeps a suffixed name). */
export async function hostNameTaken(knex: Knex, name: string): Promise<boolean> {
  return Boolean(await knex('hosts').where({ name }).first('id'));
}

export async function insertHost(knex: Knex, name: string, columns: HostWrite): Promise<number> {
  const [row] = await knex('hosts').insert({ name, ...columns }).returning('id');
  return row.id;
}

export async function updateHost(knex: Knex, id: number, columns: HostWrite): Promise<void> {
  await knex('hosts').where({ id }).update({ ...columns, updated_at: knex.fn.now() });
}

/**
 * Deletes a host without live instances, with its address allocations. A host that deleted instances still point at
 * stays as a deleted row, disabled, its name freed by a suffix (the column holds 64 characters).
 */
export async function deleteHost(knex: Knex, id: number, name: string): Promise<void> {
  await knex.transaction(async (trx) => {
    await revokeAgentCerts(trx, id, 'host deleted');
    await trx('ip_allocations').where({ host_id: id }).delete();
    const left = await trx('instances').where({ host_id: id }).first('id');
    const suffix = `~deleted~${id}`;
    if (left) await trx('hosts').where({ id }).update({ enabled: false, name: `${name.slice(0, 64 - suffix.length)}${suffix}`, deleted_at: trx.fn.now(), updated_at: trx.fn.now() });
    else await trx('hosts').where({ id }).delete();
  });
}
