import type { z } from 'zod';
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { AppError, validationError } from '../../shared/platform/errors';
import {
  allBackupSchedules, backupScheduleByName, deleteBackupSchedule, saveBackupSchedule,
} from '../../db/queries/availability/backup-schedules';
import { found } from '../../db/queries/platform/found';
import { searchAttributeKeys } from '../../shared/platform/operations';
import type { AppDeps } from '../platform/deps';
import type { Caller } from '../platform/caller';
import { audit } from '../platform/audit';
import { iso } from '../platform/http/schemas';
import { scheduledPlatformBackupWorkflow } from '../../workflows/availability/backups';
import { FREQUENCIES, type scheduleBody } from './schemas';

const scheduleId = (name: string) => `platform-backup-${name}`;

/** Backup schedules: a Temporal Schedule each (platform-backup-<name>), with its settings kept in PostgreSQL. */
export class BackupScheduleService {
  constructor(private readonly deps: AppDeps) {}

  private get knex() { return this.deps.knex; }

  private action(name: string, backupType: string) {
    return {
      type: 'startWorkflow' as const, workflowType: scheduledPlatformBackupWorkflow, args: [{ schedule: name }] as [{ schedule: string }],
      taskQueue: this.deps.config.taskQueue, workflowId: `${scheduleId(name)}-run`, staticSummary: `Scheduled platform backup ${name} (${backupType})`,
      typedSearchAttributes: [
        { key: searchAttributeKeys.operationType, value: 'availability.backup' },
        { key: searchAttributeKeys.resourceType, value: 'backup' },
        { key: searchAttributeKeys.resourceId, value: scheduleId(name) },
      ],
    };
  }

  private refused(err: unknown): never {
    if (err instanceof AppError) throw err;
    const message = (err as Error).message ?? String(err);
    if (/cron|spec|invalid/i.test(message)) throw validationError([{ field: 'cron', message }], `Temporal refused the schedule: ${message}`);
    throw new AppError('SERVICE_UNAVAILABLE', `The workflow engine refused the schedule change: ${message}`);
  }

  /** Creates or replaces a schedule. */
  async put(caller: Caller, name: string, body: z.infer<typeof scheduleBody>) {
    const cron = body.frequency === 'custom' ? body.cron! : FREQUENCIES[body.frequency];
    const existing = await backupScheduleByName(this.knex, name);
    const spec = { cronExpressions: [cron] };
    const state = { paused: !body.enabled, note: `${body.enabled ? 'enabled' : 'disabled'} by ${caller.principal.username}` };
    try {
      if (existing) {
        try {
          await this.deps.temporal.schedule.getHandle(scheduleId(name)).update((prev) => ({ ...prev, spec, action: this.action(name, body.backup_type), state: { ...prev.state, ...state } }));
        } catch (err) {
          if (!(err instanceof ScheduleNotFoundError)) throw err;
          await this.create(name, cron, body.backup_type, state);
        }
      } else {
        await this.create(name, cron, body.backup_type, state);
      }
    } catch (err) {
      this.refused(err);
    }
    await saveBackupSchedule(this.knex, name, { frequency: body.frequency, cron, backup_type: body.backup_type, enabled: body.enabled }, caller.principal.userId);
    await audit(this.knex, caller, { module: 'availability', action: existing ? 'backup_schedule_update' : 'backup_schedule_create', message: `Backup schedule ${name}: ${body.backup_type} ${cron}${body.enabled ? '' : ' (disabled)'}`, resourceType: 'backup_schedule', resourceId: name });
    return { name, ...(await this.describe(name)) };
  }

  private create(name: string, cron: string, backupType: string, state: { paused: boolean; note: string }) {
    return this.deps.temporal.schedule.create({
      scheduleId: scheduleId(name), spec: { cronExpressions: [cron] }, action: this.action(name, backupType),
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' }, state,
    });
  }

  async remove(caller: Caller, name: string) {
    await found(backupScheduleByName(this.knex, name), 'backup schedule', name);
    try {
      await this.deps.temporal.schedule.getHandle(scheduleId(name)).delete();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) this.refused(err);
    }
    await deleteBackupSchedule(this.knex, name);
    await audit(this.knex, caller, { module: 'availability', action: 'backup_schedule_delete', message: `Backup schedule ${name} deleted`, resourceType: 'backup_schedule', resourceId: name });
    return { name, deleted: true };
  }

  /** One schedule as seed 003's stats show it, with the last and next run from Temporal (null when it cannot answer at once). */
  async describe(name: string) {
    const row = await found(backupScheduleByName(this.knex, name), 'backup schedule', name);
    let live: { last_run: string | null; next_run: string | null } = { last_run: null, next_run: null };
    try {
      const d = await this.deps.temporal.withDeadline(Date.now() + 2000, () => this.deps.temporal.schedule.getHandle(scheduleId(name)).describe());
      live = { last_run: iso(d.info.recentActions.at(-1)?.takenAt), next_run: row.enabled ? iso(d.info.nextActionTimes[0]) : null };
    } catch {
      // Temporal away: the stored settings still answer.
    }
    return { type: row.frequency, cron: row.cron, backup_type: row.backup_type, enabled: row.enabled, ...live };
  }

  async all(): Promise<Record<string, Awaited<ReturnType<BackupScheduleService['describe']>>>> {
    const rows = await allBackupSchedules(this.knex);
    const out: Record<string, Awaited<ReturnType<BackupScheduleService['describe']>>> = {};
    for (const r of rows) out[r.name] = await this.describe(r.name);
    return out;
  }
}
