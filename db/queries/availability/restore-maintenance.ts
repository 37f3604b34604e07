import type { Knex } from 'knex';

/** A row of `restore_maintenance` (migration 012): there while a restore replaces the database. */
export interface RestoreMaintenanceRow {
  operation_id: string;
  backup_id: string;
  started_at: Date;
}

/** The restore under way, if any (the oldest, should there be two). */
export async function restoreUnderWay(knex: Knex): Promise<RestoreMaintenanceRow | undefined> {
  return knex<RestoreMaintenanceRow>('restore_maintenance').orderBy('started_at').first();
}
