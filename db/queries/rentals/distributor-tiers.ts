import type { Knex } from 'knex';

/** A row of `distributor_tiers` (migration 011): the commission and the serial-code allowance of a tier. */
export interface DistributorTierRow {
  id: number;
  name: string;
  /** numeric: PostgreSQL's decimal arrives as text. */
  commission_rate: string;
  code_allowance: number;
  created_at: Date;
}

export async function allTiers(knex: Knex): Promise<DistributorTierRow[]> {
  return knex<DistributorTierRow>('distributor_tiers').orderBy('id');
}

export async function tierIdByName(knex: Knex, name: string): Promise<number | undefined> {
  return (await knex('distributor_tiers').where({ name }).first('id'))?.id;
}
