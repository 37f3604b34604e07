import type { Knex } from 'knex';
import { RateLimiterPostgres, type RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../../../shared/platform/errors';
import type { Config } from '../../../shared/platform/config';

export type LoginLimits = Config['login'];

/** Each failure past an address's allowance adds this much wait to its next logins, up to ADDRESS_MAX_DELAY_MS. */
export const ADDRESS_DELAY_STEP_MS = 250;
const ADDRESS_MAX_DELAY_MS = 5000;

interface Limiters {
  byUser: RateLimiterPostgres;
  byTrusted: RateLimiterPostgres;
  byAddress: RateLimiterPostgres;
}

/**
 * Whose failures a login attempt counts toward (OWASP's "device cookies"): `account` for clients the account never signed
 * in from (keyed by the username, known or not), `trusted` for one device holding the account's signed device cookie or
 * one address the account signed in from before (keyed by the user and that device or address). Reaching the limit locks
 * only that: failures from strangers lock strangers out, never the owner's known devices and addresses.
 */
export type LockKey = { scope: 'account'; username: string } | { scope: 'trusted'; key: string };

const lockOf = (k: string | LockKey): LockKey => (typeof k === 'string' ? { scope: 'account', username: k } : k);

/**
 * Failed logins, counted per account (its strangers' failures, see LockKey), per trusted device or address, and per
 * client address. An account whose strangers reach the limit is locked for them for the lockout length; its owner still
 * signs in from a device or address they signed in from before. An address is never refused, since it may be an office's shared one: past its allowance its logins
 * wait, one at a time, longer with each further failure — slow for guessing, still open to a colleague's right password.
 * The limits come from the configuration, or from `current()` (the security settings) when given: the counters are
 * kept in PostgreSQL under the same keys whatever the limits, so a change applies to the next attempt.
 */
export class LoginThrottle {
  private readonly built = new Map<string, Limiters>();
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly knex: Knex,
    private readonly login: LoginLimits,
    private readonly current?: () => Promise<LoginLimits>,
  ) {}

  private async limits(): Promise<LoginLimits & Limiters> {
    const login = this.current ? await this.current() : this.login;
    const key = `${login.maxFailures}:${login.windowSeconds}`;
    let limiters = this.built.get(key);
    if (!limiters) {
      const common = { storeClient: this.knex, storeType: 'knex', tableName: 'rate_limits', tableCreated: true, clearExpiredByTimeout: false };
      limiters = {
        byUser: new RateLimiterPostgres({ ...common, keyPrefix: 'login_user', points: login.maxFailures, duration: login.windowSeconds }),
        byTrusted: new RateLimiterPostgres({ ...common, keyPrefix: 'login_known', points: login.maxFailures, duration: login.windowSeconds }),
        // Counts only: the address is slowed down, never blocked.
        byAddress: new RateLimiterPostgres({ ...common, keyPrefix: 'login_ip', points: Number.MAX_SAFE_INTEGER, duration: login.windowSeconds }),
      };
      this.built.set(key, limiters);
    }
    return { ...login, ...limiters };
  }

  private static tooMany(retryAfter: number): AppError {
    return new AppError('RATE_LIMIT_EXCEEDED', `Too many failed logins; try again in ${retryAfter} s`, { retry_after: retryAfter }, { 'Retry-After': String(retryAfter) });
  }

  private static target(limits: Limiters, k: string | LockKey): [RateLimiterPostgres, string] {
    const lock = lockOf(k);
    return lock.scope === 'account' ? [limits.byUser, lock.username.toLowerCase()] : [limits.byTrusted, lock.key];
  }

  /** Throws 429 while the account (a username: its strangers) or the trusted device or address is locked out. */
  async check(k: string | LockKey): Promise<void> {
    const limits = await this.limits();
    const [limiter, key] = LoginThrottle.target(limits, k);
    const res: RateLimiterRes | null = await limiter.get(key);
    if (res && res.consumedPoints > limits.maxFailures) throw LoginThrottle.tooMany(Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
  }

  /** Runs `attempt` after the wait this address has earned; attempts from a slowed address go one at a time. */
  async paced<T>(address: string, attempt: () => Promise<T>): Promise<T> {
    const { byAddress, maxFailures } = await this.limits();
    const failures = (await byAddress.get(address))?.consumedPoints ?? 0;
    const excess = failures - maxFailures * 4;
    if (excess <= 0) return attempt();
    const delay = Math.min(excess * ADDRESS_DELAY_STEP_MS, ADDRESS_MAX_DELAY_MS);
    const previous = this.queues.get(address) ?? Promise.resolve();
    const turn = previous.then(() => new Promise<void>((r) => setTimeout(r, delay)));
    const mine = turn.then(attempt);
    const settled = mine.then(() => undefined, () => undefined);
    this.queues.set(address, settled);
    void settled.then(() => { if (this.queues.get(address) === settled) this.queues.delete(address); });
    return mine;
  }

  /** Records a failure; when it is the last allowed one, locks the account's strangers (or the trusted client) and returns when the lock ends. */
  async fail(k: string | LockKey, address: string): Promise<Date | null> {
    const limits = await this.limits();
    const [limiter, key] = LoginThrottle.target(limits, k);
    const [counted] = await Promise.all([limiter.penalty(key, 1), limits.byAddress.penalty(address, 1)]);
    if (counted.consumedPoints < limits.maxFailures) return null;
    await limiter.block(key, limits.lockoutSeconds);
    return new Date(Date.now() + limits.lockoutSeconds * 1000);
  }

  /** A right password: the failures counted toward this lock are forgotten (a trusted client's success leaves the strangers' count). */
  async succeed(k: string | LockKey): Promise<void> {
    const limits = await this.limits();
    const [limiter, key] = LoginThrottle.target(limits, k);
    await limiter.delete(key);
  }
}
