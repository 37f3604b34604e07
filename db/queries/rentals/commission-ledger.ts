import type { Knex } from 'knex';

/** A row of `commission_ledger` (migration 011): a distributor's credit for one redemption or renewal, pending until paid. */
export interface CommissionRow {
  id: number;
  distributor_id: number;
  customer_id: number | null;
  rental_history_id: number;
  amount_cents: number;
  /** numeric: PostgreSQL's decimal arrives as text. */
  rate: string;
  status: 'pending' | 'paid';
  created_at: Date;
  paid_at: Date | null;
  paid_by: number | null;
}

/** A credit with the rental and the change it was for. */
export interface CommissionView extends CommissionRow {
  rental_id: number;
  action: string;
}

/** Credits in id order: one distributor's or every one's, optionally of one status. */
export async function ledgerEntries(knex: Knex, f: { distributorId?: number; status?: string }): Promise<CommissionView[]> {
  const q = knex('commission_ledger as l').join('rental_history as h', 'h.id', 'l.rental_history_id').orderBy('l.id').select('l.*', 'h.rental_id', 'h.action');
  if (f.distributorId !== undefined) q.where('l.distributor_id', f.distributorId);
  if (f.status) q.where('l.status', f.status);
  return q;
}

export async function ledgerEntryStatus(knex: Knex, id: number): Promise<CommissionRow['status'] | undefined> {
  return (await knex('commission_ledger').where({ id }).first('status'))?.status;
}

/** Marks a pending credit paid; false when it was not pending. */
export async function payLedgerEntry(knex: Knex, id: number, by: number | null): Promise<boolean> {
  return (await knex('commission_ledger').where({ id, status: 'pending' }).update({ status: 'paid', paid_at: knex.fn.now(), paid_by: by })) > 0;
}
