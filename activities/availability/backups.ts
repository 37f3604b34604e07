import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { ActivityDeps } from '../platform/deps';
import { fail, heartbeating } from '../platform/failure';
import { faultPoint } from '../platform/fault-injection';
import {
  DATABASE_FILE, FORMAT, MANIFEST_FILE, PARTS_OF, TABLES_KEPT_ON_RESTORE, type BackupType, type Manifest,
} from '../../shared/availability/backups';
import type { Config } from '../../shared/platform/config';
import { ArchiveRefused, describeParts, extractArchive, packArchive, placeInside, regularFiles, sha256File, verifyArchive } from './archive';
import { checkPgTools, pgEnv, runPgTool } from './pg-tools';
import { publishSystemSettings, readSystemSettings } from '../system/live-settings';
import { notify } from '../../db/notifications';
import { CREDENTIALS_CHANNEL } from '../../shared/platform/credential-changes';

/** The data directory's folder of user backups: the files part of a platform backup. */
const FILES_FROM = 'backups';

/** A fingerprint of the master key, so a restore can tell whether this key can open the backup's sealed secrets. */
export const masterKeyId = (key: Buffer) => crypto.createHmac('sha256', key).update('idcflow platform backup key id').digest('hex').slice(0, 16);

/** The platform's settings as an operator needs them to rebuild it; no secret (keys, tokens, passwords) is written. */
function settingsOf(config: Config) {
  const db = config.databaseUrl ? new URL(config.databaseUrl) : null;
  if (db) db.password = '';
  return {
    env: config.env, host: config.host, port: config.port, database: db ? db.toString() : 'embedded', temporal_address: config.temporalAddress,
    temporal_namespace: config.temporalNamespace, task_queue: config.taskQueue, data_dir: config.dataDir, backups: { dir: config.backups.dir, keep_count: config.backups.keepCount, keep_days: config.backups.keepDays },
    access_token_ttl: config.accessTokenTtl, refresh_token_ttl: config.refreshTokenTtl, login: config.login, cors_origins: config.corsOrigins,
    operation_wait_seconds: config.operationWaitSeconds, mail_from: config.mailFrom, smtp_configured: Boolean(config.smtpUrl), server_token_configured: Boolean(config.serverToken),
    dbsync: config.dbsync, compute: config.compute, console: config.console,
    master_key_id: masterKeyId(config.masterKey),
  };
}

const attempt = () => { try { return Context.current().info.attempt; } catch { return 1; } };
const restoreAppName = (operationId: string) => `idcflow-restore:${operationId}`.slice(0, 63);

export function createAvailabilityActivities({ knex, config, logger }: ActivityDeps) {
  // Read when called: the layout test builds every factory with an empty configuration.
  const dir = () => config.backups.dir;
  const stagingRoot = () => path.join(dir(), '.staging');
  const restoreDir = (operationId: string) => path.join(dir(), '.restore', operationId.replace(/[^A-Za-z0-9._-]/g, '_'));

  async function removeStaging(backupId: string) {
    const names = await fs.promises.readdir(stagingRoot()).catch(() => [] as string[]);
    for (const n of names) if (n.startsWith(`${backupId}-`)) await fs.promises.rm(path.join(stagingRoot(), n), { recursive: true, force: true });
  }

  /** The target's real path (through any link on the way, checked from its deepest existing folder) stays inside the data directory. */
  async function insideDataDir(target: string) {
    const root = await fs.promises.realpath(config.dataDir);
    let existing = target;
    while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
    const real = await fs.promises.realpath(existing);
    if (real !== root && !real.startsWith(root + path.sep)) throw new ArchiveRefused(`target_dir leads out of the data directory (to ${real}) through a link`, { reason: 'unsafe_paths', field: 'target_dir' });
  }

  const appliedMigrations = async () => (await knex('knex_migrations').orderBy('name').select('name')).map((r) => r.name as string);

  async function backupRow(backupId: string) {
    const row = await knex('platform_backups').where({ id: backupId }).first();
    if (!row) throw fail(`Backup ${backupId} not found`, 'RESOURCE_NOT_FOUND', { resource: 'backup', id: backupId });
    return row;
  }

  return {
    /** The backup's row, made by the API or, for a scheduled run, here; marked running. */
    async recordBackupStarted(e: { backupId: string; name: string; type: BackupType; operationId: string; scheduleName: string | null; createdBy: number | null }): Promise<void> {
      await knex('platform_backups').insert({ id: e.backupId, name: e.name, type: e.type, status: 'pending', operation_id: e.operationId, schedule_id: e.scheduleName, created_by: e.createdBy }).onConflict('id').ignore();
      await knex('platform_backups').where({ id: e.backupId }).whereIn('status', ['pending', 'running']).update({ status: 'running', operation_id: e.operationId });
    },

    /**
     * Dumps the database with pg_dump of the server's major version, copies the user backups and the settings, writes
     * the manifest with every part's SHA-256, and packs a tar.gz. Each attempt stages in its own folder, so a retry after
     * a crash never mixes with what a killed attempt left; a backup already written is answered as it is.
     */
    async writePlatformBackup({ backupId }: { backupId: string }): Promise<{ file: string; size_bytes: number; sha256: string; parts: number }> {
      const row = await backupRow(backupId);
      if (row.status === 'completed') return { file: row.file_path, size_bytes: Number(row.size_bytes), sha256: row.sha256, parts: (row.manifest?.parts ?? []).length };
      const parts = PARTS_OF[row.type as BackupType];
      const staging = path.join(stagingRoot(), `${backupId}-${attempt()}`);
      await fs.promises.rm(staging, { recursive: true, force: true });
      await fs.promises.mkdir(staging, { recursive: true, mode: 0o700 });
      return heartbeating(async () => {
        let postgres: Manifest['postgres'] = null;
        let migrations: string[] | undefined;
        if (parts.includes('database')) {
          postgres = await checkPgTools(knex, config.backups.pgBinDir);
          migrations = await appliedMigrations();
          await runPgTool(config.backups.pgBinDir, 'pg_dump', ['--format=custom', '--compress=6', '--no-owner', '--no-privileges', '--file', path.join(staging, DATABASE_FILE)], pgEnv(config.databaseUrl, `idcflow-backup:${backupId}`));
        }
        if (parts.includes('files')) {
          const from = path.join(config.dataDir, FILES_FROM);
          for (const f of await regularFiles(from)) {
            await fs.promises.mkdir(path.dirname(path.join(staging, 'files', FILES_FROM, f)), { recursive: true });
            await fs.promises.copyFile(path.join(from, f), path.join(staging, 'files', FILES_FROM, f));
          }
        }
        if (parts.includes('config')) {
          await fs.promises.mkdir(path.join(staging, 'config'), { recursive: true });
          await fs.promises.writeFile(path.join(staging, 'config', 'settings.json'), JSON.stringify(settingsOf(config), null, 2));
        }
        await faultPoint('writePlatformBackup.staged');
        const files = await regularFiles(staging);
        const manifest: Manifest = {
          format: FORMAT, backup_id: backupId, name: row.name, type: row.type, created_at: new Date(row.created_at).toISOString(),
          master_key_id: masterKeyId(config.masterKey), postgres, ...(migrations ? { migrations } : {}), parts: await describeParts(staging, files),
        };
        await fs.promises.writeFile(path.join(staging, MANIFEST_FILE), JSON.stringify(manifest, null, 2));
        const file = path.join(dir(), `${backupId}_${row.type}.tar.gz`);
        await packArchive(staging, files, file);
        const size = (await fs.promises.stat(file)).size;
        const sha256 = await sha256File(file);
        await knex('platform_backups').where({ id: backupId }).update({ status: 'completed', file_path: file, size_bytes: size, sha256, manifest: JSON.stringify(manifest), completed_at: knex.fn.now(), error: null });
        await removeStaging(backupId);
        return { file, size_bytes: size, sha256, parts: manifest.parts.length };
      });
    },

    /** Undo of a backup that failed: its partial files go, its row says why. */
    async markBackupFailed({ backupId, error }: { backupId: string; error: string }): Promise<void> {
      await removeStaging(backupId);
      const row = await knex('platform_backups').where({ id: backupId }).first();
      if (row?.status === 'completed') return;
      for (const f of await fs.promises.readdir(dir()).catch(() => [] as string[])) if (f.startsWith(`${backupId}_`)) await fs.promises.rm(path.join(dir(), f), { force: true });
      await knex('platform_backups').where({ id: backupId }).update({ status: 'failed', error, completed_at: knex.fn.now() });
    },

    /**
     * Retention: completed backups beyond the newest `keepCount`, and backups older than the system setting
     * `backup_retention` (days; default IDCFLOW_BACKUP_KEEP_DAYS), are deleted with their archives; the newest
     * completed backup is always kept.
     */
    async prunePlatformBackups({ keep }: { keep: string }): Promise<string[]> {
      const rows = await knex('platform_backups').whereIn('status', ['completed', 'failed']).orderBy('created_at', 'desc').orderBy('id', 'desc');
      const cutoff = Date.now() - (await readSystemSettings(knex, config)).backup_retention * 86_400_000;
      const newestCompleted = rows.find((r) => r.status === 'completed')?.id;
      let kept = 0;
      const doomed: Array<{ id: string; file_path: string | null }> = [];
      for (const r of rows) {
        if (r.id === keep || r.id === newestCompleted) { if (r.status === 'completed') kept++; continue; }
        const old = new Date(r.created_at).getTime() < cutoff;
        if (r.status === 'completed' && !old && kept < config.backups.keepCount) { kept++; continue; }
        if (r.status === 'failed' && !old) continue;
        doomed.push(r);
      }
      for (const r of doomed) {
        if (r.file_path) await fs.promises.rm(r.file_path, { force: true });
        await knex('platform_backups').where({ id: r.id }).delete();
      }
      if (doomed.length) logger.info({ deleted: doomed.map((r) => r.id) }, 'platform backups pruned');
      return doomed.map((r) => r.id);
    },

    /**
     * Before anything is touched: the archive's SHA-256 against the one recorded when it was written, every member's
     * path and type, every part against the manifest, and the master key; then the parts are extracted into a private
     * folder for the next steps.
     */
    async verifyPlatformBackup({ backupId, operationId }: { backupId: string; operationId: string }): Promise<{ parts: string[]; database: boolean; files: number; config: boolean }> {
      const row = await backupRow(backupId);
      if (row.status !== 'completed' || !row.file_path) throw fail(`Backup ${backupId} is ${row.status}, not completed`, 'CONFLICT', { status: row.status });
      if (!fs.existsSync(row.file_path)) throw fail(`The archive of backup ${backupId} is missing (${path.basename(row.file_path)})`, 'RESOURCE_NOT_FOUND', { reason: 'archive_missing' });
      return heartbeating(async () => {
        const actual = await sha256File(row.file_path);
        if (actual !== row.sha256) throw fail(`The archive of backup ${backupId} is corrupted: its SHA-256 differs from the one recorded when it was written; nothing was restored`, 'VALIDATION_ERROR', { reason: 'checksum_mismatch', expected: row.sha256, actual });
        let manifest: Manifest;
        try {
          manifest = await verifyArchive(row.file_path);
        } catch (err) {
          if (err instanceof ArchiveRefused) throw fail(`Backup ${backupId} refused, nothing was restored: ${err.message}`, 'VALIDATION_ERROR', err.details);
          throw err;
        }
        if (manifest.backup_id !== backupId) throw fail(`The archive belongs to backup ${manifest.backup_id}, not ${backupId}`, 'VALIDATION_ERROR', { reason: 'wrong_archive' });
        const database = manifest.parts.some((p) => p.path === DATABASE_FILE);
        if (database && manifest.master_key_id !== masterKeyId(config.masterKey)) {
          throw fail(`Backup ${backupId} holds secrets sealed with another master key (id ${manifest.master_key_id}); start the platform with that IDCFLOW_MASTER_KEY to restore it`, 'CONFLICT', { reason: 'master_key_differs', master_key_id: manifest.master_key_id });
        }
        if (database && manifest.migrations) {
          const current = await appliedMigrations();
          if (JSON.stringify(current) !== JSON.stringify(manifest.migrations)) {
            const missing = manifest.migrations.filter((m) => !current.includes(m));
            const added = current.filter((m) => !manifest.migrations!.includes(m));
            throw fail(`Backup ${backupId} was taken at another schema version (${added.length ? `migrations since: ${added.join(', ')}` : ''}${added.length && missing.length ? '; ' : ''}${missing.length ? `migrations this platform lacks: ${missing.join(', ')}` : ''}); restore it with the release that made it`, 'CONFLICT', { reason: 'schema_version_differs', added, missing });
          }
        }
        await extractArchive(row.file_path, restoreDir(operationId));
        return {
          parts: manifest.parts.map((p) => p.path), database,
          files: manifest.parts.filter((p) => p.path.startsWith('files/')).length, config: manifest.parts.some((p) => p.path.startsWith('config/')),
        };
      });
    },

    async setRestoreMaintenance({ operationId, backupId }: { operationId: string; backupId: string }): Promise<void> {
      await knex('restore_maintenance').insert({ operation_id: operationId, backup_id: backupId }).onConflict('operation_id').ignore();
    },

    async clearRestoreMaintenance({ operationId }: { operationId: string }): Promise<void> {
      await knex('restore_maintenance').where({ operation_id: operationId }).delete();
    },

    /**
     * pg_restore of the staged dump in one transaction (--single-transaction --clean): the database is the backup's or,
     * if anything fails or the worker dies, still the one before. The history tables (TABLES_KEPT_ON_RESTORE) are left
     * out. A restore a killed attempt left running is ended first, so two never race.
     */
    async restorePlatformDatabase({ operationId }: { operationId: string }): Promise<{ entries: number; kept: string[] }> {
      const dump = path.join(restoreDir(operationId), DATABASE_FILE);
      if (!fs.existsSync(dump)) throw fail('The verified parts are gone; verify the backup again', 'CONFLICT', { reason: 'staging_missing' });
      const appName = restoreAppName(operationId);
      await knex.raw('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ? AND pid <> pg_backend_pid()', [appName]);
      return heartbeating(async () => {
        for (let i = 0; i < 100; i++) {
          const left = await knex.raw('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = ?', [appName]);
          if (left.rows[0].n === 0) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        await checkPgTools(knex, config.backups.pgBinDir);
        const listing = await runPgTool(config.backups.pgBinDir, 'pg_restore', ['--list', dump], { PATH: process.env.PATH });
        const keptTable = (line: string) => line.split(/\s+/).some((tok) => TABLES_KEPT_ON_RESTORE.some((t) => tok === t || tok.startsWith(`${t}_`)));
        const lines = listing.split('\n').filter((l) => l.trim() && !l.startsWith(';'));
        const chosen = lines.filter((l) => !keptTable(l));
        const listFile = path.join(restoreDir(operationId), 'restore.list');
        await fs.promises.writeFile(listFile, chosen.join('\n') + '\n');
        await runPgTool(config.backups.pgBinDir, 'pg_restore', [
          '--clean', '--if-exists', '--single-transaction', '--no-owner', '--no-privileges', '--use-list', listFile, '--dbname', pgEnv(config.databaseUrl, appName).PGDATABASE!, dump,
        ], pgEnv(config.databaseUrl, appName));
        // The restored system settings reach every running process now, not at its next reconnect.
        await publishSystemSettings(knex, config);
        // Users, sessions and tokens were replaced whole (no row triggers fire): every API replica drops its checks.
        await notify(knex, CREDENTIALS_CHANNEL, { kind: 'all' });
        return { entries: chosen.length, kept: TABLES_KEPT_ON_RESTORE };
      });
    },

    /** The files part back into the data directory (or `targetDir` inside it), the settings beside them; never outside. */
    async restorePlatformFiles({ operationId, backupId, targetDir }: { operationId: string; backupId: string; targetDir: string | null }): Promise<{ files: number; target: string }> {
      const staged = restoreDir(operationId);
      const target = targetDir ? path.resolve(config.dataDir, targetDir) : config.dataDir;
      if (target !== config.dataDir && !target.startsWith(config.dataDir + path.sep)) throw fail('target_dir must stay inside the data directory', 'VALIDATION_ERROR', { field: 'target_dir' });
      let count = 0;
      try {
        await insideDataDir(target);
        await fs.promises.mkdir(target, { recursive: true });
        await insideDataDir(target);
        for (const f of await regularFiles(path.join(staged, 'files'))) { await placeInside(target, f, path.join(staged, 'files', f)); count++; }
        for (const f of await regularFiles(path.join(staged, 'config'))) { await placeInside(target, path.join('restored-config', backupId, f), path.join(staged, 'config', f)); count++; }
      } catch (err) {
        if (err instanceof ArchiveRefused) throw fail(err.message, 'VALIDATION_ERROR', err.details);
        throw err;
      }
      return { files: count, target };
    },

    async cleanupRestoreStaging({ operationId }: { operationId: string }): Promise<void> {
      await fs.promises.rm(restoreDir(operationId), { recursive: true, force: true });
    },

    /** What a scheduled run makes. */
    async loadBackupSchedule({ name }: { name: string }): Promise<{ backup_type: BackupType; created_by: number | null } | null> {
      const row = await knex('backup_schedules').where({ name }).first();
      return row ? { backup_type: row.backup_type, created_by: row.created_by } : null;
    },
  };
}

export type AvailabilityActivities = ReturnType<typeof createAvailabilityActivities>;
