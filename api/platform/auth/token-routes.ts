import { z } from 'zod';
import { AppError, forbidden, notFound } from '../../../shared/platform/errors';
import { randomToken, sha256 } from '../../../shared/platform/crypto';
import { PERMISSIONS, type Permission } from '../../../shared/platform/permissions';
import { ApiTokens, type ApiTokenRow } from '../../../db/queries/platform/api-tokens';
import type { AppDeps } from '../deps';
import { API_TOKEN_PREFIX } from './credentials';
import { holds, isAdmin, requirePermission, viewerOf, type Principal } from './principal';
import { route } from '../http/route';
import { dbId, idParams, iso } from '../http/schemas';
import { audit } from '../audit';

const tokenSchema = z.object({
  id: z.number(), user_id: z.number(), name: z.string(), prefix: z.string(), scopes: z.array(z.string()),
  expires_at: z.string().nullable(), last_used_at: z.string().nullable(), revoked_at: z.string().nullable(), created_at: z.string().nullable(),
  parent_token_id: z.number().nullable().describe('The token that minted this one (null: made by a signed-in session); revoking it revokes this one'),
});

const present = (t: ApiTokenRow) => ({
  id: t.id, user_id: t.user_id, name: t.name, prefix: t.prefix, scopes: t.scopes,
  expires_at: iso(t.expires_at), last_used_at: iso(t.last_used_at), revoked_at: iso(t.revoked_at), created_at: iso(t.created_at),
  parent_token_id: t.parent_token_id ?? null,
});

/**
 * The scopes a new token gets: never wider than the credential creating it. No scopes means the creator's own: for a
 * signed-in session that is the role (stored empty, so it follows the role), for a token its own permissions, written out.
 * A session may also give `tokens`; a token only when it has it.
 */
export function grantedScopes(creator: Principal, requested: Permission[]): Permission[] {
  const wider = requested.filter((s) => !holds(creator, s));
  if (wider.length) throw forbidden(`A token cannot grant more than the credential creating it: this one lacks ${wider.join(', ')}`);
  if (requested.length) return requested;
  return creator.via === 'session' ? [] : creator.permissions;
}

const DAY_MS = 86400_000;

/**
 * When the new token expires: never after the token minting it. Without `expires_in_days` a child takes its parent's
 * expiry; asking for a later one is a 422 naming expires_in_days (nothing is shortened behind the caller's back).
 */
export function boundedExpiry(parentExpiry: Date | null, expiresInDays: number | undefined, now = Date.now()): Date | null {
  const wanted = expiresInDays ? new Date(now + expiresInDays * DAY_MS) : null;
  if (!parentExpiry) return wanted;
  if (!wanted) return parentExpiry;
  if (wanted > parentExpiry) {
    const message = `must not outlive the token creating it, which expires at ${parentExpiry.toISOString()} (at most ${Math.max(0, Math.floor((parentExpiry.getTime() - now) / DAY_MS))} days)`;
    throw new AppError('VALIDATION_ERROR', `expires_in_days ${message}`, { field: 'expires_in_days', errors: [{ field: 'expires_in_days', message }] });
  }
  return wanted;
}

export function tokenRoutes(deps: AppDeps) {
  const tags = ['tokens'];
  const store = new ApiTokens(deps.knex);
  const requireUser = (p: Principal) => {
    if (p.userId === null) throw notFound('user', p.username);
    return p.userId;
  };
  /** The caller's own token, or anyone's for an admin; others' are a 404. */
  const visibleToken = async (principal: Principal, id: number) => {
    const token = await store.find(viewerOf(principal), id);
    if (!token) throw notFound('api token', id);
    return token;
  };
  return [
    route({
      method: 'get', path: '/tokens', tags, permission: 'view', summary: 'Your API tokens (admins: anyone’s with ?user_id=)',
      query: z.object({ user_id: dbId.optional() }),
      response: z.object({ tokens: z.array(tokenSchema) }),
      handler: async ({ principal, query }) => {
        const userId = query.user_id && isAdmin(principal) ? query.user_id : requireUser(principal);
        const tokens = await store.list(viewerOf(principal), userId);
        return { tokens: tokens.map(present) };
      },
    }),
    route({
      method: 'post', path: '/tokens', tags, permission: 'tokens', noStore: true, status: 201, summary: 'Create an API token; the token is shown once, in this answer only',
      description: 'A signed-in session may always create tokens; an API token only when its scopes include `tokens` (a token without scopes follows its role, which never does). '
        + 'A token made by a token records it (`parent_token_id`), never expires after it (without `expires_in_days` it takes the parent\'s expiry; a later one is a 422 naming `expires_in_days`) and is revoked with it.',
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
        const parentId = principal.via === 'api_token' && principal.tokenId ? principal.tokenId : null;
        const secret = `${API_TOKEN_PREFIX}${randomToken(30)}`;
        const token = await store.insert(
          { user_id: userId, name: body.name, prefix: secret.slice(0, 12), token_hash: sha256(secret), scopes },
          parentId, (parentExpiry) => boundedExpiry(parentExpiry, body.expires_in_days),
        );
        if (!token) throw new AppError('INVALID_CREDENTIALS', 'The API token is not valid');
        await audit(deps.knex, caller, {
          module: 'auth', action: 'token_create', message: `API token ${body.name} created`, resourceType: 'api_token', resourceId: token.id,
          ...(parentId !== null ? { details: { parent_token_id: parentId } } : {}),
        });
        return { ...present(token), token: secret };
      },
    }),
    route({
      method: 'delete', path: '/tokens/:id', tags, permission: 'view', summary: 'Revoke an API token, and every token made from it',
      params: idParams, response: tokenSchema.extend({ descendants_revoked: z.number().describe('Tokens made from this one (and from those) revoked with it now') }), message: 'API token revoked',
      handler: async ({ caller, principal, params }) => {
        const token = await visibleToken(principal, params.id);
        // A token may revoke itself; revoking other credentials is a deletion its scopes must allow.
        if (principal.via !== 'session' && principal.tokenId !== token.id) requirePermission(principal, 'delete');
        const { token: revoked, descendants } = await store.revokeTree(token.id);
        await audit(deps.knex, caller, {
          module: 'auth', action: 'token_revoke', message: `API token ${token.name} revoked${descendants ? `, with ${descendants} made from it` : ''}`,
          resourceType: 'api_token', resourceId: token.id, details: { descendants_revoked: descendants },
        });
        return { ...present(revoked), descendants_revoked: descendants };
      },
    }),
  ];
}
