import type { Knex } from 'knex';

/** A row of `rental_history` (migration 011): one change of a rental's expiry, written once per change key. */
export interface RentalHistoryRow {
  id: number;
  rental_id: number;
  user_id: number | null;
  action: string;
  days: number | null;
  serial_code_id: number | null;
  old_expiry: Date | null;
  new_expiry: Date | null;
  change_key: string | null;
  at: Date;
}

/** The changes of every rental of a user, in order. */
export async function historyOfUserRentals(knex: Knex, userId: number): Promise<Array<Pick<RentalHistoryRow, 'rental_id' | 'action' | 'days' | 'old_expiry' | 'new_expiry' | 'at'>>> {
  return knex('rental_history as h').join('rentals as r', 'r.id', 'h.rental_id').where('r.user_id', userId).orderBy('h.id')
    .select('h.rental_id', 'h.action', 'h.days', 'h.old_expiry', 'h.new_expiry', 'h.at');
}
