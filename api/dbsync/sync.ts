import crypto from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { AppError, conflict, notFound } from '../../shared/platform/errors';
import type { DbType } from '../../shared/dbsync/types';
import type { Viewer } from '../../db/queries/platform/scope';
import { missingInstances } from '../../db/queries/dbsync/instances';
import { findAccount, visibleAccounts, visibleChanges } from '../../db/queries/dbsync/accounts';
import { findSession, insertSession, sessionRecords, visibleRecords, visibleSessions, type SessionRow } from '../../db/queries/dbsync/sessions';
import type { AppDeps } from '../platform/deps';
import { iso, likePattern } from '../platform/http/schemas';
import type { OperationService } from '../platform/operations/service';
import type { Caller } from '../platform/caller';
import { viewerOf } from '../platform/auth/principal';
import { syncSessionWorkflow } from '../../workflows/dbsync/runbooks';

import { DbsyncBase } from './base';
import type { CatalogService } from './catalog';
import { pageRows, type ListQuery, type Row } from './schemas';
import { presentAccount, presentChange, presentRecord, presentSession } from './presenters';

/** Account sync sessions (operations), the accounts they keep and their change log; each the starter's (or the instance owner's). */
export class SyncService extends DbsyncBase {
  constructor(deps: AppDeps, private readonly operations: OperationService, private readonly catalog: CatalogService) {
    super(deps);
  }

  // ----- sync sessions -----
  async startSync(caller: Caller, body: { instance_ids?: number[]; db_type?: DbType }, single?: number) {
    const viewer = viewerOf(caller.principal);
    const syncType = single ? 'manual_single' as const : 'manual_batch' as const;
    const started = await this.operations.start(caller, { ...body, single }, async () => {
      let name: string | null = null;
      if (single) name = (await this.catalog.instance(viewer, single)).name;
      else if (body.instance_ids?.length) {
        const missing = await missingInstances(this.knex, viewer, body.instance_ids);
        if (missing.length) throw notFound('instance', missing.join(', '));
      }
      const scope = single ? { type: 'db_instance', id: single, name } : { type: 'db_account_sync', id: body.db_type ?? (body.instance_ids ? `set-${crypto.randomBytes(4).toString('hex')}` : 'all'), name: 'account sync' };
      return {
        type: 'dbsync.accounts',
        resource: { ...scope, url: (sessionId: string) => `/api/v1/db/sessions/${sessionId}` },
        params: { sync_type: syncType, ...body },
        workflow: syncSessionWorkflow,
        input: { syncType, instanceIds: single ? [single] : body.instance_ids ?? null, dbType: body.db_type ?? null, createdBy: caller.principal.userId, jobId: null, concurrency: this.deps.config.dbsync.concurrency },
        summary: single ? `Sync accounts of instance ${name}` : `Sync accounts of ${body.instance_ids ? `${body.instance_ids.length} instances` : body.db_type ?? 'all instances'}`,
      };
    });
    await insertSession(this.knex, {
      id: started.operation.id, sync_type: syncType, status: 'running', created_by: caller.principal.userId, operation_id: started.operation.id,
      filters: JSON.stringify({ instance_ids: single ? [single] : body.instance_ids ?? null, db_type: body.db_type ?? null }),
    });
    if (!started.replayed) await this.audit(caller, 'sync_start', `Account sync ${started.operation.id} started`, 'sync_session', started.operation.id);
    return started;
  }

  async listSessions(viewer: Viewer, q: ListQuery & { status?: string; sync_type?: string; job_id?: string }) {
    const query = visibleSessions(this.knex, viewer).orderBy('started_at', 'desc').orderBy('id');
    if (q.status) query.where({ status: q.status });
    if (q.sync_type) query.where({ sync_type: q.sync_type });
    if (q.job_id) query.where({ job_id: q.job_id });
    const { rows, pagination } = await pageRows(query, q);
    return { sessions: rows.map(presentSession), pagination };
  }

  async session(viewer: Viewer, id: string): Promise<SessionRow> {
    const s = await findSession(this.knex, viewer, id);
    if (!s) throw notFound('sync session', id);
    return s;
  }

  async getSession(viewer: Viewer, id: string) {
    const s = await this.session(viewer, id);
    const records = await sessionRecords(this.knex, id);
    const totals = records.reduce((t, r) => ({ synced: t.synced + r.items_synced, created: t.created + r.items_created, updated: t.updated + r.items_updated, deleted: t.deleted + r.items_deleted }), { synced: 0, created: 0, updated: 0, deleted: 0 });
    return { ...presentSession(s as unknown as Row), items: { synced: totals.synced, created: totals.created, updated: totals.updated, deleted: totals.deleted }, records: records.map((r) => presentRecord(r as unknown as Row)) };
  }

  async cancelSession(caller: Caller, id: string) {
    const s = await this.session(viewerOf(caller.principal), id);
    if (s.status !== 'running') throw conflict(`Sync session ${id} has already ${s.status}`, { status: s.status });
    try {
      await this.deps.temporal.workflow.getHandle(id).cancel();
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw new AppError('SERVICE_UNAVAILABLE', 'The workflow engine is unavailable');
    }
    await this.audit(caller, 'sync_cancel', `Cancel of sync session ${id} requested`, 'sync_session', id);
    return { ...presentSession(s as unknown as Row), cancel_requested: true };
  }

  async sessionErrors(viewer: Viewer, id: string) {
    await this.session(viewer, id);
    const records = await sessionRecords(this.knex, id, ['failed', 'cancelled']);
    return {
      session_id: id,
      error_count: records.length,
      error_logs: records.map((r) => ({ instance_id: r.instance_id, instance_name: r.instance_name, db_type: r.db_type, status: r.status, error_message: r.error_message, error_type: (r.details?.error_type as string | undefined) ?? null, completed_at: iso(r.completed_at) })),
    };
  }

  async syncStatistics(viewer: Viewer) {
    const k = this.knex;
    const [s] = await visibleSessions(k, viewer).select(
      k.raw('count(*)::int as total'), k.raw("count(*) filter (where status = 'running')::int as running"),
      k.raw("count(*) filter (where status = 'completed')::int as completed"), k.raw("count(*) filter (where status = 'failed')::int as failed"),
      k.raw("count(*) filter (where status = 'cancelled')::int as cancelled"), k.raw("count(*) filter (where started_at > now() - interval '1 day')::int as last_24h"));
    const [r] = await visibleRecords(k, viewer).select(
      k.raw('coalesce(sum(r.items_synced),0)::int as synced'), k.raw('coalesce(sum(r.items_created),0)::int as created'),
      k.raw('coalesce(sum(r.items_updated),0)::int as updated'), k.raw('coalesce(sum(r.items_deleted),0)::int as deleted'),
      k.raw("count(*) filter (where r.status = 'failed')::int as failed_records"));
    const byType = await visibleSessions(k, viewer).groupBy('sync_type').select('sync_type', k.raw('count(*)::int as n'));
    return {
      total_sessions: s.total, running_sessions: s.running, completed_sessions: s.completed, failed_sessions: s.failed, cancelled_sessions: s.cancelled,
      sessions_last_24h: s.last_24h, success_rate: s.total ? Math.round((s.completed / s.total) * 1000) / 10 : 0,
      by_sync_type: Object.fromEntries(byType.map((x) => [x.sync_type, x.n])),
      items: { synced: r.synced, created: r.created, updated: r.updated, deleted: r.deleted }, failed_instance_records: r.failed_records,
    };
  }

  // ----- accounts -----
  async listAccounts(viewer: Viewer, q: ListQuery & { instance_id?: number; is_active?: string; classification?: string; search?: string; db_type?: string }) {
    const k = this.knex;
    const query = visibleAccounts(k, viewer).orderBy('a.id')
      .select('a.*', 'i.name as instance_name', k.raw(`coalesce((select json_agg(json_build_object('id', c.id, 'code', c.code, 'name', c.name, 'risk_level', c.risk_level) order by c.priority desc)
        from account_classification_assignments x join account_classifications c on c.id = x.classification_id where x.account_id = a.id), '[]') as classifications`));
    if (q.instance_id) query.where('a.instance_id', q.instance_id);
    if (q.is_active) query.where('a.is_active', q.is_active === 'true');
    if (q.db_type) query.where('a.db_type', q.db_type);
    if (q.search) query.whereILike('a.account_key', likePattern(q.search));
    if (q.classification) query.whereExists(k('account_classification_assignments as x').join('account_classifications as c', 'c.id', 'x.classification_id').whereRaw('x.account_id = a.id').where('c.code', q.classification));
    const { rows, pagination } = await pageRows(query, q);
    return { accounts: rows.map(presentAccount), pagination };
  }

  async getAccount(viewer: Viewer, id: number) {
    const a = await findAccount(this.knex, viewer, id);
    if (!a) throw notFound('account', id);
    return presentAccount(a as unknown as Row);
  }

  async listChanges(viewer: Viewer, q: ListQuery & { instance_id?: number; account_id?: number; change_type?: string; session_id?: string }) {
    const query = visibleChanges(this.knex, viewer).orderBy('l.id', 'desc');
    if (q.instance_id) query.where('l.instance_id', q.instance_id);
    if (q.account_id) query.where('l.account_id', q.account_id);
    if (q.change_type) query.where('l.change_type', q.change_type);
    if (q.session_id) query.where('l.session_id', q.session_id);
    const { rows, pagination } = await pageRows(query, q);
    return { changes: rows.map(presentChange), pagination };
  }
}
