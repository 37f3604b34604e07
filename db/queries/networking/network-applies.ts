import type { Knex } from 'knex';

/** A row of `network_applies` (migrations 006, 019): what a host's agent applied, or the drift a check corrected. */
export interface NetworkApplyRow {
  /** bigIncrements: PostgreSQL's int8 arrives as text. */
  id: string;
  host_id: number;
  reason: string;
  corrected: boolean;
  drift: string[] | null;
  counts: { forwards: number; addresses: number; proxies: number };
  duration_ms: number;
  warnings: string[] | null;
  at: Date;
}

export async function recordNetworkApply(knex: Knex, row: Pick<NetworkApplyRow, 'host_id' | 'reason' | 'corrected' | 'duration_ms'>
  & { drift: string | null; warnings: string | null; counts: string }): Promise<void> {
  await knex('network_applies').insert(row);
}

/** A host's latest applies and checks, newest first. */
export async function recentNetworkApplies(knex: Knex, hostId: number, limit: number): Promise<NetworkApplyRow[]> {
  return knex<NetworkApplyRow>('network_applies').where({ host_id: hostId }).orderBy('id', 'desc').limit(limit);
}
