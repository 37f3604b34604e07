import type { Knex } from 'knex';

/** A row of `referrals` (migration 011): the distributor who referred a user. */
export interface ReferralRow {
  user_id: number;
  distributor_id: number;
  created_at: Date;
}

/** Records who referred a user (once: a user has one referrer). */
export async function insertReferral(trx: Knex.Transaction, userId: number, distributorId: number): Promise<void> {
  await trx('referrals').insert({ user_id: userId, distributor_id: distributorId }).onConflict('user_id').ignore();
}

/** A distributor's referred customers with how many live rentals each has. */
export async function customersOf(knex: Knex, distributorId: number): Promise<Array<{ id: number; username: string; created_at: Date; live_rentals: number }>> {
  return knex('referrals as r').join('users as u', 'u.id', 'r.user_id').where('r.distributor_id', distributorId)
    .select('u.id', 'u.username', 'r.created_at', knex.raw('(SELECT count(*) FROM rentals x WHERE x.user_id = u.id AND x.deleted_at IS NULL)::int AS live_rentals')).orderBy('u.id');
}
