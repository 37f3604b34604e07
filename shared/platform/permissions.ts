export const ROLES = ['admin', 'manager', 'user', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** Permission names of seed 002, plus `*` for everything. */
export const PERMISSIONS = ['view', 'create', 'update', 'delete', 'scheduler_view', 'scheduler_manage', 'admin', '*'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLE_PERMISSIONS: Record<Role, Permission[]> = {
  admin: ['*'],
  manager: ['view', 'create', 'update', 'delete', 'scheduler_view', 'scheduler_manage'],
  user: ['view', 'create', 'update', 'delete'],
  viewer: ['view', 'scheduler_view'],
};

export function hasPermission(granted: readonly string[], needed: Permission): boolean {
  return granted.includes('*') || granted.includes(needed);
}

/** Narrows a role's permissions by an API token's scopes (a token never grants more than its user has). */
export function effectivePermissions(role: Role, scopes?: readonly string[] | null): Permission[] {
  const base = ROLE_PERMISSIONS[role];
  if (!scopes || scopes.length === 0) return base;
  if (base.includes('*')) return scopes.filter((s): s is Permission => (PERMISSIONS as readonly string[]).includes(s));
  return base.filter((p) => scopes.includes(p) || scopes.includes('*'));
}
