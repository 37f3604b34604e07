import crypto from 'node:crypto';
import { AppError } from '../../shared/platform/errors';
import { verificationTokenMatches } from '../../shared/rentals/verification';
import type { AppDeps } from '../platform/deps';
import type { Caller, ClientInfo } from '../platform/caller';
import type { Principal } from '../platform/auth/principal';
import { audit } from '../platform/audit';
import { UserService } from '../users/service';
import { rentalVerificationMailWorkflow } from '../../workflows/rentals/mail';

/** One verification mail per user in this window, whatever the requests. */
const RESEND_SECONDS = 60;

/** Self-registration (seed 000's add_user), with an optional distributor's referral code, and email verification. */
export class AccountService {
  private readonly users: UserService;
  constructor(private readonly deps: AppDeps) {
    this.users = new UserService(deps);
  }

  async register(client: ClientInfo, b: { username: string; password: string; email: string; referral_code?: string }) {
    const { knex } = this.deps;
    let distributorId: number | null = null;
    if (b.referral_code) {
      const d = await knex('distributors').whereRaw('upper(referral_code) = upper(?)', [b.referral_code]).where({ status: 'approved' }).first('user_id');
      if (!d) throw new AppError('VALIDATION_ERROR', 'Unknown referral code', { field: 'referral_code', errors: [{ field: 'referral_code', message: 'is not a distributor\'s code' }] });
      distributorId = d.user_id;
    }
    const self: Principal = { userId: null, username: b.username, role: 'user', permissions: [], via: 'session' };
    const caller: Caller = { ...client, principal: self };
    const user = await this.users.create(caller, { username: b.username, email: b.email, password: b.password, role: 'user', is_active: true });
    if (distributorId !== null) await knex('referrals').insert({ user_id: user.id, distributor_id: distributorId }).onConflict('user_id').ignore();
    return { user_id: user.id, username: user.username, email_verified: false, referred: distributorId !== null };
  }

  /**
   * Sends a verification link to an account's email when it is not verified yet. The answer is the same whether or not the
   * address belongs to anyone (no account discovery); repeated requests within a minute send nothing more.
   */
  async sendVerification(client: ClientInfo, email: string): Promise<void> {
    const { knex, config, temporal } = this.deps;
    const user = await knex('users').whereNull('deleted_at').whereRaw('lower(email) = lower(?)', [email]).where({ email_verified: false, is_active: true }).orderBy('id').first('id', 'email');
    if (!user) return;
    const recent = await knex('email_verifications').where({ user_id: user.id }).where('created_at', '>', knex.raw(`now() - interval '${RESEND_SECONDS} seconds'`)).first('id');
    if (recent) return;
    const [v] = await knex('email_verifications').insert({
      user_id: user.id, email: user.email, nonce: crypto.randomBytes(16).toString('hex'), expires_at: new Date(Date.now() + config.rentals.verifyEmailTtlSeconds * 1000),
    }).returning('id');
    await temporal.workflow.start(rentalVerificationMailWorkflow, { workflowId: `email-verification-${v.id}`, taskQueue: config.taskQueue, args: [{ verificationId: v.id }] });
    await audit(knex, client, { module: 'users', action: 'verification_sent', message: `Verification mail for user ${user.id}`, userId: user.id, resourceType: 'user', resourceId: user.id });
  }

  /** Consumes a link: signed, unexpired, used once; the address verified is the one the mail went to. */
  async verify(client: ClientInfo, id: number, token: string) {
    const { knex, config } = this.deps;
    const invalid = new AppError('VALIDATION_ERROR', 'The verification link is not valid, was already used or has expired', { field: 'token', errors: [{ field: 'token', message: 'is not valid' }] });
    const v = await knex('email_verifications').where({ id }).first();
    if (!v || !verificationTokenMatches(config.masterKey, v, token) || v.used_at || new Date(v.expires_at) <= new Date()) throw invalid;
    const verified = await knex.transaction(async (trx) => {
      const claimed = await trx('email_verifications').where({ id }).whereNull('used_at').update({ used_at: trx.fn.now() });
      if (!claimed) return 0;
      return trx('users').where({ id: v.user_id }).whereNull('deleted_at').whereRaw('lower(email) = lower(?)', [v.email]).update({ email_verified: true, updated_at: trx.fn.now() });
    });
    if (!verified) throw invalid;
    await audit(knex, client, { module: 'users', action: 'email_verified', message: `Email of user ${v.user_id} verified`, userId: v.user_id, resourceType: 'user', resourceId: v.user_id });
    return { user_id: v.user_id as number, email: v.email as string, email_verified: true };
  }
}
