import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../../../shared/platform/errors';
import type { Config } from '../../../shared/platform/config';

/**
 * What anonymous requests may cost, counted in PostgreSQL (every API replica shares the counts), checked before the
 * cost is paid: argon2 hashes per client address per minute (login, sign-up, the OAuth sign-in form), and sign-ups per
 * client address and per email domain per hour.
 */
export class AnonymousBudget {
  private readonly hashes: RateLimiterPostgres;
  private readonly signupsByAddress: RateLimiterPostgres;
  private readonly signupsByDomain: RateLimiterPostgres;

  constructor(knex: Knex, private readonly limits: Config['anonymous']) {
    const common = { storeClient: knex, storeType: 'knex', tableName: 'rate_limits', tableCreated: true, clearExpiredByTimeout: false };
    this.hashes = new RateLimiterPostgres({ ...common, keyPrefix: 'anon_hash', points: limits.hashesPerMinute, duration: 60 });
    this.signupsByAddress = new RateLimiterPostgres({ ...common, keyPrefix: 'signup_ip', points: limits.signupsPerAddressPerHour, duration: 3600 });
    this.signupsByDomain = new RateLimiterPostgres({ ...common, keyPrefix: 'signup_domain', points: limits.signupsPerDomainPerHour, duration: 3600 });
  }

  /** Takes one password hash from the address's allowance, or refuses (429) before any hash runs. */
  async hash(address: string | null): Promise<void> {
    await AnonymousBudget.take(this.hashes, address || 'unknown', () => `Too many sign-in attempts from your address (${this.limits.hashesPerMinute} a minute)`);
  }

  /** Takes one sign-up from the address's and the email domain's hourly allowance, or refuses (429). */
  async signup(address: string | null, email: string): Promise<void> {
    await AnonymousBudget.take(this.signupsByAddress, address || 'unknown', () => `Too many sign-ups from your address (${this.limits.signupsPerAddressPerHour} an hour)`);
    const domain = (email.split('@').pop() ?? '').toLowerCase();
    const key = domain.length <= 200 ? domain : crypto.createHash('sha256').update(domain).digest('hex');
    await AnonymousBudget.take(this.signupsByDomain, key, () => `Too many sign-ups with addresses at ${domain.slice(0, 100)} (${this.limits.signupsPerDomainPerHour} an hour)`);
  }

  private static async take(limiter: RateLimiterPostgres, key: string, message: () => string): Promise<void> {
    try {
      await limiter.consume(key);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      const retryAfter = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      throw new AppError('RATE_LIMIT_EXCEEDED', `${message()}; try again in ${retryAfter} s`, { retry_after: retryAfter }, { 'Retry-After': String(retryAfter) });
    }
  }
}
