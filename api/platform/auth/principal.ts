import { hasPermission, type Permission, type Role } from '../../../shared/platform/permissions';
import { forbidden } from '../../../shared/platform/errors';
import type { Viewer } from '../../../db/queries/platform/scope';

/** The signed-in user's row as the session or token check read it (kept with the cached check; any change drops it). */
export interface UserProfile {
  id: number; username: string; email: string | null; full_name: string | null; role: Role; is_active: boolean; email_verified: boolean;
  last_login: Date | null; created_at: Date | null; updated_at: Date | null;
}

/** Who is calling: a signed-in user, a user's API token, or one of the system-level tokens of seeds 001/004. */
export interface Principal {
  userId: number | null;
  username: string;
  role: Role;
  permissions: Permission[];
  via: 'session' | 'api_token' | 'system_token' | 'server_token' | 'oauth';
  sessionId?: string;
  tokenId?: number;
  profile?: UserProfile;
  /** An OAuth access token's client. */
  oauthClientId?: string;
}

export const isAdmin = (p: Principal) => hasPermission(p.permissions, 'admin');

/**
 * Whether the caller holds `permission`: its permissions grant it, or it is `tokens` and the caller a signed-in session
 * (a user at a sign-in may always mint API tokens; a token only when its scopes name `tokens`).
 */
export const holds = (p: Principal, permission: Permission): boolean =>
  hasPermission(p.permissions, permission) || (permission === 'tokens' && p.via === 'session' && p.userId !== null);

/** Whether the caller is one of `roles` (`admin`: holds the admin permission, so an admin's narrowed token is not). */
export const inRole = (p: Principal, roles: readonly Role[]): boolean => roles.some((r) => (r === 'admin' ? isAdmin(p) : p.role === r));

export function requireRole(p: Principal, roles: readonly Role[]): void {
  if (!inRole(p, roles)) throw forbidden(`This action is for ${roles.map((r) => `${r}s`).join(', ').replace(/, ([^,]*)$/, ' and $1')}`);
}

export function requirePermission(p: Principal, permission: Permission): void {
  if (!holds(p, permission)) {
    throw forbidden(permission === 'tokens'
      ? "Minting API tokens needs a signed-in session, or a token whose scopes include 'tokens'"
      : `This action needs the '${permission}' permission`);
  }
}

/** Owners act on their own resources; admins on everyone's. */
export function requireOwnerOrAdmin(p: Principal, ownerId: number | null | undefined): void {
  if (isAdmin(p)) return;
  if (ownerId == null || p.userId !== ownerId) throw forbidden('You can only act on your own resources');
}

/** The store's view of a caller: whose rows it may read and change. */
export const viewerOf = (p: Principal): Viewer => ({ userId: p.userId, admin: isAdmin(p) });
