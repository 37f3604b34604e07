import { AppError } from '../../shared/platform/errors';
import type { AppDeps } from '../platform/deps';
import type { Caller, ClientInfo } from '../platform/caller';
import type { Principal } from '../platform/auth/principal';
import { EmailVerificationService } from '../platform/email-verification';
import { UserService } from '../users/service';

/** Self-registration (seed 000's add_user), with an optional distributor's referral code, and email verification. */
export class AccountService {
  private readonly users: UserService;
  private readonly verification: EmailVerificationService;
  constructor(private readonly deps: AppDeps) {
    this.users = new UserService(deps);
    this.verification = new EmailVerificationService(deps);
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
    const user = await this.deps.knex('users').whereNull('deleted_at').whereRaw('lower(email) = lower(?)', [email]).where({ email_verified: false, is_active: true }).orderBy('id').first('id', 'email');
    if (user) await this.verification.send(client, user);
  }

  verify(client: ClientInfo, id: number, token: string) {
    return this.verification.verify(client, id, token);
  }
}
