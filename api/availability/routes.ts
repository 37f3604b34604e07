import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { route } from '../platform/http/route';
import { OperationService } from '../platform/operations/service';
import { BackupService } from './backups';
import { BackupScheduleService } from './schedules';
import {
  backupList, backupParams, backupSchema, createBackupBody, createBackupQuery, listBackupsQuery, restoreBody, restoreQuery, scheduleBody, scheduleParams,
  scheduleSchema, startedBackup, startedRestore, statsSchema,
} from './schemas';

/** Platform backups (seed 003 /backup/*) natively under /api/v1; admin actions, every one. */
export function availabilityRoutes(deps: AppDeps) {
  const backups = new BackupService(deps, new OperationService(deps));
  const schedules = new BackupScheduleService(deps);
  const tags = ['backups'];
  return [
    route({ method: 'get', path: '/backup/backups', tags, permission: 'admin', summary: 'Platform backups, newest first', query: listBackupsQuery, response: backupList, handler: ({ query }) => backups.list(query) }),
    route({
      method: 'post', path: '/backup/backups/create', tags, permission: 'admin', startsOperation: true, summary: 'Start a platform backup (full, database, files or config)',
      description: 'name and backup_type as query parameters (seed 003) or in a JSON body. A tar.gz with manifest.json (SHA-256 of every part), the pg_dump of the database, the data directory\'s user backups and the settings (never the master key).',
      query: createBackupQuery, body: createBackupBody, response: startedBackup,
      handler: ({ caller, query, body }) => backups.create(caller, BackupService.createInput(query, body)),
    }),
    route({ method: 'get', path: '/backup/backups/:id', tags, permission: 'admin', summary: 'A platform backup with its manifest\'s parts', params: backupParams, response: backupSchema, handler: ({ params }) => backups.get(params.id) }),
    route({
      method: 'post', path: '/backup/backups/:id/restore', tags, permission: 'admin', startsOperation: true, summary: 'Restore a platform backup (verified first; writes answer 503 while the database is restored)',
      description: 'target_dir (query or body): a folder inside the data directory for the files part instead of their own places. One restore at a time.',
      params: backupParams, query: restoreQuery, body: restoreBody, response: startedRestore,
      handler: ({ caller, params, query, body }) => backups.restore(caller, params.id, body?.target_dir ?? query.target_dir ?? null),
    }),
    route({
      method: 'get', path: '/backup/backups/:id/download', tags, permission: 'admin', summary: 'The backup archive (application/gzip, streamed)', params: backupParams,
      handler: ({ caller, params }) => backups.download(caller, params.id),
    }),
    route({ method: 'get', path: '/backup/stats', tags, permission: 'admin', summary: 'Backup counts and sizes, schedules, running backups, retention', response: statsSchema, handler: async () => backups.stats(await schedules.all()) }),
    route({ method: 'get', path: '/backup/schedules/:name', tags, permission: 'admin', summary: 'A backup schedule', params: scheduleParams, response: scheduleSchema, handler: ({ params }) => schedules.describe(params.name) }),
    route({
      method: 'put', path: '/backup/schedules/:name', tags, permission: 'admin', summary: 'Create or replace a backup schedule (a Temporal Schedule; cron in UTC)',
      params: scheduleParams, body: scheduleBody, response: scheduleSchema.extend({ name: z.string() }), message: 'Schedule saved',
      handler: ({ caller, params, body }) => schedules.put(caller, params.name, body),
    }),
    route({ method: 'delete', path: '/backup/schedules/:name', tags, permission: 'admin', summary: 'Delete a backup schedule', params: scheduleParams, response: z.object({ name: z.string(), deleted: z.boolean() }), message: 'Schedule deleted', handler: ({ caller, params }) => schedules.remove(caller, params.name) }),
  ];
}
