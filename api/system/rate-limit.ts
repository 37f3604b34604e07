import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../../shared/platform/errors';
import type { Principal } from '../platform/auth/principal';
import type { Authenticator } from '../platform/http/route';
import type { LiveSettings } from '../../activities/system/live-settings';

const WINDOW_SECONDS = 60;

/** Whom a request counts against: an API token, an OAuth client's user, a user, a system credential, or an anonymous address. */
export function rateKey(principal: Principal | null, ip: string | null): string {
  if (!principal) return `ip:${ip ?? 'unknown'}`;
  if (principal.tokenId !== undefined) return `token:${principal.tokenId}`;
  if (principal.oauthClientId) return `oauth:${principal.oauthClientId}:${principal.userId ?? ''}`;
  if (principal.userId !== null) return `user:${principal.userId}`;
  return `system:${principal.via}`;
}

/**
 * The system setting api_rate_limit: requests per minute per key, counted in this process's memory (no database
 * round trip per request), so with N API replicas behind a balancer a client gets up to N times the limit. A change of
 * the setting applies at once and keeps the counts; 0 turns the limit off.
 */
export class ApiRateLimit {
  private readonly limiter: RateLimiterMemory;
  private limit: number;

  constructor(settings: LiveSettings) {
    this.limit = settings.current.api_rate_limit;
    this.limiter = new RateLimiterMemory({ points: Math.max(this.limit, 1), duration: WINDOW_SECONDS });
    settings.onChange((s) => {
      this.limit = s.api_rate_limit;
      this.limiter.points = Math.max(s.api_rate_limit, 1);
    });
  }

  async admit(principal: Principal | null, ip: string | null): Promise<void> {
    if (this.limit === 0) return;
    try {
      await this.limiter.consume(rateKey(principal, ip));
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      const retryAfter = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      throw new AppError('RATE_LIMIT_EXCEEDED', `Rate limit of ${this.limit} requests per minute reached; try again in ${retryAfter} s`,
        { retry_after: retryAfter, limit: this.limit, window_seconds: WINDOW_SECONDS }, { 'Retry-After': String(retryAfter) });
    }
  }
}

/**
 * An authenticator whose refusals (a bad, expired or revoked credential) count against the client address's API rate
 * limit, as an anonymous request would: guessing tokens costs the guesser their allowance, and past it the answer is 429.
 */
export function countingRefusals(authenticate: Authenticator, limit: ApiRateLimit): Authenticator {
  return async (ctx, from) => {
    try {
      return await authenticate(ctx, from);
    } catch (err) {
      if (err instanceof AppError && (err.code === 'INVALID_CREDENTIALS' || err.code === 'TOKEN_EXPIRED')) await limit.admit(null, ctx.ip || null);
      throw err;
    }
  };
}
