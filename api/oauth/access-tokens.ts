import type { Knex } from 'knex';
import type { Role } from '../../shared/platform/permissions';
import { permissionsForScopes } from '../../shared/oauth/scopes';
import type { Principal } from '../platform/auth/principal';

/** oidc-provider's opaque tokens: 43 base64url characters. */
const OPAQUE = /^[A-Za-z0-9_-]{43}$/;

/**
 * The caller an OAuth access token stands for, or null when it is none (unknown, expired, revoked, inactive client):
 * its user (a client credentials token: its client's owner), with the permissions its scopes map to.
 */
export async function oauthPrincipal(knex: Knex, token: string): Promise<Principal | null> {
  if (!OPAQUE.test(token)) return null;
  const row = await knex('oauth_payloads as p')
    .join('oauth_clients as c', 'c.client_id', knex.raw("p.payload->>'clientId'"))
    .whereIn('p.kind', ['AccessToken', 'ClientCredentials'])
    .where('p.id', token)
    .where('p.expires_at', '>', knex.fn.now())
    .where('c.is_active', true)
    .first('p.kind', 'p.payload', 'c.owner_id', 'c.client_id');
  if (!row) return null;
  const userId = row.kind === 'AccessToken' ? Number(row.payload.accountId) : row.owner_id;
  if (!userId) return null;
  const user = await knex('users').where({ id: userId, is_active: true }).whereNull('deleted_at').first('id', 'username', 'role');
  if (!user) return null;
  return {
    userId: user.id,
    username: user.username,
    role: user.role,
    permissions: permissionsForScopes(user.role as Role, String(row.payload.scope ?? '')),
    via: 'oauth',
    oauthClientId: row.client_id,
  };
}
