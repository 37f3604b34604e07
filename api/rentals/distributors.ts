import { AppError, conflict, notFound, uniqueOr409 } from '../../shared/platform/errors';
import type { AppDeps } from '../platform/deps';
import type { Caller } from '../platform/caller';
import { isAdmin, type Principal } from '../platform/auth/principal';
import { audit } from '../platform/audit';
import { iso } from '../platform/http/schemas';
import {
  decideApplication, distributorStatus, findDistributor, listDistributors, saveApplication, type DistributorView,
} from '../../db/queries/rentals/distributors';
import { allTiers, tierIdByName } from '../../db/queries/rentals/distributor-tiers';
import { customersOf } from '../../db/queries/rentals/referrals';
import { ledgerEntries, ledgerEntryStatus, payLedgerEntry } from '../../db/queries/rentals/commission-ledger';
import { liveUserById } from '../../db/queries/users/users';
import { found } from '../../db/queries/platform/found';

/** Resellers: applications an admin approves into a tier, referral codes, and the commission ledger (pending → paid). */
export class DistributorService {
  constructor(private readonly deps: AppDeps) {}

  present(d: DistributorView) {
    return {
      user_id: d.user_id, username: d.username ?? null, status: d.status, referral_code: d.referral_code,
      tier: d.tier_id ? { id: d.tier_id, name: d.tier_name ?? null, commission_rate: d.commission_rate !== undefined && d.commission_rate !== null ? Number(d.commission_rate) : null, code_allowance: d.code_allowance ?? null } : null,
      codes_generated: d.codes_generated, note: d.note ?? null, applied_at: iso(d.applied_at), decided_at: iso(d.decided_at),
    };
  }

  async tiers() {
    const rows = await allTiers(this.deps.knex);
    return { tiers: rows.map((t) => ({ id: t.id, name: t.name, commission_rate: Number(t.commission_rate), code_allowance: t.code_allowance })) };
  }

  /** An application waits for an admin (the original granted the role at once). A rejected applicant may apply again. */
  async apply(caller: Caller, userId: number, code: string, note?: string) {
    const { knex } = this.deps;
    const { principal } = caller;
    if (!isAdmin(principal) && principal.userId !== userId) throw notFound('user', userId);
    await found(liveUserById(knex, userId), 'user', userId);
    const existing = await distributorStatus(knex, userId);
    if (existing && existing !== 'rejected') throw conflict(`The application of user ${userId} is already ${existing}`, { status: existing });
    await uniqueOr409(
      () => saveApplication(knex, userId, { referralCode: code.toUpperCase(), note: note ?? null }, existing !== undefined),
      `The referral code ${code} is taken`, 'distributor_code',
    );
    await audit(knex, caller, { module: 'rentals', action: 'distributor_apply', message: `User ${userId} applied to be a distributor`, resourceType: 'distributor', resourceId: userId });
    return this.find(principal, userId);
  }

  async find(principal: Principal, userId: number) {
    if (!isAdmin(principal) && principal.userId !== userId) throw notFound('distributor', userId);
    return this.present(await found(findDistributor(this.deps.knex, userId), 'distributor', userId));
  }

  async list(status?: string) {
    return { distributors: (await listDistributors(this.deps.knex, status)).map((d) => this.present(d)) };
  }

  async decide(caller: Caller, userId: number, approve: boolean, tierName?: string) {
    const { knex } = this.deps;
    const status = await found(distributorStatus(knex, userId), 'distributor', userId);
    if (status !== 'pending') throw conflict(`The application is already ${status}`, { status });
    let tierId: number | null = null;
    if (approve) {
      const tier = await tierIdByName(knex, tierName ?? 'bronze');
      if (tier === undefined) throw new AppError('VALIDATION_ERROR', `Unknown tier ${tierName}`, { field: 'tier', errors: [{ field: 'tier', message: 'is not a tier' }] });
      tierId = tier;
    }
    await decideApplication(knex, userId, approve, tierId, caller.principal.userId);
    await audit(knex, caller, { module: 'rentals', action: approve ? 'distributor_approve' : 'distributor_reject', message: `Distributor application of user ${userId} ${approve ? 'approved' : 'rejected'}`, resourceType: 'distributor', resourceId: userId });
    return this.find(caller.principal, userId);
  }

  /** A distributor's own view: the record, their referred customers with their rentals, and their ledger. */
  async overview(principal: Principal) {
    const me = await this.find(principal, principal.userId ?? -1);
    const customers = await customersOf(this.deps.knex, me.user_id);
    return { distributor: me, customers: customers.map((c) => ({ user_id: c.id, username: c.username, referred_at: iso(c.created_at), live_rentals: c.live_rentals })), ...(await this.ledger(principal, {})) };
  }

  async ledger(principal: Principal, o: { distributor_id?: number; status?: string }) {
    const distributorId = isAdmin(principal) ? o.distributor_id || undefined : principal.userId ?? -1;
    const rows = await ledgerEntries(this.deps.knex, { distributorId, status: o.status });
    return {
      ledger: rows.map((l) => ({ id: l.id, distributor_id: l.distributor_id, customer_id: l.customer_id, rental_id: l.rental_id, action: l.action, amount_cents: l.amount_cents, rate: Number(l.rate), status: l.status, created_at: iso(l.created_at), paid_at: iso(l.paid_at) })),
      totals: { pending_cents: rows.filter((l) => l.status === 'pending').reduce((s, l) => s + l.amount_cents, 0), paid_cents: rows.filter((l) => l.status === 'paid').reduce((s, l) => s + l.amount_cents, 0) },
    };
  }

  async pay(caller: Caller, id: number) {
    const { knex } = this.deps;
    await found(ledgerEntryStatus(knex, id), 'ledger entry', id);
    if (!(await payLedgerEntry(knex, id, caller.principal.userId))) throw conflict(`Ledger entry ${id} is already paid`);
    await audit(knex, caller, { module: 'rentals', action: 'commission_paid', message: `Commission ${id} paid`, resourceType: 'commission', resourceId: id });
    return { id, status: 'paid' };
  }
}
