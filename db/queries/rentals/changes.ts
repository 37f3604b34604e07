import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { RentalRow } from './rentals';

const DAY_MS = 86_400_000;

/** Why a change cannot be made; the API answers it, an activity fails with it (its code as the failure type). */
export class RentalChangeRefused extends Error {
  constructor(readonly code: 'CODE_REFUSED' | 'RENTAL_GONE' | 'BAD_EXPIRY', message: string) {
    super(message);
  }
}

/** The one answer for a code that is unknown, used or of another batch: it never says which. */
export const CODE_REFUSED_MESSAGE = 'This serial code is not valid or has already been used';

/** Claims an unused code, atomically: two redemptions of one code never both succeed. */
async function claimCode(trx: Knex.Transaction, codeId: number, userId: number | null, rentalId: number) {
  const [code] = await trx('serial_codes').where({ id: codeId }).whereNull('used_at')
    .update({ used_at: trx.fn.now(), used_by: userId, rental_id: rentalId }).returning(['id', 'days', 'batch_id']);
  if (!code) throw new RentalChangeRefused('CODE_REFUSED', CODE_REFUSED_MESSAGE);
  return code as { id: number; days: number; batch_id: number };
}

/** Credits the referring distributor (approved) once per history row: the ledger's unique key makes a repeat a no-op. */
export async function creditCommission(trx: Knex.Transaction, historyId: number, customerId: number | null, batchId: number) {
  if (customerId === null) return;
  const ref = await trx('referrals as r').join('distributors as d', 'd.user_id', 'r.distributor_id').join('distributor_tiers as t', 't.id', 'd.tier_id')
    .where({ 'r.user_id': customerId, 'd.status': 'approved' }).first('d.user_id', 't.commission_rate');
  if (!ref) return;
  const batch = await trx('serial_batches').where({ id: batchId }).first('value_cents');
  const rate = Number(ref.commission_rate);
  await trx('commission_ledger').insert({
    distributor_id: ref.user_id, customer_id: customerId, rental_history_id: historyId, amount_cents: Math.round(Number(batch?.value_cents ?? 0) * rate), rate,
  }).onConflict('rental_history_id').ignore();
}

async function record(trx: Knex.Transaction, h: { rentalId: number; userId: number | null; action: string; days: number | null; codeId: number | null; oldExpiry: Date | null; newExpiry: Date; changeKey: string }) {
  const [row] = await trx('rental_history').insert({
    rental_id: h.rentalId, user_id: h.userId, action: h.action, days: h.days, serial_code_id: h.codeId, old_expiry: h.oldExpiry, new_expiry: h.newExpiry, change_key: h.changeKey,
  }).returning('id');
  return row.id as number;
}

/** Redeeming a code without a rental: the rental row, the code claimed, its history and commission, in one transaction. */
export async function createRentalFromCode(trx: Knex.Transaction, o: { userId: number; codeId: number; hostId: number | null }): Promise<RentalRow & { days: number }> {
  const uuid = crypto.randomUUID();
  const [rental]: RentalRow[] = await trx('rentals').insert({ uuid, user_id: o.userId, status: 'provisioning', expires_at: new Date(), host_id: o.hostId, workflow_id: `rental-${uuid}` }).returning('*');
  const code = await claimCode(trx, o.codeId, o.userId, rental.id);
  const expiresAt = new Date(Date.now() + code.days * DAY_MS);
  await trx('rentals').where({ id: rental.id }).update({ expires_at: expiresAt });
  const historyId = await record(trx, { rentalId: rental.id, userId: o.userId, action: 'redeem', days: code.days, codeId: code.id, oldExpiry: null, newExpiry: expiresAt, changeKey: `code-${code.id}` });
  await creditCommission(trx, historyId, o.userId, code.batch_id);
  return { ...rental, expires_at: expiresAt, days: code.days };
}

/**
 * Applies one change to a live rental: a code adds its days to the later of the current expiry and now; an exact expiry
 * replaces it. Under the rental's row lock, so concurrent changes add up; a change key already written answers its result.
 */
export async function applyRentalChange(knex: Knex, c: { rentalId: number; changeKey: string; userId: number | null; codeId?: number; expiresAt?: string }) {
  return knex.transaction(async (trx) => {
    const done = await trx('rental_history').where({ change_key: c.changeKey }).first('id', 'new_expiry', 'days');
    if (done) return { expiresAt: new Date(done.new_expiry).toISOString(), historyId: done.id as number, days: done.days as number | null };
    const rental = await trx('rentals').where({ id: c.rentalId }).forUpdate().first();
    if (!rental || rental.deleted_at) throw new RentalChangeRefused('RENTAL_GONE', `Rental ${c.rentalId} has been deleted`);
    const old = new Date(rental.expires_at);
    let newExpiry: Date, days: number | null = null, codeId: number | null = null, batchId: number | null = null;
    if (c.codeId !== undefined) {
      const code = await claimCode(trx, c.codeId, c.userId, rental.id);
      days = code.days; codeId = code.id; batchId = code.batch_id;
      newExpiry = new Date(Math.max(old.getTime(), Date.now()) + code.days * DAY_MS);
    } else {
      newExpiry = new Date(c.expiresAt!);
      if (!(newExpiry.getTime() > Date.now())) throw new RentalChangeRefused('BAD_EXPIRY', 'The new expiry must lie in the future');
    }
    await trx('rentals').where({ id: rental.id }).update({ expires_at: newExpiry, updated_at: trx.fn.now() });
    const historyId = await record(trx, { rentalId: rental.id, userId: c.userId, action: codeId ? 'extend' : 'renew', days, codeId, oldExpiry: old, newExpiry, changeKey: c.changeKey });
    if (batchId !== null) await creditCommission(trx, historyId, rental.user_id, batchId);
    return { expiresAt: newExpiry.toISOString(), historyId, days };
  });
}
