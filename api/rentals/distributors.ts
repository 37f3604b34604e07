import { AppError, conflict, notFound, uniqueOr409 } from '../../shared/platform/errors';
import type { AppDeps } from '../platform/deps';
import type { Caller } from '../platform/caller';
import { isAdmin, type Principal } from '../platform/auth/principal';
import { audit } from '../platform/audit';
import { iso } from '../platform/http/schemas';
import type { Row } from '../compute/bounds';

/** Resellers: applications an admin approves into a tier, referral codes, and the commission ledger (pending → paid). */
export class DistributorService {
  constructor(private readonly deps: AppDeps) {}

  present(d: Row) {
    return {
      user_id: d.user_id, username: d.username ?? null, status: d.status, referral_code: d.referral_code,
      tier: d.tier_id ? { id: d.tier_id, name: d.tier_name ?? null, commission_rate: d.commission_rate !== undefined && d.commission_rate !== null ? Number(d.commission_rate) : null, code_allowance: d.code_allowance ?? null } : null,
      codes_generated: d.codes_generated, note: d.note ?? null, applied_at: iso(d.applied_at), decided_at: iso(d.decided_at),
    };
  }

  private query() {
    return this.deps.knex('distributors as d').join('users as u', 'u.id', 'd.user_id').leftJoin('distributor_tiers as t', 't.id', 'd.tier_id')
      .select('d.*', 'u.username', 't.name as tier_name', 't.commission_rate', 't.code_allowance');
  }

  async tiers() {
    const rows = await this.deps.knex('distributor_tiers').orderBy('id');
    return { tiers: rows.map((t) => ({ id: t.id, name: t.name, commission_rate: Number(t.commission_rate), code_allowance: t.code_allowance })) };
  }

  /** An application waits for an admin (the original granted the role at once). A rejected applicant may apply again. */
  async apply(caller: Caller, userId: number, code: string, note?: string) {
    const { knex } = this.deps;
    const { principal } = caller;
    if (!isAdmin(principal) && principal.userId !== userId) throw notFound('user', userId);
    if (!(await knex('users').where({ id: userId }).whereNull('deleted_at').first('id'))) throw notFound('user', userId);
    const existing = await knex('distributors').where({ user_id: userId }).first('status');
    if (existing && existing.status !== 'rejected') throw conflict(`The application of user ${userId} is already ${existing.status}`, { status: existing.status });
    await uniqueOr409(async () => {
      if (existing) await knex('distributors').where({ user_id: userId }).update({ status: 'pending', referral_code: code.toUpperCase(), note: note ?? null, applied_at: knex.fn.now(), decided_at: null, decided_by: null });
      else await knex('distributors').insert({ user_id: userId, status: 'pending', referral_code: code.toUpperCase(), note: note ?? null });
    }, `The referral code ${code} is taken`, 'distributor_code');
    await audit(knex, caller, { module: 'rentals', action: 'distributor_apply', message: `User ${userId} applied to be a distributor`, resourceType: 'distributor', resourceId: userId });
    return this.find(principal, userId);
  }

  async find(principal: Principal, userId: number) {
    if (!isAdmin(principal) && principal.userId !== userId) throw notFound('distributor', userId);
    const d = await this.query().where('d.user_id', userId).first();
    if (!d) throw notFound('distributor', userId);
    return this.present(d);
  }

  async list(status?: string) {
    const q = this.query().orderBy('d.applied_at');
    if (status) q.where('d.status', status);
    return { distributors: (await q).map((d) => this.present(d)) };
  }

  async decide(caller: Caller, userId: number, approve: boolean, tierName?: string) {
    const { knex } = this.deps;
    const d = await knex('distributors').where({ user_id: userId }).first('status');
    if (!d) throw notFound('distributor', userId);
    if (d.status !== 'pending') throw conflict(`The application is already ${d.status}`, { status: d.status });
    let tierId: number | null = null;
    if (approve) {
      const tier = await knex('distributor_tiers').where({ name: tierName ?? 'bronze' }).first('id');
      if (!tier) throw new AppError('VALIDATION_ERROR', `Unknown tier ${tierName}`, { field: 'tier', errors: [{ field: 'tier', message: 'is not a tier' }] });
      tierId = tier.id;
    }
    await knex('distributors').where({ user_id: userId, status: 'pending' }).update({ status: approve ? 'approved' : 'rejected', tier_id: tierId, decided_at: knex.fn.now(), decided_by: caller.principal.userId });
    await audit(knex, caller, { module: 'rentals', action: approve ? 'distributor_approve' : 'distributor_reject', message: `Distributor application of user ${userId} ${approve ? 'approved' : 'rejected'}`, resourceType: 'distributor', resourceId: userId });
    return this.find(caller.principal, userId);
  }

  /** A distributor's own view: the record, their referred customers with their rentals, and their ledger. */
  async overview(principal: Principal) {
    const me = await this.find(principal, principal.userId ?? -1);
    const customers = await this.deps.knex('referrals as r').join('users as u', 'u.id', 'r.user_id').where('r.distributor_id', me.user_id)
      .select('u.id', 'u.username', 'r.created_at', this.deps.knex.raw('(SELECT count(*) FROM rentals x WHERE x.user_id = u.id AND x.deleted_at IS NULL)::int AS live_rentals')).orderBy('u.id');
    return { distributor: me, customers: customers.map((c) => ({ user_id: c.id, username: c.username, referred_at: iso(c.created_at), live_rentals: c.live_rentals })), ...(await this.ledger(principal, {})) };
  }

  async ledger(principal: Principal, o: { distributor_id?: number; status?: string }) {
    const q = this.deps.knex('commission_ledger as l').join('rental_history as h', 'h.id', 'l.rental_history_id').orderBy('l.id')
      .select('l.*', 'h.rental_id', 'h.action');
    if (!isAdmin(principal)) q.where('l.distributor_id', principal.userId ?? -1);
    else if (o.distributor_id) q.where('l.distributor_id', o.distributor_id);
    if (o.status) q.where('l.status', o.status);
    const rows = await q;
    return {
      ledger: rows.map((l) => ({ id: l.id, distributor_id: l.distributor_id, customer_id: l.customer_id, rental_id: l.rental_id, action: l.action, amount_cents: l.amount_cents, rate: Number(l.rate), status: l.status, created_at: iso(l.created_at), paid_at: iso(l.paid_at) })),
      totals: { pending_cents: rows.filter((l) => l.status === 'pending').reduce((s, l) => s + l.amount_cents, 0), paid_cents: rows.filter((l) => l.status === 'paid').reduce((s, l) => s + l.amount_cents, 0) },
    };
  }

  async pay(caller: Caller, id: number) {
    const { knex } = this.deps;
    const row = await knex('commission_ledger').where({ id }).first('status');
    if (!row) throw notFound('ledger entry', id);
    const updated = await knex('commission_ledger').where({ id, status: 'pending' }).update({ status: 'paid', paid_at: knex.fn.now(), paid_by: caller.principal.userId });
    if (!updated) throw conflict(`Ledger entry ${id} is already paid`);
    await audit(knex, caller, { module: 'rentals', action: 'commission_paid', message: `Commission ${id} paid`, resourceType: 'commission', resourceId: id });
    return { id, status: 'paid' };
  }
}
