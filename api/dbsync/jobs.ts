import crypto from 'node:crypto';
import { z } from 'zod';
import { ScheduleNotFoundError, ScheduleOverlapPolicy,  type CalendarSpec } from '@temporalio/client';
import { AppError,  notFound, validationError } from '../../shared/platform/errors';
import { CronError, parseCron } from '../../shared/dbsync/cron';
import { searchAttributeKeys } from '../../shared/platform/operations';
import type { AppDeps } from '../platform/deps';
import {   iso } from '../platform/http/schemas';
import type { Caller } from '../platform/caller';
import { scheduledJobWorkflow } from '../../workflows/dbsync/runbooks';
import type { Viewer } from '../../db/queries/platform/scope';
import { deleteJob, findJob, insertJob, jobRuns, updateJob, visibleJobs, type JobPatch, type JobRow } from '../../db/queries/dbsync/jobs';
import { missingInstances } from '../../db/queries/dbsync/instances';
import { viewerOf } from '../platform/auth/principal';

import { DbsyncBase } from './base';
import {
         jobBody, jobUpdate,  pageRows,   type ListQuery, type Row } from './schemas';
import {
        presentJob } from './presenters';

/** Jobs: Temporal Schedules that run syncs and classifications, with their history. */
export class JobService extends DbsyncBase {
  constructor(deps: AppDeps) {
    super(deps);
  }

  // ----- jobs (Temporal Schedules) -----
  private parseSchedule(schedule: string) {
    try {
      return parseCron(schedule);
    } catch (err) {
      if (err instanceof CronError) throw validationError([{ field: `schedule.${err.field}`, message: err.message }], `Invalid cron expression: ${err.message}`);
      throw err;
    }
  }

  private scheduleSpec(calendars: unknown, timezone: string) {
    return { calendars: calendars as CalendarSpec[], timezone };
  }

  /** What each firing starts; runs are findable in the Temporal UI by workflow id prefix and search attributes. */
  private scheduleAction(jobId: string, name: string, taskType: string) {
    return {
      type: 'startWorkflow' as const, workflowType: scheduledJobWorkflow, args: [{ jobId }] as [{ jobId: string }], taskQueue: this.deps.config.taskQueue, workflowId: `${jobId}-run`,
      staticSummary: `Scheduled job ${name} (${taskType})`.slice(0, 190),
      typedSearchAttributes: [
        { key: searchAttributeKeys.operationType, value: `dbsync.job.${taskType}` },
        { key: searchAttributeKeys.resourceType, value: 'job' },
        { key: searchAttributeKeys.resourceId, value: jobId },
      ],
    };
  }

  private temporalDown(err: unknown): never {
    if (err instanceof ScheduleNotFoundError) throw new AppError('CONFLICT', 'The job has no Temporal Schedule; update it to recreate the schedule');
    if (err instanceof AppError) throw err;
    throw new AppError('SERVICE_UNAVAILABLE', `The workflow engine refused the schedule change: ${(err as Error).message}`);
  }

  async listJobs(viewer: Viewer, q: ListQuery & { task_type?: string; state?: string }) {
    const query = visibleJobs(this.knex, viewer).orderBy('created_at').orderBy('id');
    if (q.task_type) query.where({ task_type: q.task_type });
    if (q.state === 'disabled') query.where({ is_enabled: false });
    if (q.state === 'paused') query.where({ is_enabled: true, is_paused: true });
    if (q.state === 'active') query.where({ is_enabled: true, is_paused: false });
    const { rows, pagination } = await pageRows(query, q);
    return { jobs: rows.map((j) => presentJob(j)), pagination };
  }

  async job(viewer: Viewer, id: string): Promise<JobRow> {
    const j = await findJob(this.knex, viewer, id);
    if (!j) throw notFound('job', id);
    return j;
  }

  /** A job runs as its owner: it may name only the owner's instances. */
  private async checkInstances(viewer: Viewer, ids: number[] | null | undefined) {
    if (!ids?.length) return;
    const missing = await missingInstances(this.knex, viewer, ids);
    if (missing.length) throw notFound('instance', missing.join(', '));
  }

  async getJob(viewer: Viewer, id: string) {
    const j = await this.job(viewer, id) as unknown as Row;
    let live;
    try {
      const d = await this.deps.temporal.withDeadline(Date.now() + 2000, () => this.deps.temporal.schedule.getHandle(id).describe());
      live = {
        next_run_at: d.info.nextActionTimes[0]?.toISOString() ?? null,
        last_run_at: d.info.recentActions.at(-1)?.takenAt?.toISOString() ?? null,
        paused: d.state.paused, note: d.state.note ?? null,
      };
    } catch {
      live = undefined;
    }
    return { ...presentJob(j, live), history: (await this.jobHistory(viewer, id, { page: 1, size: 10 })).runs };
  }

  async createJob(caller: Caller, body: z.infer<typeof jobBody>) {
    const parsed = this.parseSchedule(body.schedule);
    const viewer = viewerOf(caller.principal);
    await this.checkInstances(viewer, body.instance_ids);
    const id = `job-${crypto.randomBytes(6).toString('hex')}`;
    const row = {
      id, name: body.name, task_type: body.task_type, db_type: body.db_type ?? null, instance_ids: body.instance_ids ? JSON.stringify(body.instance_ids) : null,
      schedule: body.schedule.trim(), calendars: JSON.stringify(parsed.calendars), timezone: body.timezone, description: body.description ?? null,
      is_enabled: body.is_enabled, is_paused: false, created_by: caller.principal.userId,
    };
    await insertJob(this.knex, row);
    try {
      await this.deps.temporal.schedule.create({
        scheduleId: id,
        spec: this.scheduleSpec(parsed.calendars, body.timezone),
        action: this.scheduleAction(id, body.name, body.task_type),
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
        state: { paused: !body.is_enabled, note: body.is_enabled ? `created by ${caller.principal.username}` : 'disabled' },
        memo: { job_name: body.name, task_type: body.task_type },
      });
    } catch (err) {
      await deleteJob(this.knex, viewer, id);
      this.temporalDown(err);
    }
    await this.audit(caller, 'job_create', `Job ${body.name} created (${body.schedule})`, 'job', id);
    return presentJob(await this.job(viewer, id) as unknown as Row);
  }

  async updateJob(caller: Caller, id: string, body: z.infer<typeof jobUpdate>) {
    const viewer = viewerOf(caller.principal);
    const current = await this.job(viewer, id);
    await this.checkInstances(viewer, body.instance_ids);
    const schedule = body.schedule?.trim() ?? current.schedule;
    const parsed = this.parseSchedule(schedule);
    const timezone = body.timezone ?? current.timezone;
    const patch: JobPatch = { schedule, calendars: JSON.stringify(parsed.calendars), timezone };
    for (const k of ['name', 'task_type', 'db_type', 'description', 'is_enabled'] as const) if (body[k] !== undefined) (patch as Row)[k] = body[k];
    if (body.instance_ids !== undefined) patch.instance_ids = body.instance_ids ? JSON.stringify(body.instance_ids) : null;
    const enabled = body.is_enabled ?? current.is_enabled;
    try {
      const handle = this.deps.temporal.schedule.getHandle(id);
      await handle.update((prev) => ({ ...prev, spec: this.scheduleSpec(parsed.calendars, timezone), action: this.scheduleAction(id, body.name ?? current.name, body.task_type ?? current.task_type), state: { ...prev.state, paused: !enabled || current.is_paused } }));
    } catch (err) {
      this.temporalDown(err);
    }
    await updateJob(this.knex, viewer, id, patch);
    await this.audit(caller, 'job_update', `Job ${current.name} updated`, 'job', id, { fields: Object.keys(body) });
    return presentJob(await this.job(viewer, id) as unknown as Row);
  }

  async deleteJob(caller: Caller, id: string) {
    const viewer = viewerOf(caller.principal);
    const current = await this.job(viewer, id);
    try {
      await this.deps.temporal.schedule.getHandle(id).delete();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) this.temporalDown(err);
    }
    await deleteJob(this.knex, viewer, id);
    await this.audit(caller, 'job_delete', `Job ${current.name} deleted`, 'job', id);
    return { id, job_id: id, deleted: true };
  }

  /** enable/disable and pause/resume are both a paused Temporal Schedule; the schedule runs only when enabled and not paused. */
  async setJobState(caller: Caller, id: string, change: 'enable' | 'disable' | 'pause' | 'resume') {
    const viewer = viewerOf(caller.principal);
    const current = await this.job(viewer, id);
    const next = { is_enabled: current.is_enabled as boolean, is_paused: current.is_paused as boolean };
    if (change === 'enable') next.is_enabled = true;
    if (change === 'disable') next.is_enabled = false;
    if (change === 'pause') next.is_paused = true;
    if (change === 'resume') next.is_paused = false;
    const runs = next.is_enabled && !next.is_paused;
    try {
      const handle = this.deps.temporal.schedule.getHandle(id);
      if (runs) await handle.unpause(`${change} by ${caller.principal.username}`);
      else await handle.pause(`${change === 'disable' || !next.is_enabled ? 'disabled' : 'paused'} by ${caller.principal.username}`);
    } catch (err) {
      this.temporalDown(err);
    }
    await updateJob(this.knex, viewer, id, next);
    await this.audit(caller, `job_${change}`, `Job ${current.name}: ${change}`, 'job', id);
    return presentJob(await this.job(viewer, id) as unknown as Row);
  }

  async runJobNow(caller: Caller, id: string) {
    const current = await this.job(viewerOf(caller.principal), id);
    try {
      await this.deps.temporal.schedule.getHandle(id).trigger(ScheduleOverlapPolicy.ALLOW_ALL);
    } catch (err) {
      this.temporalDown(err);
    }
    await this.audit(caller, 'job_run', `Job ${current.name} run now`, 'job', id);
    return { job_id: id, triggered: true, triggered_at: new Date().toISOString() };
  }

  async jobHistory(viewer: Viewer, id: string, q: ListQuery) {
    await this.job(viewer, id);
    const query = jobRuns(this.knex, id);
    const { rows, pagination } = await pageRows(query, q);
    return {
      job_id: id,
      runs: rows.map((r) => ({
        id: r.id, kind: r.kind, status: r.status, started_at: iso(r.started_at), completed_at: iso(r.completed_at), error: r.error ?? null,
        ...(r.kind === 'sync_session' ? { session_id: r.id, total_instances: r.total, successful_instances: r.succeeded, failed_instances: r.failed } : { batch_id: r.id, total_accounts: r.total, matched_accounts: r.succeeded }),
      })),
      pagination,
    };
  }
}
