import { hasPermission, type Permission, type Role, ROLE_PERMISSIONS } from '../platform/permissions';

/** OpenID Connect's own scopes. */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

/** Scopes for the idcflow API, and the permissions each grants (never more than the user's role has). */
export const API_SCOPE_PERMISSIONS: Record<string, Permission[]> = {
  read: ['view', 'scheduler_view'],
  write: ['create', 'update', 'delete', 'scheduler_manage'],
  admin: ['*'],
};

export const OFFERED_SCOPES = [...OIDC_SCOPES, ...Object.keys(API_SCOPE_PERMISSIONS)];
export const OFFERED_GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;

/** The permissions an OAuth access token carries: its scopes' permissions that the user's role has. */
export function permissionsForScopes(role: Role, scope: string): Permission[] {
  const wanted = new Set(scope.split(' ').flatMap((s) => API_SCOPE_PERMISSIONS[s] ?? []));
  if (wanted.has('*')) return hasPermission(ROLE_PERMISSIONS[role], '*') ? ['*'] : ROLE_PERMISSIONS[role];
  return ROLE_PERMISSIONS[role].includes('*') ? [...wanted] : ROLE_PERMISSIONS[role].filter((p) => wanted.has(p));
}

/** Loopback hosts, where a redirect URI may use plain http (RFC 8252). */
const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Why a redirect URI is refused, or null: absolute https (http only for loopback), no fragment, no credentials. */
export function redirectUriProblem(uri: string): string | null {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'must be an absolute URL';
  }
  if (uri.includes('#')) return 'must not have a fragment';
  if (url.username || url.password) return 'must not carry credentials';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return null;
  return 'must use https (http only for a loopback address)';
}
