import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { AppError, conflict, validationError } from '../../shared/platform/errors';
import { backupId as makeBackupId } from '../../shared/availability/backups';
import {
  backupById, backupTotals, failPendingBackup, insertPendingBackup, listBackups, runningBackups, type PlatformBackupRow,
} from '../../db/queries/availability/backups';
import { restoreUnderWay } from '../../db/queries/availability/restore-maintenance';
import { found } from '../../db/queries/platform/found';
import type { AppDeps } from '../platform/deps';
import type { Caller } from '../platform/caller';
import { audit } from '../platform/audit';
import { iso, paginateRows } from '../platform/http/schemas';
import { Reply } from '../platform/http/route';
import { presentOperation } from '../platform/operations/present';
import type { OperationService } from '../platform/operations/service';
import { platformBackupWorkflow, platformRestoreWorkflow } from '../../workflows/availability/backups';
import { createBackupInput, type createBackupBody, type createBackupQuery, type listBackupsQuery } from './schemas';

export function presentBackup(r: PlatformBackupRow, withParts = false) {
  return {
    id: r.id, name: r.name, type: r.type, status: r.status, created_at: iso(r.created_at), completed_at: iso(r.completed_at),
    size_bytes: r.size_bytes === null || r.size_bytes === undefined ? null : Number(r.size_bytes),
    file_path: r.file_path ? path.basename(r.file_path) : null, checksum: r.sha256 ?? null, checksum_algorithm: 'sha256' as const,
    operation_id: r.operation_id ?? null, schedule: r.schedule_id ?? null, metadata: r.metadata ?? {}, error: r.error ?? null,
    ...(withParts && r.manifest ? { parts: r.manifest.parts } : {}),
  };
}

/** Platform backups (seed 003 /backup/*): list, create and restore as operations, download, statistics. Admin only. */
export class BackupService {
  constructor(private readonly deps: AppDeps, private readonly operations: OperationService) {}

  private get knex() { return this.deps.knex; }

  backup(id: string): Promise<PlatformBackupRow> {
    return found(backupById(this.knex, id), 'backup', id);
  }

  async list(q: z.infer<typeof listBackupsQuery>) {
    const { rows, pagination } = await paginateRows<PlatformBackupRow>(listBackups(this.knex, q), q.page, q.size);
    return { backups: rows.map((r) => presentBackup(r)), pagination };
  }

  async get(id: string) {
    return presentBackup(await this.backup(id), true);
  }

  /** Seed 003 documents query parameters; a JSON body is read too, and wins. */
  static createInput(query: z.infer<typeof createBackupQuery>, body: z.infer<typeof createBackupBody>) {
    const merged = { name: body?.name ?? query.name, backup_type: body?.backup_type ?? body?.type ?? query.backup_type ?? query.type, metadata: body?.metadata };
    const parsed = createBackupInput.safeParse(merged);
    if (!parsed.success) throw validationError(parsed.error.issues.map((i) => ({ field: i.path.join('.') || 'body', message: i.message })));
    if (JSON.stringify(parsed.data.metadata).length > 10_000) throw validationError([{ field: 'metadata', message: 'must be at most 10000 characters of JSON' }]);
    return parsed.data;
  }

  async create(caller: Caller, input: z.infer<typeof createBackupInput>): Promise<Reply> {
    const id = makeBackupId(new Date(), crypto.randomBytes(3).toString('hex'));
    const started = await this.operations.start(caller, { action: 'backup', ...input }, async () => {
      await insertPendingBackup(this.knex, { id, name: input.name, type: input.backup_type, metadata: JSON.stringify(input.metadata), created_by: caller.principal.userId });
      return {
        type: 'availability.backup', resource: { type: 'backup', id, name: input.name, url: `/api/v1/backup/backups/${id}` },
        params: { backup_type: input.backup_type }, workflow: platformBackupWorkflow,
        input: { backupId: id, name: input.name, type: input.backup_type, createdBy: caller.principal.userId },
        summary: `Platform backup ${input.name} (${input.backup_type})`,
      };
    }).catch(async (err) => {
      await failPendingBackup(this.knex, id, (err as Error).message);
      throw err;
    });
    const resourceId = started.operation.resource_id;
    if (!started.replayed) await audit(this.knex, caller, { module: 'availability', action: 'backup_create', message: `Backup ${input.name} (${input.backup_type}) started`, resourceType: 'backup', resourceId });
    return this.accepted(started.operation, { message: started.replayed ? 'Backup already started for this Idempotency-Key' : 'Backup started', backup_id: resourceId, name: input.name, type: input.backup_type });
  }

  async restore(caller: Caller, id: string, targetDir: string | null): Promise<Reply> {
    const started = await this.operations.start(caller, { action: 'restore', id, target_dir: targetDir }, async () => {
      const row = await this.backup(id);
      if (row.status !== 'completed') throw conflict(`Backup ${id} is ${row.status}; only a completed backup can be restored`, { status: row.status });
      return {
        // One restore at a time, whichever backup: the resource is the platform itself.
        type: 'availability.restore', resource: { type: 'platform', id: 'restore', name: `restore of ${row.name}`, url: `/api/v1/backup/backups/${id}` },
        params: { backup_id: id, target_dir: targetDir }, workflow: platformRestoreWorkflow, input: { backupId: id, targetDir },
        summary: `Restore of platform backup ${row.name} (${id})`,
      };
    });
    const row = await this.backup(id);
    if (!started.replayed) await audit(this.knex, caller, { module: 'availability', action: 'backup_restore', message: `Restore of backup ${row.name} started`, resourceType: 'backup', resourceId: id, level: 'WARNING' });
    return this.accepted(started.operation, { message: 'Restore started', backup_id: id, backup_name: row.name });
  }

  private accepted(op: Parameters<typeof presentOperation>[0], data: Record<string, unknown>): Reply {
    const view = presentOperation(op);
    return new Reply({ ...data, operation: view }, { status: 202, message: String(data.message), headers: { Location: view.links.self } });
  }

  /** The archive as a stream (application/gzip), never read whole into memory. */
  async download(caller: Caller, id: string): Promise<Reply> {
    const row = await this.backup(id);
    if (row.status !== 'completed' || !row.file_path) throw conflict(`Backup ${id} is ${row.status}; only a completed backup can be downloaded`, { status: row.status });
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(row.file_path);
    } catch {
      throw new AppError('RESOURCE_NOT_FOUND', `The archive of backup ${id} is missing`, { resource: 'backup', id, reason: 'archive_missing' });
    }
    await audit(this.knex, caller, { module: 'availability', action: 'backup_download', message: `Backup ${row.name} downloaded`, resourceType: 'backup', resourceId: id });
    return new Reply(fs.createReadStream(row.file_path), {
      raw: true,
      headers: {
        'Content-Type': 'application/gzip', 'Content-Length': String(stat.size), 'Content-Disposition': `attachment; filename="${path.basename(row.file_path)}"`,
        'X-Checksum-SHA256': String(row.sha256), 'Cache-Control': 'no-store',
      },
    });
  }

  async maintenance() {
    const m = await restoreUnderWay(this.knex);
    return m ? { operation_id: m.operation_id, backup_id: m.backup_id, started_at: iso(m.started_at) } : null;
  }

  async stats(schedules: Record<string, unknown>) {
    const totals = await backupTotals(this.knex);
    const running = await runningBackups(this.knex);
    const bytes = totals.bytes;
    return {
      total_backups: totals.total, successful_backups: totals.ok, failed_backups: totals.failed, total_size_bytes: bytes, total_size_mb: Math.round((bytes / 1048576) * 100) / 100,
      schedules,
      running_backups: running.map((r) => ({ id: r.id, name: r.name, type: r.type, status: r.status, operation_id: r.operation_id ?? null, created_at: iso(r.created_at) })),
      retention: { keep_count: this.deps.config.backups.keepCount, keep_days: this.deps.system.settings.current.backup_retention },
      restore_in_progress: await this.maintenance(),
    };
  }
}
