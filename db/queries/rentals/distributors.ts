import type { Knex } from 'knex';

/** A row of `distributors` (migration 011): a reseller's application, approved into a tier by an admin. Keyed by the user. */
export interface DistributorRow {
  user_id: number;
  status: 'pending' | 'approved' | 'rejected';
  tier_id: number | null;
  referral_code: string;
  note: string | null;
  codes_generated: number;
  applied_at: Date;
  decided_at: Date | null;
  decided_by: number | null;
}

/** A distributor with their username and their tier's terms. */
export interface DistributorView extends DistributorRow {
  username: string;
  tier_name: string | null;
  /** numeric: PostgreSQL's decimal arrives as text. */
  commission_rate: string | null;
  code_allowance: number | null;
}

const distributorsWithTier = (knex: Knex): Knex.QueryBuilder<DistributorView, DistributorView[]> =>
  knex('distributors as d').join('users as u', 'u.id', 'd.user_id').leftJoin('distributor_tiers as t', 't.id', 'd.tier_id')
    .select('d.*', 'u.username', 't.name as tier_name', 't.commission_rate', 't.code_allowance') as unknown as Knex.QueryBuilder<DistributorView, DistributorView[]>;

export async function findDistributor(knex: Knex, userId: number): Promise<DistributorView | undefined> {
  return distributorsWithTier(knex).where('d.user_id', userId).first() as Promise<DistributorView | undefined>;
}

/** Distributors and applications in the order they applied, optionally of one status. */
export async function listDistributors(knex: Knex, status?: string): Promise<DistributorView[]> {
  const q = distributorsWithTier(knex).orderBy('d.applied_at');
  if (status) q.where('d.status', status);
  return q;
}

export async function distributorStatus(knex: Knex, userId: number): Promise<DistributorRow['status'] | undefined> {
  return (await knex('distributors').where({ user_id: userId }).first('status'))?.status;
}

/** A new application, or a rejected applicant's next one: pending again with the code asked for. */
export async function saveApplication(knex: Knex, userId: number, a: { referralCode: string; note: string | null }, again: boolean): Promise<void> {
  if (again) {
    await knex('distributors').where({ user_id: userId })
      .update({ status: 'pending', referral_code: a.referralCode, note: a.note, applied_at: knex.fn.now(), decided_at: null, decided_by: null });
  } else {
    await knex('distributors').insert({ user_id: userId, status: 'pending', referral_code: a.referralCode, note: a.note });
  }
}

/** Decides a pending application (approved: into `tierId`). */
export async function decideApplication(knex: Knex, userId: number, approve: boolean, tierId: number | null, by: number | null): Promise<void> {
  await knex('distributors').where({ user_id: userId, status: 'pending' })
    .update({ status: approve ? 'approved' : 'rejected', tier_id: tierId, decided_at: knex.fn.now(), decided_by: by });
}

/** An approved distributor's user id by their referral code (any case). */
export async function approvedDistributorByCode(knex: Knex, code: string): Promise<number | undefined> {
  return (await knex('distributors').whereRaw('upper(referral_code) = upper(?)', [code]).where({ status: 'approved' }).first('user_id'))?.user_id;
}

/** A distributor's allowance as their next batch sees it, under their row's lock (two batches never both take the last codes). */
export async function lockDistributorAllowance(trx: Knex.Transaction, userId: number): Promise<{ status: string; codes_generated: number; code_allowance: number } | undefined> {
  return trx('distributors as d').join('distributor_tiers as t', 't.id', 'd.tier_id')
    .where({ 'd.user_id': userId }).forUpdate('d').first('d.status', 'd.codes_generated', 't.code_allowance');
}

export async function countGeneratedCodes(trx: Knex.Transaction, userId: number, count: number): Promise<void> {
  await trx('distributors').where({ user_id: userId }).increment('codes_generated', count);
}
