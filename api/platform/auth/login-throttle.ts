import type { Knex } from 'knex';
import { RateLimiterPostgres, type RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../../../shared/platform/errors';
import type { Config } from '../../../shared/platform/config';

/** Each failure past an address's allowance adds this much wait to its next logins, up to ADDRESS_MAX_DELAY_MS. */
export const ADDRESS_DELAY_STEP_MS = 250;
const ADDRESS_MAX_DELAY_MS = 5000;

/**
 * Failed logins, counted per account and per client address. An account that reaches the limit is locked for the
 * lockout length. An address is never refused, since it may be an office's shared one: past its allowance its logins
 * wait, one at a time, longer with each further failure — slow for guessing, still open to a colleague's right password.
 */
export class LoginThrottle {
  private readonly byUser: RateLimiterPostgres;
  private readonly byAddress: RateLimiterPostgres;
  private readonly addressAllowance: number;
  private readonly queues = new Map<string, Promise<void>>();

  constructor(knex: Knex, private readonly login: Config['login']) {
    const common = { storeClient: knex, storeType: 'knex', tableName: 'rate_limits', tableCreated: true, clearExpiredByTimeout: false };
    this.byUser = new RateLimiterPostgres({ ...common, keyPrefix: 'login_user', points: login.maxFailures, duration: login.windowSeconds });
    this.addressAllowance = login.maxFailures * 4;
    // Counts only: the address is slowed down, never blocked.
    this.byAddress = new RateLimiterPostgres({ ...common, keyPrefix: 'login_ip', points: Number.MAX_SAFE_INTEGER, duration: login.windowSeconds });
  }

  private static tooMany(retryAfter: number): AppError {
    return new AppError('RATE_LIMIT_EXCEEDED', `Too many failed logins; try again in ${retryAfter} s`, { retry_after: retryAfter }, { 'Retry-After': String(retryAfter) });
  }

  private lockedFor(res: RateLimiterRes | null): number | null {
    return res && res.consumedPoints > this.login.maxFailures ? Math.max(1, Math.ceil(res.msBeforeNext / 1000)) : null;
  }

  /** Throws 429 while the account is locked out. */
  async check(username: string): Promise<void> {
    const wait = this.lockedFor(await this.byUser.get(username.toLowerCase()));
    if (wait !== null) throw LoginThrottle.tooMany(wait);
  }

  /** Runs `attempt` after the wait this address has earned; attempts from a slowed address go one at a time. */
  async paced<T>(address: string, attempt: () => Promise<T>): Promise<T> {
    const failures = (await this.byAddress.get(address))?.consumedPoints ?? 0;
    const excess = failures - this.addressAllowance;
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
    const key = username.toLowerCase();
    const [user] = await Promise.all([
      this.byUser.penalty(key, 1),
      this.byAddress.penalty(address, 1),
    ]);
    if (user.consumedPoints < this.login.maxFailures) return null;
    await this.byUser.block(key, this.login.lockoutSeconds);
    return new Date(Date.now() + this.login.lockoutSeconds * 1000);
  }

  async succeed(username: string): Promise<void> {
    await this.byUser.delete(username.toLowerCase());
  }
}
