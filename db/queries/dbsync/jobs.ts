import type { Knex } from 'knex';
import { ownedBy, type Viewer } from '../platform/scope';

/** A scheduled job (a Temporal Schedule), owned by its creator; its runs act as that owner. */
export interface JobRow {
  id: string;
  name: string;
  task_type: string;
  db_type: string | null;
  instance_ids: number[] | null;
  schedule: string;
  calendars: unknown;
  timezone: string;
  description: string | null;
  is_enabled: boolean;
  is_paused: boolean;
  created_by: number | null;
  created_at: Date;
  updated_at: Date;
}

export type JobInsert = Omit<JobRow, 'instance_ids' | 'calendars' | 'created_at' | 'updated_at'> & { instance_ids: string | null; calendars: string };
export type JobPatch = Partial<Omit<JobInsert, 'id' | 'created_by'>>;

export const visibleJobs = (knex: Knex | Knex.Transaction, viewer: Viewer) => ownedBy(knex('scheduled_jobs'), viewer, 'scheduled_jobs.created_by');

export async function findJob(knex: Knex | Knex.Transaction, viewer: Viewer, id: string): Promise<JobRow | undefined> {
  return visibleJobs(knex, viewer).where({ id }).first<JobRow | undefined>();
}

/** The job a schedule fired for, whoever owns it (the run then acts as the owner). */
export async function jobById(knex: Knex | Knex.Transaction, id: string): Promise<JobRow | undefined> {
  return knex('scheduled_jobs').where({ id }).first<JobRow | undefined>();
}

export async function insertJob(knex: Knex, row: JobInsert) {
  await knex('scheduled_jobs').insert(row);
}

export async function updateJob(knex: Knex, viewer: Viewer, id: string, patch: JobPatch & { updated_at?: Knex.Raw }): Promise<boolean> {
  return (await ownedBy(knex('scheduled_jobs').where({ id }), viewer, 'created_by').update({ ...patch, updated_at: knex.fn.now() })) > 0;
}

export async function deleteJob(knex: Knex, viewer: Viewer, id: string): Promise<boolean> {
  return (await ownedBy(knex('scheduled_jobs').where({ id }), viewer, 'created_by').delete()) > 0;
}

/** Sessions and batches of a job, newest first (the caller pages it). */
export function jobRuns(knex: Knex, id: string) {
  const union = knex.select(knex.raw("id, 'sync_session' as kind, status, started_at, completed_at, total_instances as total, successful_instances as succeeded, failed_instances as failed, error")).from('sync_sessions').where({ job_id: id })
    .unionAll(knex.select(knex.raw("id, 'classification_batch' as kind, status, started_at, completed_at, total_accounts as total, matched_accounts as succeeded, 0 as failed, error")).from('classification_batches').where({ job_id: id }));
  return knex.from(union.as('h')).orderBy('started_at', 'desc');
}
