import type Koa from 'koa';
import { AppError } from '../../../shared/platform/errors';
import { safeEqual, sha256 } from '../../../shared/platform/crypto';
import { effectivePermissions, ROLE_PERMISSIONS, type Role } from '../../../shared/platform/permissions';
import type { AppDeps } from '../deps';
import type { Authenticator } from '../http/route';
import type { Principal, UserProfile } from './principal';
import { looksLikeJwt, verifyAccessToken } from './jwt';
import { ServerTokens } from './server-token';
import { CredentialCache } from './cache';
import { oauthPrincipal } from '../../oauth/access-tokens';

export const API_TOKEN_PREFIX = 'idcf_';

/** System-level secrets that act as an admin: seed 001's bearer token and seed 004's server_token. */
export const SECRET_NAMES = { systemToken: 'openidcs_api_token', serverToken: 'server_token' } as const;

const systemPrincipal = (via: 'system_token' | 'server_token'): Principal => ({
  userId: null,
  username: 'system',
  role: 'admin',
  permissions: ROLE_PERMISSIONS.admin,
  via,
});

const PROFILE = ['u.id', 'u.username', 'u.email', 'u.full_name', 'u.role', 'u.is_active', 'u.email_verified', 'u.last_login', 'u.created_at', 'u.updated_at'];
const profileOf = (row: UserProfile): UserProfile => ({
  id: row.id, username: row.username, email: row.email, full_name: row.full_name, role: row.role, is_active: row.is_active,
  email_verified: row.email_verified, last_login: row.last_login, created_at: row.created_at, updated_at: row.updated_at,
});

const expired = () => new AppError('TOKEN_EXPIRED', 'The API token has expired');

export function createAuthenticator(deps: AppDeps): Authenticator {
  const { knex, config, secrets } = deps;
  const serverTokens = new ServerTokens(knex, config, secrets);

  const sessions = new CredentialCache<Principal>(deps.notifications, config.authCacheSeconds, deps.logger);
  const tokens = new CredentialCache<{ principal: Principal; expiresAt: Date | null }>(deps.notifications, config.authCacheSeconds, deps.logger);

  async function fromJwt(token: string): Promise<Principal> {
    const claims = verifyAccessToken(token, config.jwtSecret);
    const principal = await sessions.get(`${claims.sid}:${claims.sub}`, async () => {
      const row = await knex('sessions as s')
        .join('users as u', 'u.id', 's.user_id')
        .where({ 's.id': claims.sid, 'u.id': Number(claims.sub) })
        .whereNull('s.revoked_at')
        .whereNull('u.deleted_at')
        .where('u.is_active', true)
        .first(...PROFILE);
      if (!row) throw new AppError('INVALID_CREDENTIALS', 'The session has ended; sign in again');
      const value: Principal = { userId: row.id, username: row.username, role: row.role, permissions: ROLE_PERMISSIONS[row.role as Role], via: 'session', sessionId: claims.sid, profile: profileOf(row) };
      return { value, userId: row.id, sessionId: claims.sid };
    });
    return { ...principal };
  }

  async function fromApiToken(token: string): Promise<Principal> {
    const { principal, expiresAt } = await tokens.get(sha256(token), async () => {
      const row = await knex('api_tokens as t')
        .join('users as u', 'u.id', 't.user_id')
        .where('t.token_hash', sha256(token))
        .whereNull('t.revoked_at')
        .whereNull('u.deleted_at')
        .where('u.is_active', true)
        .first('t.id as token_id', 't.scopes', 't.expires_at', ...PROFILE);
      if (!row) throw new AppError('INVALID_CREDENTIALS', 'The API token is not valid');
      if (row.expires_at && new Date(row.expires_at) <= new Date()) throw expired();
      // last_used_at is kept to the minute; a cached check touches it again when the cache asks PostgreSQL next.
      await knex('api_tokens')
        .where({ id: row.token_id })
        .where((q) => q.whereNull('last_used_at').orWhere('last_used_at', '<', knex.raw("now() - interval '1 minute'")))
        .update({ last_used_at: knex.fn.now() });
      const value = {
        principal: { userId: row.id, username: row.username, role: row.role, permissions: effectivePermissions(row.role, row.scopes), via: 'api_token' as const, tokenId: row.token_id, profile: profileOf(row) },
        expiresAt: row.expires_at ? new Date(row.expires_at) : null,
      };
      return { value, userId: row.id, tokenId: row.token_id };
    });
    if (expiresAt && expiresAt <= new Date()) throw expired();
    return { ...principal };
  }

  async function fromSystemSecret(token: string, allowed: Array<'system_token' | 'server_token'>): Promise<Principal | null> {
    if (allowed.includes('server_token')) {
      if (await serverTokens.matches(token)) return systemPrincipal('server_token');
    }
    if (allowed.includes('system_token')) {
      const systemToken = await secrets.get(SECRET_NAMES.systemToken);
      if (systemToken && safeEqual(token, systemToken)) return systemPrincipal('system_token');
    }
    return null;
  }

  async function resolve(token: string, allowed: Array<'system_token' | 'server_token'>): Promise<Principal> {
    if (looksLikeJwt(token)) return fromJwt(token);
    if (token.startsWith(API_TOKEN_PREFIX)) return fromApiToken(token);
    const oauth = await oauthPrincipal(knex, token);
    if (oauth) return oauth;
    const system = await fromSystemSecret(token, allowed);
    if (system) return system;
    throw new AppError('INVALID_CREDENTIALS', 'The token is not valid');
  }

  return async (ctx: Koa.Context, from: 'header' | 'body') => {
    if (from === 'body') {
      const body = ((ctx.request as { body?: Record<string, unknown> }).body ?? {}) as Record<string, unknown>;
      if (typeof body.server_token === 'string' && body.server_token) {
        const p = await fromSystemSecret(body.server_token, ['server_token']);
        if (!p) throw new AppError('INVALID_CREDENTIALS', 'The server_token is not valid');
        return p;
      }
      if (typeof body.api_token === 'string' && body.api_token) return resolve(body.api_token, []);
    }
    const header = ctx.get('authorization');
    if (!header) return null;
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new AppError('INVALID_CREDENTIALS', 'Authorization must be "Bearer <token>"');
    return resolve(match[1], ['system_token']);
  };
}
