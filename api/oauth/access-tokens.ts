import type { Knex } from 'knex';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../../shared/platform/errors';
import { sha256 } from '../../shared/platform/crypto';
import type { Role } from '../../shared/platform/permissions';
import { permissionsForScopes } from '../../shared/oauth/scopes';
import type { Principal } from '../platform/auth/principal';

/** oidc-provider's opaque tokens: 43 base64url characters. */
const OPAQUE = /^[A-Za-z0-9_-]{43}$/;

const limiters = new Map<string, RateLimiterPostgres>();

/** A client's rate_limit: API requests per hour made with its tokens, counted in PostgreSQL (shared by every process). */
async function spend(knex: Knex, clientId: string, perHour: number) {
  const key = String(perHour);
  let limiter = limiters.get(key);
  if (!limiter) {
    limiter = new RateLimiterPostgres({ storeClient: knex, storeType: 'knex', tableName: 'rate_limits', tableCreated: true, clearExpiredByTimeout: false, keyPrefix: 'oauth_client', points: perHour, duration: 3600 });
    limiters.set(key, limiter);
  }
  try {
    await limiter.consume(clientId);
  } catch (err) {
    if (!(err instanceof RateLimiterRes)) throw err;
    const retryAfter = Math.ceil(err.msBeforeNext / 1000);
    throw new AppError('RATE_LIMIT_EXCEEDED', `The OAuth client's rate limit (${perHour} requests per hour) is spent; try again in ${retryAfter} s`, { retry_after: retryAfter }, { 'Retry-After': String(retryAfter) });
  }
}

/**
 * The caller an OAuth access token stands for, or null when it is none (unknown, expired, revoked, inactive client):
 * its user (a client credentials token: its client's owner), with the permissions its scopes map to.
 */
export async function oauthPrincipal(knex: Knex, token: string): Promise<Principal | null> {
  if (!OPAQUE.test(token)) return null;
  const row = await knex('oauth_payloads as p')
    .join('oauth_clients as c', 'c.client_id', knex.raw("p.payload->>'clientId'"))
    .whereIn('p.kind', ['AccessToken', 'ClientCredentials'])
    // Stored under sha256 of the token (provider/adapter.ts): the table holds no usable token.
    .where('p.id', sha256(token))
    .where('p.expires_at', '>', knex.fn.now())
    .where('c.is_active', true)
    .first('p.kind', 'p.payload', 'c.owner_id', 'c.client_id', 'c.rate_limit');
  if (!row) return null;
  const userId = row.kind === 'AccessToken' ? Number(row.payload.accountId) : row.owner_id;
  if (!userId) return null;
  const user = await knex('users').where({ id: userId, is_active: true }).whereNull('deleted_at').first('id', 'username', 'role');
  if (!user) return null;
  if (row.rate_limit) await spend(knex, row.client_id, row.rate_limit);
  return {
    userId: user.id,
    username: user.username,
    role: user.role,
    permissions: permissionsForScopes(user.role as Role, String(row.payload.scope ?? '')),
    via: 'oauth',
    oauthClientId: row.client_id,
  };
}
