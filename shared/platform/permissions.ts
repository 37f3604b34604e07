export const ROLES = ['admin', 'manager', 'user', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** Who may call a route beyond its permission (a route's `roles`): `admin` means holding the admin permission. */
export const MANAGERS: readonly Role[] = ['admin', 'manager'];
export const OPERATORS: readonly Role[] = ['admin', 'manager', 'viewer'];

/**
 * Permission names of seed 002, plus `*` for all of them, plus `tokens`: minting API tokens. `tokens` is a scope only:
 * no role lists it and `*` does not stand for it, so only a token whose scopes name it mints tokens (a signed-in
 * session always may: see `holds` in api/platform/auth/principal.ts).
 */
export const PERMISSIONS = ['view', 'create', 'update', 'delete', 'scheduler_view', 'scheduler_manage', 'admin', '*', 'tokens'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLE_PERMISSIONS: Record<Role, Permission[]> = {
  admin: ['*'],
  manager: ['view', 'create', 'update', 'delete', 'scheduler_view', 'scheduler_manage'],
  user: ['view', 'create', 'update', 'delete'],
  viewer: ['view', 'scheduler_view'],
};

/** The permissions `*` stands for: every one but `tokens`, which a credential carries only by name. */
const NAMED_ONLY: readonly Permission[] = ['tokens'];

export function hasPermission(granted: readonly string[], needed: Permission): boolean {
  return granted.includes(needed) || (granted.includes('*') && !NAMED_ONLY.includes(needed));
}

/**
 * Narrows a role's permissions by an API token's scopes (a token never grants more than its user has). A token without
 * scopes follows the role, which never includes `tokens`; a token whose scopes name `tokens` keeps it.
 */
export function effectivePermissions(role: Role, scopes?: readonly string[] | null): Permission[] {
  const base = ROLE_PERMISSIONS[role];
  if (!scopes || scopes.length === 0) return base;
  if (base.includes('*')) return scopes.filter((s): s is Permission => (PERMISSIONS as readonly string[]).includes(s));
  return [...base.filter((p) => scopes.includes(p) || scopes.includes('*')), ...NAMED_ONLY.filter((p) => scopes.includes(p))];
}
