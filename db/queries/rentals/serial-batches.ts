import type { Knex } from 'knex';

/** A row of `serial_batches` (migration 011): codes generated at once, by an admin or a distributor. */
export interface SerialBatchRow {
  id: number;
  created_by: number | null;
  /** Set when a distributor generated the batch (within their tier's allowance). */
  distributor_id: number | null;
  days: number;
  count: number;
  value_cents: number;
  note: string | null;
  created_at: Date;
}

/** A batch with how many of its codes are used. */
export interface SerialBatchView extends SerialBatchRow {
  used: number;
}

export async function insertSerialBatch(trx: Knex.Transaction, row: Omit<SerialBatchRow, 'id' | 'created_at'>): Promise<SerialBatchRow> {
  const [inserted] = await trx('serial_batches').insert(row).returning('*');
  return inserted as SerialBatchRow;
}

/** The newest `limit` batches, every one or one distributor's. */
export async function listSerialBatches(knex: Knex, f: { distributorId?: number }, limit: number): Promise<SerialBatchView[]> {
  const q = knex('serial_batches as b')
    .select('b.*', knex.raw('(SELECT count(*) FROM serial_codes c WHERE c.batch_id = b.id AND c.used_at IS NOT NULL)::int AS used')).orderBy('b.id', 'desc').limit(limit);
  if (f.distributorId !== undefined) q.where('b.distributor_id', f.distributorId);
  return q as unknown as Promise<SerialBatchView[]>;
}
