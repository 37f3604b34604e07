import type { Knex } from 'knex';

/** A row of `instance_addresses` (migration 006): a public address bound 1:1 to one of the instance's engine-reported addresses. */
export interface InstanceAddressRow {
  id: number;
  host_id: number;
  instance_id: number;
  interface: string;
  address: string;
  prefix: number;
  gateway: string | null;
  internal_address: string;
  state: 'pending' | 'active' | 'deleting';
  created_at: Date;
  updated_at: Date;
}

/**
 * An instance's bound addresses in a stable order (`index` in the compat routes is the position here). The instance is one the
 * caller found through the owner scope (visibleInstances in db/queries/compute/instances.ts): its rows are its owner's.
 */
export async function addressesOfInstance(knex: Knex, instanceId: number): Promise<InstanceAddressRow[]> {
  return knex<InstanceAddressRow>('instance_addresses').where({ instance_id: instanceId }).orderBy('id');
}

/** One of an instance's bound addresses, by id. */
export async function addressOfInstance(knex: Knex, instanceId: number, id: number): Promise<InstanceAddressRow | undefined> {
  return knex<InstanceAddressRow>('instance_addresses').where({ id, instance_id: instanceId }).first();
}

/** Every address bound platform-wide (an address is bound once), to choose a free one. */
export async function boundAddresses(knex: Knex): Promise<Set<string>> {
  return new Set((await knex('instance_addresses').pluck('address')) as string[]);
}
