import type { Knex } from 'knex';
import { ownedBy, type Viewer } from '../platform/scope';

/** A classification batch, owned by the user who started it (a scheduled run: the job's owner). */
export interface BatchRow {
  id: string;
  batch_type: string;
  status: string;
  total_accounts: number;
  matched_accounts: number;
  total_matches: number;
  rule_versions: Record<string, number>;
  filters: { instance_ids?: number[] | null; db_type?: string | null };
  created_by: number | null;
  job_id: string | null;
  operation_id: string | null;
  error: string | null;
  started_at: Date;
  completed_at: Date | null;
}

export const visibleBatches = (knex: Knex | Knex.Transaction, viewer: Viewer) => ownedBy(knex('classification_batches'), viewer, 'classification_batches.created_by');

export async function findBatch(knex: Knex, viewer: Viewer, id: string): Promise<BatchRow | undefined> {
  return visibleBatches(knex, viewer).where({ id }).first<BatchRow | undefined>();
}

export async function insertBatch(knex: Knex | Knex.Transaction, row: Pick<BatchRow, 'id' | 'batch_type' | 'status' | 'created_by' | 'operation_id'> & { job_id?: string | null; filters: string }) {
  await knex('classification_batches').insert(row).onConflict('id').ignore();
}
