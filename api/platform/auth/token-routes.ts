import { z } from 'zod';
import { forbidden, notFound } from '../../../shared/platform/errors';
import { randomToken, sha256 } from '../../../shared/platform/crypto';
import { hasPermission, PERMISSIONS, type Permission } from '../../../shared/platform/permissions';
import { ApiToken } from '../../../db/models/platform/api-token';
import type { AppDeps } from '../deps';
import { API_TOKEN_PREFIX } from './credentials';
import { isAdmin, requirePermission, type Principal } from './principal';
import { route } from '../http/route';
import { dbId, idParams, iso } from '../http/schemas';
import { audit } from '../audit';

const tokenSchema = z.object({
  id: z.number(), user_id: z.number(), name: z.string(), prefix: z.string(), scopes: z.array(z.string()),
  expires_at: z.string().nullable(), last_used_at: z.string().nullable(), revoked_at: z.string().nullable(), created_at: z.string().nullable(),
});

const present = (t: ApiToken) => ({
  id: t.id, user_id: t.user_id, name: t.name, prefix: t.prefix, scopes: t.scopes,
  expires_at: iso(t.expires_at), last_used_at: iso(t.last_used_at), revoked_at: iso(t.revoked_at), created_at: iso(t.created_at),
});

/** The caller's own token, or anyone's for an admin; others' are a 404. */
async function visibleToken(principal: Principal, id: number) {
  const token = await ApiToken.query().findById(id);
  if (!token || (!isAdmin(principal) && token.user_id !== principal.userId)) throw notFound('api token', id);
  return token;
}

/**
 * The scopes a new token gets: never wider than the credential creating it. No scopes means the creator's own: for a
 * signed-in session that is the role (stored empty, so it follows the role), for a token its own permissions, written out.
 */
export function grantedScopes(creator: Principal, requested: Permission[]): Permission[] {
  const wider = requested.filter((s) => !hasPermission(creator.permissions, s));
  if (wider.length) throw forbidden(`A token cannot grant more than the credential creating it: this one lacks ${wider.join(', ')}`);
  if (requested.length) return requested;
  return creator.via === 'session' ? [] : creator.permissions;
}

export function tokenRoutes(deps: AppDeps) {
  const tags = ['tokens'];
  const requireUser = (p: Principal) => {
    if (p.userId === null) throw notFound('user', p.username);
    return p.userId;
  };
  return [
    route({
      method: 'get', path: '/tokens', tags, permission: 'view', summary: 'Your API tokens (admins: anyone’s with ?user_id=)',
      query: z.object({ user_id: dbId.optional() }),
      response: z.object({ tokens: z.array(tokenSchema) }),
      handler: async ({ principal, query }) => {
        const userId = query.user_id && isAdmin(principal) ? query.user_id : requireUser(principal);
        const tokens = await ApiToken.query().where({ user_id: userId }).orderBy('id');
        return { tokens: tokens.map(present) };
      },
    }),
    route({
      method: 'post', path: '/tokens', tags, permission: 'view', noStore: true, status: 201, summary: 'Create an API token; the token is shown once, in this answer only',
      body: z.object({
        name: z.string().min(1, 'is required').max(100),
        scopes: z.array(z.enum(PERMISSIONS)).max(PERMISSIONS.length).default([]),
        expires_in_days: z.number().int().min(1).max(3650).optional(),
      }),
      response: tokenSchema.extend({ token: z.string() }),
      message: 'API token created; store it now, it is not shown again',
      handler: async ({ caller, principal, body }) => {
        const userId = requireUser(principal);
        const scopes = grantedScopes(principal, body.scopes);
        const secret = `${API_TOKEN_PREFIX}${randomToken(30)}`;
        const token = await ApiToken.query().insertAndFetch({
          user_id: userId, name: body.name, prefix: secret.slice(0, 12), token_hash: sha256(secret), scopes,
          expires_at: body.expires_in_days ? new Date(Date.now() + body.expires_in_days * 86400_000) : null,
        });
        await audit(deps.knex, caller, { module: 'auth', action: 'token_create', message: `API token ${body.name} created`, resourceType: 'api_token', resourceId: token.id });
        return { ...present(token), token: secret };
      },
    }),
    route({
      method: 'delete', path: '/tokens/:id', tags, permission: 'view', summary: 'Revoke an API token', params: idParams, response: tokenSchema, message: 'API token revoked',
      handler: async ({ caller, principal, params }) => {
        const token = await visibleToken(principal, params.id);
        // A token may revoke itself; revoking other credentials is a deletion its scopes must allow.
        if (principal.via !== 'session' && principal.tokenId !== token.id) requirePermission(principal, 'delete');
        const revoked = token.revoked_at ? token : await ApiToken.query().patchAndFetchById(token.id, { revoked_at: new Date() });
        await audit(deps.knex, caller, { module: 'auth', action: 'token_revoke', message: `API token ${token.name} revoked`, resourceType: 'api_token', resourceId: token.id });
        return present(revoked);
      },
    }),
  ];
}
