/** Pure vocabulary of platform backups, shared by the API, workflows and activities. */
export const BACKUP_TYPES = ['full', 'database', 'files', 'config'] as const;
export type BackupType = (typeof BACKUP_TYPES)[number];
export const BACKUP_STATUSES = ['pending', 'running', 'completed', 'failed'] as const;

/** The parts each type of backup holds. */
export const PARTS_OF: Record<BackupType, Array<'database' | 'files' | 'config'>> = {
  full: ['database', 'files', 'config'],
  database: ['database'],
  files: ['files'],
  config: ['config'],
};

export const MANIFEST_FILE = 'manifest.json';
export const DATABASE_FILE = 'database.dump';
export const FORMAT = 'idcflow-platform-backup/1';

export interface ManifestPart { path: string; size: number; sha256: string }
export interface Manifest {
  format: string;
  backup_id: string;
  name: string;
  type: BackupType;
  created_at: string;
  /** HMAC fingerprint of the master key that sealed the database's secrets; never the key. */
  master_key_id: string;
  postgres: { server_version: string; pg_dump_version: string } | null;
  /** The migrations applied when the database was dumped: a restore needs the same schema version. */
  migrations?: string[];
  parts: ManifestPart[];
}

/**
 * Tables a database restore leaves as they are: the history of operations (the restore's own record included), the
 * log center's entries (what happened stays told, the restore included), the backups and their schedules (which live on
 * in Temporal), the maintenance flag, and the cluster's nodes (live processes, not history). Everything else returns to
 * the backup's moment.
 */
export const TABLES_KEPT_ON_RESTORE = ['operations', 'operation_events', 'log_entries', 'platform_backups', 'backup_schedules', 'restore_maintenance', 'cluster_nodes', 'console_gateways'];

/**
 * Why an archive member's path is refused, if it is: only plain relative paths below the archive's own folders.
 * Absolute paths, `..` segments, backslashes and NUL characters are refused, not rewritten.
 */
export function unsafeMemberPath(name: string): string | null {
  if (!name || name.includes('\0')) return 'empty or NUL in path';
  if (name.includes('\\')) return 'backslash in path';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'absolute path';
  const segments = name.replace(/\/+$/, '').split('/');
  if (segments.some((s) => s === '..')) return '".." in path';
  if (segments[0] !== MANIFEST_FILE && segments[0] !== DATABASE_FILE && segments[0] !== 'files' && segments[0] !== 'config') return 'outside the archive\'s folders';
  return null;
}

/** Backup ids are made by the platform: backup_YYYYMMDD_HHMMSS_<hex>. */
export const BACKUP_ID = /^backup_\d{8}_\d{6}_[0-9a-f]{6}$/;

export function backupId(now: Date, suffix: string): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `backup_${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}_${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}_${suffix}`;
}
