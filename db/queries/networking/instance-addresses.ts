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

/** Every address bound platform-wide (an address is bound once), to choose a free one. */
export async function boundAddresses(knex: Knex): Promise<Set<string>> {
  return new Set((await knex('instance_addresses').pluck('address')) as string[]);
}
