import type { Knex } from 'knex';

/** A row of `serial_codes` (migration 011): a code's SHA-256 (codes are shown once, at generation) and what it is worth. */
export interface SerialCodeRow {
  id: number;
  batch_id: number;
  code_hash: string;
  hint: string;
  days: number;
  used_at: Date | null;
  used_by: number | null;
  rental_id: number | null;
  created_at: Date;
}

export async function insertSerialCodes(trx: Knex.Transaction, rows: Array<Pick<SerialCodeRow, 'batch_id' | 'code_hash' | 'hint' | 'days'>>): Promise<void> {
  await trx('serial_codes').insert(rows);
}

/** The code with this hash, used or not. */
export async function serialCodeByHash(knex: Knex, hash: string): Promise<Pick<SerialCodeRow, 'id' | 'days' | 'used_at' | 'code_hash'> | undefined> {
  return knex('serial_codes').where({ code_hash: hash }).first('id', 'days', 'used_at', 'code_hash');
}
