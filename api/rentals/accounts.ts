import { AppError, uniqueOr409 } from '../../shared/platform/errors';
import { hashPassword } from '../../shared/platform/passwords';
import type { AppDeps } from '../platform/deps';
import type { ClientInfo } from '../platform/caller';
import { audit } from '../platform/audit';
import { AnonymousBudget } from '../platform/auth/anonymous-budget';
import { EmailVerificationService } from '../platform/email-verification';
import { PasswordRules } from '../userdata/settings/enforce';
import { createPendingAccount } from '../../db/queries/users/signup';
import { unverifiedUserByEmail } from '../../db/queries/users/users';
import { approvedDistributorByCode } from '../../db/queries/rentals/distributors';
import { insertReferral } from '../../db/queries/rentals/referrals';

/** Sign-up while the system setting registration_enabled is off (the default): seed 000's refusal, 400 {"error"}. */
export const registrationClosed = () =>
  new AppError('BAD_REQUEST', 'Registration is closed: accounts are created by an administrator', { reason: 'registration_closed' });

/**
 * Self-registration (seed 000's add_user), with an optional distributor's referral code, and email verification.
 * Off until an admin turns the system setting registration_enabled on. Then each sign-up is paced per client address
 * and per email domain (429) before anything is hashed or written, and the account is pending: it cannot sign in and
 * holds zero quotas until the link mailed to it is opened (then it gets the default quotas).
 */
export class AccountService {
  private readonly verification: EmailVerificationService;
  private readonly budget: AnonymousBudget;
  private readonly passwords: PasswordRules;
  constructor(private readonly deps: AppDeps) {
    this.verification = new EmailVerificationService(deps);
    this.budget = new AnonymousBudget(deps.knex, deps.config.anonymous);
    this.passwords = new PasswordRules(deps);
  }

  async register(client: ClientInfo, b: { username: string; password: string; email: string; referral_code?: string }) {
    const { knex } = this.deps;
    if (!this.deps.system.settings.current.registration_enabled) throw registrationClosed();
    await this.budget.signup(client.ip, b.email);
    let distributorId: number | null = null;
    if (b.referral_code) {
      const d = await approvedDistributorByCode(knex, b.referral_code);
      if (d === undefined) throw new AppError('VALIDATION_ERROR', 'Unknown referral code', { field: 'referral_code', errors: [{ field: 'referral_code', message: 'is not a distributor\'s code' }] });
      distributorId = d;
    }
    await this.passwords.check(b.password);
    await this.budget.hash(client.ip);
    const passwordHash = await hashPassword(b.password);
    const user = await uniqueOr409(() => knex.transaction(async (trx) => {
      const created = await createPendingAccount(trx, { username: b.username, email: b.email, password_hash: passwordHash });
      if (distributorId !== null) await insertReferral(trx, created.id, distributorId);
      return created;
    }), `Username ${b.username} is taken`, 'username');
    await audit(knex, client, { module: 'users', action: 'register', message: `User ${user.username} signed up (pending email verification)`, userId: user.id, username: user.username, resourceType: 'user', resourceId: user.id });
    await this.verification.send(client, { id: user.id, email: b.email });
    return { user_id: user.id, username: user.username, email_verified: false, verification_sent: true, referred: distributorId !== null };
  }

  /**
   * Sends a verification link to an account's email when it is not verified yet. The answer is the same whether or not the
   * address belongs to anyone (no account discovery); repeated requests within a minute send nothing more.
   */
  async sendVerification(client: ClientInfo, email: string): Promise<void> {
    const user = await unverifiedUserByEmail(this.deps.knex, email);
    if (user) await this.verification.send(client, user);
  }

  verify(client: ClientInfo, id: number, token: string) {
    return this.verification.verify(client, id, token);
  }
}
