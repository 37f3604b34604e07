import type { Knex } from 'knex';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../../../shared/platform/errors';
import type { Config } from '../../../shared/platform/config';

/** Consecutive failed logins, counted per account and per client address; over the limit the key is blocked. */
export class LoginThrottle {
  private readonly byUser: RateLimiterPostgres;
  private readonly byAddress: RateLimiterPostgres;

  constructor(knex: Knex, login: Config['login']) {
    const common = { storeClient: knex, storeType: 'knex', tableName: 'rate_limits', tableCreated: true, clearExpiredByTimeout: false };
    this.byUser = new RateLimiterPostgres({
      ...common,
      keyPrefix: 'login_user',
      points: login.maxFailures,
      duration: login.windowSeconds,
      blockDuration: login.lockoutSeconds,
    });
    // An address may be shared by several people, so it gets more room than one account.
    this.byAddress = new RateLimiterPostgres({
      ...common,
      keyPrefix: 'login_ip',
      points: login.maxFailures * 4,
      duration: login.windowSeconds,
      blockDuration: login.lockoutSeconds,
    });
  }

  private static blocked(res: RateLimiterRes | null, max: number): number | null {
    return res && res.consumedPoints > max ? Math.ceil(res.msBeforeNext / 1000) : null;
  }

  private static tooMany(retryAfter: number): AppError {
    return new AppError('RATE_LIMIT_EXCEEDED', `Too many failed logins; try again in ${retryAfter} s`, { retry_after: retryAfter }, { 'Retry-After': String(retryAfter) });
  }

  /** Throws 429 when the account or the address is locked out. */
  async check(username: string, address: string): Promise<void> {
    const [user, ip] = await Promise.all([this.byUser.get(username.toLowerCase()), this.byAddress.get(address)]);
    const wait = LoginThrottle.blocked(user, this.byUser.points - 1) ?? LoginThrottle.blocked(ip, this.byAddress.points - 1);
    if (wait !== null) throw LoginThrottle.tooMany(wait);
  }

  /** Records a failure; returns the lockout end when this failure locked the account. */
  async fail(username: string, address: string): Promise<Date | null> {
    const results = await Promise.allSettled([this.byUser.consume(username.toLowerCase()), this.byAddress.consume(address)]);
    const [user] = results;
    if (user.status === 'rejected' && user.reason instanceof RateLimiterRes) return new Date(Date.now() + user.reason.msBeforeNext);
    return null;
  }

  async succeed(username: string): Promise<void> {
    await this.byUser.delete(username.toLowerCase());
  }
}
