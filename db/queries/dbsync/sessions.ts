import type { Knex } from 'knex';
import { ownedBy, type Viewer } from '../platform/scope';

/** An account sync session, owned by the user who started it (a scheduled run: the job's owner). */
export interface SessionRow {
  id: string;
  sync_type: string;
  sync_category: string;
  status: string;
  total_instances: number;
  successful_instances: number;
  failed_instances: number;
  cancelled_instances: number;
  created_by: number | null;
  job_id: string | null;
  operation_id: string | null;
  filters: Record<string, unknown>;
  error: string | null;
  started_at: Date;
  completed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface RecordRow {
  id: number;
  session_id: string;
  instance_id: number;
  instance_name: string;
  db_type: string;
  status: string;
  items_synced: number;
  items_created: number;
  items_updated: number;
  items_deleted: number;
  error_message: string | null;
  details: Record<string, unknown>;
  attempts: number;
  started_at: Date | null;
  completed_at: Date | null;
}

export const visibleSessions = (knex: Knex | Knex.Transaction, viewer: Viewer) => ownedBy(knex('sync_sessions'), viewer, 'sync_sessions.created_by');

export async function findSession(knex: Knex, viewer: Viewer, id: string): Promise<SessionRow | undefined> {
  return visibleSessions(knex, viewer).where({ id }).first<SessionRow | undefined>();
}

/** The per-instance records of a session `viewer` may see. */
export function visibleRecords(knex: Knex, viewer: Viewer) {
  return ownedBy(knex('sync_instance_records as r').join('sync_sessions as s', 's.id', 'r.session_id'), viewer, 's.created_by');
}

export async function sessionRecords(knex: Knex, sessionId: string, statuses?: string[]): Promise<RecordRow[]> {
  const q = knex('sync_instance_records').where({ session_id: sessionId }).orderBy('id');
  if (statuses) q.whereIn('status', statuses);
  return q;
}

export async function insertSession(knex: Knex | Knex.Transaction, row: Pick<SessionRow, 'id' | 'sync_type' | 'status' | 'created_by' | 'operation_id'> & { sync_category?: string; job_id?: string | null; filters: string }) {
  await knex('sync_sessions').insert(row).onConflict('id').ignore();
}
