import type { Knex } from 'knex';
import type { BackupType, Manifest } from '../../../shared/availability/backups';

/** A row of `platform_backups` (migration 012): an archive of the database, files and configuration. Admins only. */
export interface PlatformBackupRow {
  id: string;
  name: string;
  type: BackupType;
  status: 'pending' | 'running' | 'completed' | 'failed';
  operation_id: string | null;
  schedule_id: string | null;
  file_path: string | null;
  /** bigint: PostgreSQL's int8 arrives as text. */
  size_bytes: string | null;
  sha256: string | null;
  manifest: Manifest | null;
  metadata: Record<string, unknown>;
  error: string | null;
  created_by: number | null;
  created_at: Date;
  completed_at: Date | null;
}

export async function backupById(knex: Knex, id: string): Promise<PlatformBackupRow | undefined> {
  return knex<PlatformBackupRow>('platform_backups').where({ id }).first();
}

/** Backups newest first, optionally of one status or type: a query to paginate. */
export function listBackups(knex: Knex, f: { status?: string; type?: string }): Knex.QueryBuilder<PlatformBackupRow, PlatformBackupRow[]> {
  const q = knex<PlatformBackupRow>('platform_backups').orderBy('created_at', 'desc').orderBy('id', 'desc');
  if (f.status) q.where('status', f.status);
  if (f.type) q.where('type', f.type);
  return q;
}

/** The row the API makes for a backup it starts (the workflow marks it running). */
export async function insertPendingBackup(knex: Knex, row: Pick<PlatformBackupRow, 'id' | 'name' | 'type' | 'created_by'> & { metadata: string }): Promise<void> {
  await knex('platform_backups').insert({ ...row, status: 'pending' });
}

/** Marks a backup failed while it has not started (its operation could not start). */
export async function failPendingBackup(knex: Knex, id: string, error: string): Promise<void> {
  await knex('platform_backups').where({ id, status: 'pending' }).update({ status: 'failed', error, completed_at: knex.fn.now() });
}

/** How many backups there are, completed and failed, and the completed ones' bytes. */
export async function backupTotals(knex: Knex): Promise<{ total: number; ok: number; failed: number; bytes: number }> {
  const [totals] = await knex('platform_backups').select(
    knex.raw('count(*)::int AS total'), knex.raw("count(*) FILTER (WHERE status = 'completed')::int AS ok"),
    knex.raw("count(*) FILTER (WHERE status = 'failed')::int AS failed"), knex.raw("coalesce(sum(size_bytes) FILTER (WHERE status = 'completed'), 0)::bigint AS bytes"),
  );
  return { total: totals.total, ok: totals.ok, failed: totals.failed, bytes: Number(totals.bytes) };
}

/** Backups pending or running, oldest first. */
export async function runningBackups(knex: Knex): Promise<PlatformBackupRow[]> {
  return knex<PlatformBackupRow>('platform_backups').whereIn('status', ['pending', 'running']).orderBy('created_at');
}
