import type { Knex } from 'knex';
import type { InstanceState, Nic, PublishedPort } from '../../../shared/compute/catalogue';
import { ownedBy, type Viewer } from '../platform/scope';

/** A row of `instances` (migrations 002, 011, 013, 018, 020, 031). */
export interface InstanceRow {
  id: number;
  uuid: string;
  host_id: number;
  name: string;
  os_name: string | null;
  image: string | null;
  command: string[] | null;
  cpu: number;
  ram_mb: number;
  disk_gb: number;
  /** What was asked for and configured (the request's NICs with the addresses the host's pools gave them). */
  nics: Nic[];
  /** What the engine reports the instance has: the only addresses its forwards, 1:1 addresses and proxies may target. */
  engine_addresses: string[];
  ports: PublishedPort[];
  files: Array<Record<string, unknown>>;
  ssh_keys: string[];
  owner_id: number | null;
  state: InstanceState;
  engine_ref: string | null;
  origin: string;
  password_sealed: string | null;
  agent_token_sealed: string | null;
  usage: Record<string, unknown> | null;
  usage_at: Date | null;
  create_operation_id: string | null;
  last_error: Record<string, unknown> | null;
  generation: number;
  pinned: boolean;
  moving_to_host_id: number | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

/** An instance with its host's name and engine and its owner's name, as the API shows it. */
export interface InstanceView extends InstanceRow {
  host_name: string;
  engine_type: string;
  owner_name: string | null;
}

/**
 * The live instances `viewer` may see, with host and owner names: a non-admin's own only, an admin's all. Every read of
 * an instance on behalf of a user goes through here, so another tenant's instance is never found (a 404, not a 403).
 */
export function visibleInstances(knex: Knex, viewer: Viewer): Knex.QueryBuilder<InstanceView, InstanceView[]> {
  const q = knex('instances as i').join('hosts as h', 'h.id', 'i.host_id').leftJoin('users as u', 'u.id', 'i.owner_id')
    .whereNull('i.deleted_at').select('i.*', 'h.name as host_name', 'h.engine_type', 'u.username as owner_name');
  return ownedBy(q, viewer, 'i.owner_id') as unknown as Knex.QueryBuilder<InstanceView, InstanceView[]>;
}

/** One instance `viewer` may see, by id (a number) or uuid (a string); on one host when `hostId` is given. */
export async function findVisibleInstance(knex: Knex, viewer: Viewer, id: number | string, hostId?: number): Promise<InstanceView | undefined> {
  const q = visibleInstances(knex, viewer).where(typeof id === 'number' ? 'i.id' : 'i.uuid', id);
  if (hostId) q.where('i.host_id', hostId);
  return q.first() as unknown as Promise<InstanceView | undefined>;
}

/** A docker host's container `viewer` may see, by its uuid or display name (seed 000). */
export async function findVisibleContainer(knex: Knex, viewer: Viewer, name: string): Promise<InstanceView | undefined> {
  return visibleInstances(knex, viewer).where('h.engine_type', 'docker').where((w) => w.where('i.uuid', name).orWhere('i.name', name))
    .orderBy('i.id').first() as unknown as Promise<InstanceView | undefined>;
}

/** An instance `viewer` may see by its container name (seed 000): uuid or display name, on any engine; the oldest first. */
export async function findVisibleInstanceNamed(knex: Knex, viewer: Viewer, name: string): Promise<InstanceView | undefined> {
  return visibleInstances(knex, viewer).where((w) => w.where('i.uuid', name).orWhere('i.name', name))
    .orderBy('i.id').first() as unknown as Promise<InstanceView | undefined>;
}

/** An instance row by id with its host's name, deleted or not (the runbooks' own reads: they act for the operation's owner, checked when it started). */
export async function instanceWithHost(knex: Knex | Knex.Transaction, id: number): Promise<(InstanceRow & { host_name: string }) | undefined> {
  return knex('instances as i').join('hosts as h', 'h.id', 'i.host_id').where('i.id', id).first('i.*', 'h.name as host_name');
}

/** Live instances with this uuid, for the usage reports an instance's own agent sends (it proves itself with its token). */
export async function liveInstancesByUuid(knex: Knex, uuid: string): Promise<Array<Pick<InstanceRow, 'id' | 'agent_token_sealed'>>> {
  return knex('instances').whereNull('deleted_at').where({ uuid }).select('id', 'agent_token_sealed');
}

/** Pins an instance to its host (load balancing never moves it), or unpins it. */
export async function setInstancePinned(knex: Knex, id: number, pinned: boolean): Promise<void> {
  await knex('instances').where({ id }).update({ pinned, updated_at: knex.fn.now() });
}
