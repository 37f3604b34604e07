import type { Knex } from 'knex';
import { NETWORK_TABLES, type NetworkResource } from '../../../shared/networking/resources';
import type { PortForwardRow } from './port-forwards';
import type { InstanceAddressRow } from './instance-addresses';
import type { ReverseProxyRow } from './reverse-proxies';
import { servedOnly } from './domain-proofs';

/**
 * The desired-state rows a host's agent renders (port_forwards, instance_addresses, reverse_proxies): each belongs to an
 * instance on a host and moves pending → active → deleting → gone. What the three tables share is done here, by kind.
 */
export interface NetworkRows {
  port_forward: PortForwardRow;
  address: InstanceAddressRow;
  proxy: ReverseProxyRow;
}

/** Rows that are part of the desired state: being added or in place (rows being deleted are already left out). */
export const LIVE_STATES = ['pending', 'active'];

/** Rows an operation is adding or removing right now: a drift check does not count them as drift. */
export const IN_FLIGHT_STATES = ['pending', 'deleting'];

const table = (kind: NetworkResource) => NETWORK_TABLES[kind];

/**
 * An instance's rows in a stable order (`index` in the compat routes is the position here). The instance is one the
 * caller found through the owner scope (visibleInstances in db/queries/compute/instances.ts): its rows are its owner's.
 */
export async function rowsOfInstance<K extends NetworkResource>(knex: Knex, kind: K, instanceId: number): Promise<Array<NetworkRows[K]>> {
  return knex(table(kind)).where({ instance_id: instanceId }).orderBy('id');
}

/** One of an instance's rows, by id. */
export async function rowOfInstance<K extends NetworkResource>(knex: Knex, kind: K, instanceId: number, id: number): Promise<NetworkRows[K] | undefined> {
  return knex(table(kind)).where({ id, instance_id: instanceId }).first();
}

/** How many rows of a kind the live instances of an owner hold (their quota's use). */
export async function rowsOwnedBy(knex: Knex | Knex.Transaction, kind: NetworkResource, userId: number): Promise<number> {
  const [{ count }] = await knex(`${table(kind)} as r`).join('instances as i', 'i.id', 'r.instance_id')
    .where('i.owner_id', userId).whereNull('i.deleted_at').count('* as count');
  return Number(count);
}

/** Rows of deleted instances hold their port, address or domain no longer (the agent's next drift check removes their rules). */
export async function dropRowsOfDeletedInstances(trx: Knex.Transaction, kind: NetworkResource): Promise<void> {
  await trx.raw('DELETE FROM ?? AS r USING instances AS i WHERE i.id = r.instance_id AND i.deleted_at IS NOT NULL', [table(kind)]);
}

/** A new row, pending until an apply takes it in; a taken port, address or domain raises PostgreSQL's unique violation (23505). */
export async function insertPendingRow<K extends NetworkResource>(
  trx: Knex.Transaction, kind: K, instance: { id: number; host_id: number }, row: Record<string, unknown>,
): Promise<NetworkRows[K]> {
  const [created] = await trx(table(kind)).insert({ ...row, host_id: instance.host_id, instance_id: instance.id, state: 'pending' }).returning('*');
  return created;
}

/** A reserved row whose operation could not start goes again. */
export async function dropPendingRow(knex: Knex, kind: NetworkResource, id: number): Promise<void> {
  await knex(table(kind)).where({ id, state: 'pending' }).delete();
}

/** Takes a row in place out of the desired state; false when it was not in place (still being added, or already leaving). */
export async function markRowDeleting(knex: Knex, kind: NetworkResource, id: number): Promise<boolean> {
  return (await knex(table(kind)).where({ id, state: 'active' }).update({ state: 'deleting', updated_at: knex.fn.now() })) > 0;
}

/** A removal that could not start or be applied: the row is desired again. */
export async function restoreDeletingRow(knex: Knex, kind: NetworkResource, id: number): Promise<void> {
  await knex(table(kind)).where({ id, state: 'deleting' }).update({ state: 'active', updated_at: knex.fn.now() });
}

/** The apply took the row in: it is in place. */
export async function activateRow(knex: Knex, kind: NetworkResource, id: number): Promise<void> {
  await knex(table(kind)).where({ id }).whereIn('state', LIVE_STATES).update({ state: 'active', updated_at: knex.fn.now() });
}

/** Removed from the host (or never applied): the row goes, freeing its port, address or domain. */
export async function forgetRow(knex: Knex, kind: NetworkResource, id: number): Promise<void> {
  await knex(table(kind)).where({ id }).delete();
}

/** An instance being deleted: all its rows leave the desired state. How many rows that was. */
export async function markInstanceRowsDeleting(knex: Knex, instanceId: number): Promise<number> {
  let count = 0;
  for (const t of Object.values(NETWORK_TABLES)) count += await knex(t).where({ instance_id: instanceId }).update({ state: 'deleting', updated_at: knex.fn.now() });
  return count;
}

/** The deleted instance's rows go, freeing their ports, addresses and domains. */
export async function forgetInstanceRows(knex: Knex, instanceId: number): Promise<void> {
  for (const t of Object.values(NETWORK_TABLES)) await knex(t).where({ instance_id: instanceId }).delete();
}

/** How many rows of each kind a host has that are not leaving. */
export async function hostRowCounts(knex: Knex, hostId: number): Promise<{ port_forwards: number; addresses: number; proxies: number }> {
  const count = async (kind: NetworkResource) => Number((await knex(table(kind)).where({ host_id: hostId }).whereNot({ state: 'deleting' }).count('* as c'))[0].c);
  return { port_forwards: await count('port_forward'), addresses: await count('address'), proxies: await count('proxy') };
}

/**
 * A host's rows in `states`, in a stable order, as its desired state renders them: only rows of live instances aimed at
 * an address the engine reports for their instance (a row an older release took from a request, or one whose container
 * has since been renumbered, would reach whoever holds that address now), and proxies only once their domain is proven.
 */
export async function desiredRows(knex: Knex, hostId: number, states: string[]) {
  const live = (kind: NetworkResource) => knex(`${table(kind)} as r`).join('instances as i', 'i.id', 'r.instance_id')
    .where('r.host_id', hostId).whereIn('r.state', states).whereNull('i.deleted_at').whereRaw('jsonb_exists(i.engine_addresses, r.internal_address)').orderBy('r.id');
  const [forwards, addresses, proxies] = await Promise.all([
    live('port_forward').select('r.protocol', 'r.external_address', 'r.external_port', 'r.internal_address', 'r.internal_port') as unknown as
      Promise<Array<Pick<PortForwardRow, 'protocol' | 'external_address' | 'external_port' | 'internal_address' | 'internal_port'>>>,
    live('address').select('r.address', 'r.internal_address') as unknown as Promise<Array<Pick<InstanceAddressRow, 'address' | 'internal_address'>>>,
    servedOnly(live('proxy')).select('r.domain', 'r.internal_address', 'r.target_port', 'r.tls') as unknown as
      Promise<Array<Pick<ReverseProxyRow, 'domain' | 'internal_address' | 'target_port' | 'tls'>>>,
  ]);
  return { forwards, addresses, proxies };
}
