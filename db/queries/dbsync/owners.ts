import type { Knex } from 'knex';
import { ADMIN_VIEWER, type Viewer } from '../platform/scope';

/**
 * The viewer a background run acts as: the user who started it (their own rows only), or, for a row from before owners
 * were kept (no user), the platform (every row). A deleted or demoted user keeps only their own rows.
 */
export async function viewerForUser(knex: Knex | Knex.Transaction, userId: number | null): Promise<Viewer> {
  if (userId === null) return ADMIN_VIEWER;
  const user = await knex('users').where({ id: userId }).whereNull('deleted_at').first<{ role: string } | undefined>('role');
  return { userId, admin: user?.role === 'admin' };
}
