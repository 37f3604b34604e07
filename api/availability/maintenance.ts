import type { Knex } from 'knex';
import { AppError } from '../../shared/platform/errors';
import { restoreUnderWay } from '../../db/queries/availability/restore-maintenance';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * While a platform restore replaces the database (a row in restore_maintenance), every change answers 503 with what
 * is happening; reads go on. Deliberately small and named for restores: a general, settings-based maintenance mode is
 * a separate feature.
 */
export function restoreMaintenance(knex: Knex) {
  return async (ctx: { method: string }, next: () => Promise<unknown>): Promise<void> => {
    if (!SAFE.has(ctx.method)) {
      let active: { operation_id: string; backup_id: string } | undefined;
      try {
        active = await restoreUnderWay(knex);
      } catch {
        active = undefined; // before migrations, or the database away: the route answers for itself
      }
      if (active) {
        throw new AppError(
          'SERVICE_UNAVAILABLE',
          `The platform is being restored from backup ${active.backup_id}: changes are refused until the restore finishes (operation ${active.operation_id})`,
          { reason: 'restore_in_progress', operation_id: active.operation_id, backup_id: active.backup_id },
          { 'Retry-After': '30' },
        );
      }
    }
    await next();
  };
}
