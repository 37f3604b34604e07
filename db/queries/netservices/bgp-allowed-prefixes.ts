import type { Knex } from 'knex';

/** A row of `bgp_allowed_prefixes` (migration 007): a range a host may announce prefixes from. */
export interface BgpAllowedPrefixRow {
  id: number;
  host_id: number;
  prefix: string;
  created_at: Date;
  updated_at: Date;
}

export async function allowedPrefixById(knex: Knex, id: number): Promise<BgpAllowedPrefixRow | undefined> {
  return knex<BgpAllowedPrefixRow>('bgp_allowed_prefixes').where({ id }).first();
}

/** Every allowed range in id order: a query to paginate. */
export const listAllowedPrefixes = (knex: Knex) => knex<BgpAllowedPrefixRow>('bgp_allowed_prefixes').orderBy('id');

/** A host's allowed range that holds `prefix`, if any. */
export async function allowedRangeOf(knex: Knex, hostId: number, prefix: string): Promise<BgpAllowedPrefixRow | undefined> {
  return knex<BgpAllowedPrefixRow>('bgp_allowed_prefixes').where({ host_id: hostId }).whereRaw('?::cidr <<= prefix', [prefix]).first();
}

/** A new range; the same range twice for a host raises PostgreSQL's unique violation (23505). */
export async function insertAllowedPrefix(knex: Knex, row: Pick<BgpAllowedPrefixRow, 'host_id' | 'prefix'>): Promise<BgpAllowedPrefixRow> {
  const [inserted] = await knex('bgp_allowed_prefixes').insert(row).returning('*');
  return inserted as BgpAllowedPrefixRow;
}

export async function deleteAllowedPrefix(knex: Knex, id: number): Promise<void> {
  await knex('bgp_allowed_prefixes').where({ id }).delete();
}
