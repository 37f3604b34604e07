import argon2 from 'argon2';
import type { Knex } from 'knex';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../../../shared/platform/errors';
import type { Config } from '../../../shared/platform/config';

/**
 * The current password asked again before a change to the account's credentials (a new password, enrolling or turning
 * off two-factor authentication), so a stolen session or token cannot take the account over.
 *
 * Wrong answers are counted per account in PostgreSQL (every API replica shares the count, and every endpoint that asks):
 * past `maxFailures` within `windowSeconds`, the account's re-checks answer 429 with Retry-After — the right password
 * too, without hashing anything — until the window ends, so these endpoints are no password oracle. It is a counter of
 * its own, not the login lockout: the owner can still sign in.
 */
export class CurrentPassword {
  private readonly failures: RateLimiterPostgres;

  constructor(private readonly knex: Knex, limits: Config['login']) {
    this.failures = new RateLimiterPostgres({
      storeClient: knex, storeType: 'knex', tableName: 'rate_limits', tableCreated: true, clearExpiredByTimeout: false,
      keyPrefix: 'current_password', points: limits.maxFailures, duration: limits.windowSeconds,
    });
  }

  /** Throws 422 naming `field` when it is missing, 429 while the account is paced, 401 when it is wrong (and counts it). */
  async verify(userId: number, password: string | undefined, field: string): Promise<void> {
    if (!password) {
      throw new AppError('VALIDATION_ERROR', `${field} is required: give your current password`, { field, errors: [{ field, message: 'is required' }] });
    }
    const key = String(userId);
    // A point is taken before the hash and given back when the password is right: guesses sent at once are counted too.
    try {
      await this.failures.consume(key, 1);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw tooMany(err.msBeforeNext);
      throw err;
    }
    const user = await this.knex('users').where({ id: userId }).whereNull('deleted_at').first('password_hash');
    if (user && (await argon2.verify(user.password_hash, password))) {
      await this.failures.reward(key, 1);
      return;
    }
    throw new AppError('INVALID_CREDENTIALS', `${field} is not your current password`, { field });
  }

  /** Counts another wrong answer given with the right password (a wrong second-factor code when turning it off). */
  async penalize(userId: number): Promise<void> {
    await this.failures.penalty(String(userId), 1);
  }
}

function tooMany(msBeforeNext: number): AppError {
  const retryAfter = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return new AppError('RATE_LIMIT_EXCEEDED', `Too many wrong current passwords for this account; try again in ${retryAfter} s`, { retry_after: retryAfter }, { 'Retry-After': String(retryAfter) });
}
