import type { Knex } from 'knex';
import { notFound, validationError } from '../../shared/platform/errors';
import type { LogLevel } from '../../shared/logs/levels';
import { iso } from '../platform/http/schemas';

/** What a log query may filter on; every filter has an index that leads with it (or the time). */
export interface LogFilter {
  levels?: LogLevel[];
  module?: string;
  source?: 'audit' | 'process';
  userId?: number;
  requestId?: string;
  since?: Date;
  until?: Date;
  /** Full text over module, action and message (websearch syntax: words, "phrases", -not, or). */
  search?: string;
}

/** Totals are counted up to this many rows; past it a page says `total_exact: false` (no COUNT over a million rows). */
export const COUNT_CAP = 1_000;

/** The columns a client sees, in the store's names; `search` (the tsvector) stays inside. */
export const ENTRY_COLUMNS = ['id', 'at', 'level', 'source', 'module', 'action', 'message', 'details', 'stack_trace', 'request_id', 'user_id', 'username', 'ip_address', 'resource_type', 'resource_id', 'process'];

type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** An entry as every surface shows it (seed 003's fields: `timestamp`, `details`, `stack_trace`). */
export function presentEntry(r: Row) {
  return {
    id: Number(r.id), timestamp: iso(r.at)!, level: r.level, source: r.source, module: r.module, action: r.action ?? null, message: r.message,
    details: r.details ?? {}, stack_trace: r.stack_trace ?? null, request_id: r.request_id ?? null, user_id: r.user_id ?? null, username: r.username ?? null,
    ip_address: r.ip_address ?? null, resource_type: r.resource_type ?? null, resource_id: r.resource_id ?? null, process: r.process ?? null,
  };
}
export type LogEntryView = ReturnType<typeof presentEntry>;

/** A keyset position: the (at, id) of the last entry of a page, opaque to clients. */
export const encodeCursor = (r: Row) => Buffer.from(`${new Date(r.at).toISOString()}|${r.id}`).toString('base64url');
export function decodeCursor(cursor: string): { at: Date; id: number } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const when = new Date(at ?? '');
  if (Number.isNaN(when.getTime()) || !/^\d{1,18}$/.test(id ?? '')) throw validationError([{ field: 'cursor', location: 'query', message: 'is not a cursor this API gave' }]);
  return { at: when, id: Number(id) };
}

export function applyFilter(q: Knex.QueryBuilder, f: LogFilter): Knex.QueryBuilder {
  if (f.levels?.length) q.whereIn('level', f.levels);
  if (f.module) q.where('module', f.module);
  if (f.source) q.where('source', f.source);
  if (f.userId !== undefined) q.where('user_id', f.userId);
  if (f.requestId) q.where('request_id', f.requestId);
  if (f.since) q.where('at', '>=', f.since);
  if (f.until) q.where('at', '<=', f.until);
  if (f.search) q.whereRaw(`search @@ websearch_to_tsquery('simple', ?)`, [f.search]);
  return q;
}

/** Reads of the log center: pages (offset or keyset), one entry, distinct modules, statistics, health. */
export class LogEntries {
  constructor(private readonly knex: Knex) {}

  /** Newest first. `cursor` (from the previous page's `next_cursor`) reads on by keyset; otherwise `page` by offset. */
  async page(f: LogFilter, opts: { page: number; size: number; cursor?: string }) {
    const q = applyFilter(this.knex('log_entries').select(ENTRY_COLUMNS), f);
    if (opts.cursor) {
      const c = decodeCursor(opts.cursor);
      q.whereRaw('(at, id) < (?, ?)', [c.at, c.id]);
    } else {
      q.offset((opts.page - 1) * opts.size);
    }
    const [rows, counted] = await Promise.all([
      q.orderBy([{ column: 'at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(opts.size),
      this.boundedCount(f),
    ]);
    const exact = counted <= COUNT_CAP;
    const total = Math.min(counted, COUNT_CAP);
    return {
      entries: rows.map(presentEntry),
      pagination: {
        page: opts.cursor ? 1 : opts.page, size: opts.size, total, pages: Math.ceil(total / opts.size), total_exact: exact,
        next_cursor: rows.length === opts.size ? encodeCursor(rows[rows.length - 1]) : null,
      },
    };
  }

  /** How many entries match, counting no further than COUNT_CAP + 1. */
  async boundedCount(f: LogFilter): Promise<number> {
    const inner = applyFilter(this.knex('log_entries').select(this.knex.raw('1')), f).limit(COUNT_CAP + 1);
    const [{ n }] = await this.knex.from(inner.as('m')).select(this.knex.raw('count(*)::int as n'));
    return Number(n);
  }

  async get(id: number) {
    const row = await this.knex('log_entries').select(ENTRY_COLUMNS).where({ id }).first();
    if (!row) throw notFound('log entry', id);
    return presentEntry(row);
  }

  /** Distinct modules by a loose index scan over (module, at), each with its newest entry's time. */
  async modules() {
    const { rows } = await this.knex.raw(`
      WITH RECURSIVE m AS (
        SELECT min(module) AS module FROM log_entries
        UNION ALL
        SELECT (SELECT min(module) FROM log_entries WHERE module > m.module) FROM m WHERE m.module IS NOT NULL
      )
      SELECT module, (SELECT max(at) FROM log_entries l WHERE l.module = m.module) AS last_at FROM m WHERE module IS NOT NULL ORDER BY module`);
    return (rows as Row[]).map((r) => ({ module: r.module as string, last_entry_at: iso(r.last_at) }));
  }

  /** Counts over a window (default the last 24 hours): by level, by module (top 20), by source, and per hour. */
  async stats(f: LogFilter) {
    const window: LogFilter = { ...f, since: f.since ?? new Date(Date.now() - 24 * 3600_000) };
    const base = () => applyFilter(this.knex('log_entries'), window);
    const [byLevel, byModule, bySource, hourly] = await Promise.all([
      base().select('level').count('* as count').groupBy('level'),
      base().select('module').count('* as count').groupBy('module').orderBy('count', 'desc').limit(20),
      base().select('source').count('* as count').groupBy('source'),
      base().select(this.knex.raw("date_trunc('hour', at) as hour")).count('* as count').groupByRaw('1').orderByRaw('1'),
    ]);
    const levels = Object.fromEntries(byLevel.map((r: Row) => [r.level, Number(r.count)]));
    const total = Object.values(levels).reduce((a: number, b) => a + Number(b), 0);
    return {
      since: iso(window.since), until: iso(window.until) ?? new Date().toISOString(), total,
      by_level: levels, errors: (levels.ERROR ?? 0) + (levels.CRITICAL ?? 0), warnings: levels.WARNING ?? 0,
      by_module: byModule.map((r: Row) => ({ module: r.module, count: Number(r.count) })),
      by_source: Object.fromEntries(bySource.map((r: Row) => [r.source, Number(r.count)])),
      hourly: hourly.map((r: Row) => ({ hour: iso(r.hour), count: Number(r.count) })),
    };
  }

  /** The store's state: reachable, about how many entries (the planner's estimate), the newest, the last hour's errors. */
  async health() {
    const started = Date.now();
    const [{ rows: [size] }, newest, [{ n: errors }]] = await Promise.all([
      this.knex.raw(`SELECT c.reltuples::bigint AS estimate, pg_total_relation_size(c.oid) AS bytes FROM pg_class c WHERE c.relname = 'log_entries'`),
      this.knex('log_entries').select('at').orderBy([{ column: 'at', order: 'desc' }, { column: 'id', order: 'desc' }]).first(),
      this.knex('log_entries').whereIn('level', ['ERROR', 'CRITICAL']).where('at', '>=', new Date(Date.now() - 3600_000)).select(this.knex.raw('count(*)::int as n')),
    ]);
    return {
      status: 'healthy', database: 'connected', response_ms: Date.now() - started,
      entries_estimate: Math.max(0, Number(size?.estimate ?? 0)), size_bytes: Number(size?.bytes ?? 0),
      newest_entry_at: iso(newest?.at), errors_last_hour: Number(errors),
    };
  }
}
