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
  byAddress: RateLimiterPostgres;
}

/**
 * Failed logins, counted per account and per client address. An account that reaches the limit is locked for the
 * lockout length. An address is never refused, since it may be an office's shared one: past its allowance its logins
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

  /** Throws 429 while the account is locked out. */
  async check(username: string): Promise<void> {
    const { byUser, maxFailures } = await this.limits();
    const res: RateLimiterRes | null = await byUser.get(username.toLowerCase());
    if (res && res.consumedPoints > maxFailures) throw LoginThrottle.tooMany(Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
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

  /** Records a failure; when it is the account's last allowed one, locks the account and returns when the lock ends. */
  async fail(username: string, address: string): Promise<Date | null> {
    const { byUser, byAddress, maxFailures, lockoutSeconds } = await this.limits();
    const key = username.toLowerCase();
    const [user] = await Promise.all([byUser.penalty(key, 1), byAddress.penalty(address, 1)]);
    if (user.consumedPoints < maxFailures) return null;
    await byUser.block(key, lockoutSeconds);
    return new Date(Date.now() + lockoutSeconds * 1000);
  }

  async succeed(username: string): Promise<void> {
    const { byUser } = await this.limits();
    await byUser.delete(username.toLowerCase());
  }
}
