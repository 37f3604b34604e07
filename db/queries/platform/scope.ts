import type { Knex } from 'knex';

/**
 * Who reads or writes a row: an admin sees every row, everyone else only the rows they own. The store's owner-scoped
 * queries take one; the API makes it from the caller (`viewerOf` in api/platform/auth/principal.ts), activities from
 * the operation's owner.
 */
export interface Viewer {
  userId: number | null;
  admin: boolean;
}

export const ADMIN_VIEWER: Viewer = { userId: null, admin: true };

/** Limits a query to the rows `viewer` may see, by the table's owner column: "who may see this row", written once. */
export function ownedBy<T extends Knex.QueryBuilder>(query: T, viewer: Viewer, ownerColumn: string): T {
  if (viewer.admin) return query;
  return query.where(ownerColumn, viewer.userId ?? -1) as T;
}
