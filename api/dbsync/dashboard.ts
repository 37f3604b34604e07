import { DB_TYPES } from '../../shared/dbsync/types';
import type { AppDeps } from '../platform/deps';
import { isAdmin, type Principal } from '../platform/auth/principal';
import { iso } from '../platform/http/schemas';
import { systemResources } from '../platform/status-routes';
import { pingTemporal } from '../platform/temporal-health';
import { ownedBy, type Viewer } from '../../db/queries/platform/scope';
import { instanceCounts } from '../../db/queries/dbsync/instances';
import { visibleAccounts } from '../../db/queries/dbsync/accounts';
import { visibleClassifications } from '../../db/queries/dbsync/classifications';
import { visibleJobs } from '../../db/queries/dbsync/jobs';
import { visibleSessions } from '../../db/queries/dbsync/sessions';

/** Seed 002's dashboard: overview, 7-day charts, activities (the audit trail) and system status. */
export class DashboardService {
  constructor(private readonly deps: AppDeps) {}

  /** The viewer's figures (an admin's: the whole platform's); a non-admin's user count is themselves. */
  async overview(viewer: Viewer) {
    const k = this.deps.knex;
    const { totals: inst, byType } = await instanceCounts(k, viewer);
    const [acc] = await visibleAccounts(k, viewer).select(
      k.raw('count(*)::int as total'), k.raw('count(*) filter (where a.is_active)::int as active'),
      k.raw('count(*) filter (where not a.is_active)::int as inactive'), k.raw('count(*) filter (where a.is_active and a.is_locked)::int as locked'),
      k.raw('count(*) filter (where a.is_active and a.is_superuser)::int as superusers'));
    const accountOwner = viewer.admin ? '' : ` and exists (select 1 from db_instances i where i.id = a.instance_id and i.created_by = ${Number(viewer.userId ?? -1)})`;
    const byClass = await visibleClassifications(k, viewer).orderBy('c.priority', 'desc').select('c.code', 'c.name', 'c.risk_level',
      k.raw(`(select count(*) from account_classification_assignments x join db_accounts a on a.id = x.account_id where x.classification_id = c.id and a.is_active${accountOwner})::int as n`));
    const [unclassified] = await visibleAccounts(k, viewer).where('a.is_active', true).whereNotExists(k('account_classification_assignments as x').whereRaw('x.account_id = a.id')).count<{ count: number }[]>('* as count');
    const [users] = await ownedBy(k('users').whereNull('deleted_at'), viewer, 'id').select(k.raw('count(*)::int as total'), k.raw('count(*) filter (where is_active)::int as active'));
    const [jobs] = await visibleJobs(k, viewer).select(k.raw('count(*)::int as total'), k.raw('count(*) filter (where is_enabled and not is_paused)::int as active'));
    const [sessions] = await visibleSessions(k, viewer).select(k.raw("count(*) filter (where status = 'running')::int as running"), k.raw("count(*) filter (where started_at > now() - interval '1 day')::int as last_24h"));
    const lastSession = await visibleSessions(k, viewer).orderBy('started_at', 'desc').first('id', 'status', 'started_at');
    return {
      instances: { total: inst.total, active: inst.active, online: inst.online, by_type: Object.fromEntries(DB_TYPES.map((t) => [t, byType.find((r) => r.db_type === t)?.n ?? 0])) },
      accounts: {
        total: acc.total, active: acc.active, inactive: acc.inactive, locked: acc.locked, superusers: acc.superusers,
        by_status: { active: acc.active, inactive: acc.inactive, locked: acc.locked },
        by_classification: Object.fromEntries(byClass.map((c) => [c.code, c.n])),
        classifications: byClass.map((c) => ({ code: c.code, name: c.name, risk_level: c.risk_level, count: c.n })),
        unclassified: Number(unclassified.count),
      },
      users: { total: users.total, active: users.active },
      jobs: { total: jobs.total, active: jobs.active },
      sync: { running_sessions: sessions.running, sessions_last_24h: sessions.last_24h, last_session: lastSession ? { id: lastSession.id, status: lastSession.status, started_at: iso(lastSession.started_at) } : null },
    };
  }

  /** Per day for the last 7 days (UTC): sync sessions, audit log entries and operations ("tasks"), zero-filled. */
  /** The viewer's own syncs, audit entries and operations (an admin's: everyone's). */
  async charts(viewer: Viewer) {
    const k = this.deps.knex;
    const days = await k.raw(`select to_char(d, 'YYYY-MM-DD') as day from generate_series((now() at time zone 'utc')::date - 6, (now() at time zone 'utc')::date, interval '1 day') d`);
    const labels: string[] = days.rows.map((r: { day: string }) => r.day);
    const series = async (table: string, column: string, owner: string, split?: string) => {
      const rows = await ownedBy(k(table), viewer, owner).whereRaw(`${column} >= (now() at time zone 'utc')::date - 6`)
        .select(k.raw(`to_char((${column} at time zone 'utc')::date, 'YYYY-MM-DD') as day`), ...(split ? [k.raw(`${split} as s`)] : []), k.raw('count(*)::int as n'))
        .groupByRaw(`1${split ? ', 2' : ''}`);
      return rows as Array<{ day: string; s?: string; n: number }>;
    };
    const fill = (rows: Array<{ day: string; s?: string; n: number }>, s?: string) => labels.map((d) => rows.filter((r) => r.day === d && (s === undefined || r.s === s)).reduce((t, r) => t + r.n, 0));
    const syncs = await series('sync_sessions', 'started_at', 'created_by', 'status');
    const logs = await series('audit_log', 'at', 'user_id', 'level');
    const tasks = await series('operations', 'created_at', 'created_by', 'status');
    return {
      labels,
      syncs: { total: fill(syncs), completed: fill(syncs, 'completed'), failed: fill(syncs, 'failed'), cancelled: fill(syncs, 'cancelled') },
      logs: { total: fill(logs), info: fill(logs, 'INFO'), warning: fill(logs, 'WARNING'), error: fill(logs, 'ERROR') },
      tasks: { total: fill(tasks), succeeded: fill(tasks, 'succeeded'), failed: fill(tasks, 'failed') },
    };
  }

  /** The audit trail: an admin's is everyone's, anyone else's only their own actions. */
  async activities(principal: Principal, limit: number) {
    const query = this.deps.knex('audit_log').orderBy('id', 'desc').limit(limit);
    if (!isAdmin(principal)) query.where('user_id', principal.userId ?? -1);
    const rows = await query;
    return rows.map((r) => ({
      id: Number(r.id), at: iso(r.at), level: r.level, module: r.module, action: r.action, message: r.message, user_id: r.user_id ?? null,
      username: r.username ?? null, resource_type: r.resource_type ?? null, resource_id: r.resource_id ?? null,
    }));
  }

  async status() {
    const { knex, temporal, config } = this.deps;
    const check = async (fn: () => Promise<unknown>) => {
      const started = Date.now();
      try {
        await fn();
        return { status: 'healthy', response_time: Date.now() - started };
      } catch (err) {
        return { status: 'unhealthy', response_time: Date.now() - started, error: (err as Error).message };
      }
    };
    const [database, temporalStatus] = await Promise.all([
      check(() => knex.raw('select 1')),
      check(() => pingTemporal(temporal)),
    ]);
    const resources = systemResources(config.dataDir);
    return {
      system: resources,
      cpu: resources.cpu, memory: resources.memory, disk: resources.disk,
      database, temporal: { ...temporalStatus, address: config.temporalAddress, namespace: config.temporalNamespace },
      overall: database.status === 'healthy' && temporalStatus.status === 'healthy' ? 'healthy' : 'unhealthy',
      timestamp: new Date().toISOString(),
    };
  }
}
