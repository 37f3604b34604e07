import type { Knex } from 'knex';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../../../shared/platform/errors';
import type { Config } from '../../../shared/platform/config';

export type LoginLimits = Config['login'];

interface Limiters {
  byUser: RateLimiterPostgres;
  byAddress: RateLimiterPostgres;
}

/**
 * Consecutive failed logins, counted per account and per client address; over the limit the key is blocked.
 * The limits come from the configuration, or from `current()` (the security settings) when given: counters are
 * kept in PostgreSQL under the same keys whatever the limits, so a change applies to the next attempt.
 */
export class LoginThrottle {
  private readonly built = new Map<string, Limiters>();

  constructor(
    private readonly knex: Knex,
    private readonly login: LoginLimits,
    private readonly current?: () => Promise<LoginLimits>,
  ) {}

  private async limiters(): Promise<Limiters> {
    const login = this.current ? await this.current() : this.login;
    const key = `${login.maxFailures}:${login.windowSeconds}:${login.lockoutSeconds}`;
    let limiters = this.built.get(key);
    if (!limiters) {
      const common = { storeClient: this.knex, storeType: 'knex', tableName: 'rate_limits', tableCreated: true, clearExpiredByTimeout: false };
      limiters = {
        byUser: new RateLimiterPostgres({ ...common, keyPrefix: 'login_user', points: login.maxFailures, duration: login.windowSeconds, blockDuration: login.lockoutSeconds }),
        // An address may be shared by several people, so it gets more room than one account.
        byAddress: new RateLimiterPostgres({ ...common, keyPrefix: 'login_ip', points: login.maxFailures * 4, duration: login.windowSeconds, blockDuration: login.lockoutSeconds }),
      };
      this.built.set(key, limiters);
    }
    return limiters;
  }

  private static blocked(res: RateLimiterRes | null, max: number): number | null {
    return res && res.consumedPoints > max ? Math.ceil(res.msBeforeNext / 1000) : null;
  }

  private static tooMany(retryAfter: number): AppError {
    return new AppError('RATE_LIMIT_EXCEEDED', `Too many failed logins; try again in ${retryAfter} s`, { retry_after: retryAfter }, { 'Retry-After': String(retryAfter) });
  }

  /** Throws 429 when the account or the address is locked out. */
  async check(username: string, address: string): Promise<void> {
    const { byUser, byAddress } = await this.limiters();
    const [user, ip] = await Promise.all([byUser.get(username.toLowerCase()), byAddress.get(address)]);
    const wait = LoginThrottle.blocked(user, byUser.points - 1) ?? LoginThrottle.blocked(ip, byAddress.points - 1);
    if (wait !== null) throw LoginThrottle.tooMany(wait);
  }

  /** Records a failure; returns the lockout end when this failure locked the account. */
  async fail(username: string, address: string): Promise<Date | null> {
    const { byUser, byAddress } = await this.limiters();
    const results = await Promise.allSettled([byUser.consume(username.toLowerCase()), byAddress.consume(address)]);
    const [user] = results;
    if (user.status === 'rejected' && user.reason instanceof RateLimiterRes) return new Date(Date.now() + user.reason.msBeforeNext);
    return null;
  }

  async succeed(username: string): Promise<void> {
    await (await this.limiters()).byUser.delete(username.toLowerCase());
  }
}
