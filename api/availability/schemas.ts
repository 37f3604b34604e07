import { z } from 'zod';
import { BACKUP_ID, BACKUP_STATUSES, BACKUP_TYPES } from '../../shared/availability/backups';
import { pageQuery, pagination } from '../platform/http/schemas';
import { operationSchema } from '../platform/operations/present';

const name = z.string().trim().min(1).max(200);
const backupType = z.enum(BACKUP_TYPES);

/** Seed 003 sends these as query parameters; a JSON body is accepted too (it wins). `type` is read as `backup_type`. */
export const createBackupInput = z.object({
  name,
  backup_type: backupType.default('full'),
  metadata: z.record(z.string(), z.unknown()).default({}),
});
export const createBackupQuery = z.object({ name: z.string().max(200).optional(), backup_type: z.string().max(20).optional(), type: z.string().max(20).optional() });
export const createBackupBody = z.object({ name: z.unknown().optional(), backup_type: z.unknown().optional(), type: z.unknown().optional(), metadata: z.unknown().optional() }).optional();

/** A folder relative to the data directory, never leaving it. */
const targetDir = z.string().min(1).max(500).refine((v) => !v.startsWith('/') && !v.split(/[\\/]/).includes('..') && !v.includes('\0'), 'must be a folder inside the data directory (relative, without "..")');
export const restoreQuery = z.object({ target_dir: targetDir.optional() });
export const restoreBody = z.object({ target_dir: targetDir.optional() }).strict().optional();

export const backupParams = z.object({ id: z.string().regex(BACKUP_ID, 'must be a backup id (backup_YYYYMMDD_HHMMSS_xxxxxx)') });
export const listBackupsQuery = pageQuery.extend({ status: z.enum(BACKUP_STATUSES).optional(), type: backupType.optional() });

export const FREQUENCIES = { hourly: '0 * * * *', daily: '0 3 * * *', weekly: '0 3 * * 0' } as const;
const cronField = /^(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*$/;
export const scheduleParams = z.object({ name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - (at most 64)') });
export const scheduleBody = z.object({
  frequency: z.enum(['hourly', 'daily', 'weekly', 'custom']).default('daily'),
  cron: z.string().trim().max(100).refine((c) => { const f = c.split(/\s+/); return f.length === 5 && f.every((x) => cronField.test(x)); }, 'must be a five-field cron expression (minute hour day month weekday, UTC)').optional(),
  backup_type: backupType.default('full'),
  enabled: z.boolean().default(true),
}).strict().refine((b) => b.frequency !== 'custom' || b.cron, { message: 'is required when frequency is custom', path: ['cron'] });

export const backupSchema = z.object({
  id: z.string(), name: z.string(), type: z.string(), status: z.string(), created_at: z.string().nullable(), completed_at: z.string().nullable(),
  size_bytes: z.number().nullable(), file_path: z.string().nullable(), checksum: z.string().nullable(), checksum_algorithm: z.literal('sha256'),
  operation_id: z.string().nullable(), schedule: z.string().nullable(), metadata: z.record(z.string(), z.unknown()), error: z.string().nullable(),
  parts: z.array(z.object({ path: z.string(), size: z.number(), sha256: z.string() })).optional(),
});
export const backupList = z.object({ backups: z.array(backupSchema), pagination });
export const startedBackup = z.object({ message: z.string(), backup_id: z.string(), name: z.string(), type: z.string(), operation: operationSchema });
export const startedRestore = z.object({ message: z.string(), backup_id: z.string(), backup_name: z.string(), operation: operationSchema });
export const scheduleSchema = z.object({
  type: z.string(), cron: z.string(), backup_type: z.string(), enabled: z.boolean(), last_run: z.string().nullable(), next_run: z.string().nullable(),
});
export const statsSchema = z.object({
  total_backups: z.number(), successful_backups: z.number(), failed_backups: z.number(), total_size_bytes: z.number(), total_size_mb: z.number(),
  schedules: z.record(z.string(), scheduleSchema),
  running_backups: z.array(z.object({ id: z.string(), name: z.string(), type: z.string(), status: z.string(), operation_id: z.string().nullable(), created_at: z.string().nullable() })),
  retention: z.object({ keep_count: z.number(), keep_days: z.number() }),
  restore_in_progress: z.object({ operation_id: z.string(), backup_id: z.string(), started_at: z.string().nullable() }).nullable(),
});
export { operationSchema };
