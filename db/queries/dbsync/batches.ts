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

/** A batch's matches per classification. */
export async function matchesByClassification(knex: Knex, batchId: string) {
  return knex('classification_matches as m').join('account_classifications as c', 'c.id', 'm.classification_id').where('m.batch_id', batchId)
    .groupBy('c.id', 'c.code', 'c.name', 'c.risk_level').select('c.id', 'c.code', 'c.name', 'c.risk_level', knex.raw('count(*)::int as n')).orderBy('c.id') as Promise<Array<{ id: number; code: string; name: string; risk_level: string; n: number }>>;
}

/** A batch's matches with their account, instance and classification (the caller pages it). */
export function batchMatchesQuery(knex: Knex, batchId: string, f: { classification?: string; instance_id?: number }) {
  const q = knex('classification_matches as m').join('db_accounts as a', 'a.id', 'm.account_id').join('db_instances as i', 'i.id', 'm.instance_id')
    .join('account_classifications as c', 'c.id', 'm.classification_id').where('m.batch_id', batchId).orderBy('m.id')
    .select('m.*', 'a.account_key', 'a.username', 'a.db_type', 'i.name as instance_name', 'c.code', 'c.name as classification_name', 'c.risk_level');
  if (f.classification) q.where('c.code', f.classification);
  if (f.instance_id) q.where('m.instance_id', f.instance_id);
  return q;
}
