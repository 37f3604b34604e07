import type { Knex } from 'knex';
import type { BackupType } from '../../../shared/availability/backups';

/** A row of `backup_schedules` (migration 012): the settings of a Temporal Schedule platform-backup-<name>. */
export interface BackupScheduleRow {
  name: string;
  frequency: string;
  cron: string;
  backup_type: BackupType;
  enabled: boolean;
  created_by: number | null;
  created_at: Date;
  updated_at: Date;
}

export type BackupScheduleSettings = Pick<BackupScheduleRow, 'frequency' | 'cron' | 'backup_type' | 'enabled'>;

export async function backupScheduleByName(knex: Knex, name: string): Promise<BackupScheduleRow | undefined> {
  return knex<BackupScheduleRow>('backup_schedules').where({ name }).first();
}

export async function allBackupSchedules(knex: Knex): Promise<BackupScheduleRow[]> {
  return knex<BackupScheduleRow>('backup_schedules').orderBy('name');
}

/** Creates a schedule's row, or changes its settings (its creator stays). */
export async function saveBackupSchedule(knex: Knex, name: string, settings: BackupScheduleSettings, createdBy: number | null): Promise<void> {
  const row = { ...settings, updated_at: knex.fn.now() };
  await knex('backup_schedules').insert({ name, ...row, created_by: createdBy }).onConflict('name').merge(row);
}

export async function deleteBackupSchedule(knex: Knex, name: string): Promise<void> {
  await knex('backup_schedules').where({ name }).delete();
}
