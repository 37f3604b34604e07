import type { Readable } from 'node:stream';
import type { Knex } from 'knex';
import QueryStream from 'pg-query-stream';
import type { LogLevel } from '../../../shared/logs/levels';

/** A row of `log_entries` (migration 015) as clients see it: `search` (the tsvector) and `audit_id` stay inside. */
export interface LogEntryRow {
  /** bigserial: PostgreSQL's int8 arrives as text. */
  id: string;
  at: Date;
  level: LogLevel;
  source: 'audit' | 'process';
  module: string;
  action: string | null;
  message: string;
  details: Record<string, unknown>;
  stack_trace: string | null;
  request_id: string | null;
  user_id: number | null;
  username: string | null;
  ip_address: string | null;
  resource_type: string | null;
  resource_id: string | null;
  process: string | null;
}

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

/** The columns a client sees, in the store's names. */
export const ENTRY_COLUMNS = [
  'id', 'at', 'level', 'source', 'module', 'action', 'message', 'details', 'stack_trace', 'request_id', 'user_id', 'username', 'ip_address',
  'resource_type', 'resource_id', 'process',
] as const;

/** A keyset position: the (at, id) of an entry. */
export interface LogPosition { at: Date; id: number }

const NEWEST_FIRST = [{ column: 'at', order: 'desc' }, { column: 'id', order: 'desc' }];
const OLDEST_FIRST = [{ column: 'at', order: 'asc' }, { column: 'id', order: 'asc' }];

function applyFilter<T extends Knex.QueryBuilder>(q: T, f: LogFilter): T {
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

const matching = (knex: Knex, f: LogFilter) => applyFilter(knex('log_entries'), f);

/**
 * One page of matching entries, newest first: after a keyset position (`after`), or from an offset. The bench runs the
 * same query bare, as its ceiling.
 */
export function entriesPageQuery(knex: Knex, f: LogFilter, page: { after?: LogPosition; offset?: number; limit: number }): Knex.QueryBuilder<LogEntryRow, LogEntryRow[]> {
  const q = matching(knex, f).select(ENTRY_COLUMNS);
  if (page.after) q.whereRaw('(at, id) < (?, ?)', [page.after.at, page.after.id]);
  else if (page.offset) q.offset(page.offset);
  return q.orderBy(NEWEST_FIRST).limit(page.limit) as unknown as Knex.QueryBuilder<LogEntryRow, LogEntryRow[]>;
}

/** How many entries match, counting no further than `cap` + 1. */
export async function countEntriesUpTo(knex: Knex, f: LogFilter, cap: number): Promise<number> {
  const inner = matching(knex, f).select(knex.raw('1')).limit(cap + 1);
  const [{ n }] = await knex.from(inner.as('m')).select(knex.raw('count(*)::int as n'));
  return Number(n);
}

export async function entryById(knex: Knex, id: number): Promise<LogEntryRow | undefined> {
  return knex('log_entries').select(ENTRY_COLUMNS).where({ id }).first() as Promise<LogEntryRow | undefined>;
}

/** Entries after an id, in id order (what a reconnecting tail missed). */
export async function entriesAfterId(knex: Knex, id: number, limit: number): Promise<LogEntryRow[]> {
  return knex('log_entries').select(ENTRY_COLUMNS).where('id', '>', id).orderBy('id').limit(limit) as unknown as Promise<LogEntryRow[]>;
}

/** Distinct modules by a loose index scan over (module, at), each with its newest entry's time. */
export async function logModules(knex: Knex): Promise<Array<{ module: string; last_at: Date | null }>> {
  const { rows } = await knex.raw(`
    WITH RECURSIVE m AS (
      SELECT min(module) AS module FROM log_entries
      UNION ALL
      SELECT (SELECT min(module) FROM log_entries WHERE module > m.module) FROM m WHERE m.module IS NOT NULL
    )
    SELECT module, (SELECT max(at) FROM log_entries l WHERE l.module = m.module) AS last_at FROM m WHERE module IS NOT NULL ORDER BY module`);
  return rows;
}

/** Counts of the matching entries by level, by module (the top `topModules`), by source, and per hour. */
export async function logCounts(knex: Knex, f: LogFilter, topModules: number) {
  type Counted<K extends string, V = string> = Array<Record<K, V> & { count: string | number }>;
  const [byLevel, byModule, bySource, hourly] = await Promise.all([
    matching(knex, f).select('level').count('* as count').groupBy('level') as unknown as Promise<Counted<'level'>>,
    matching(knex, f).select('module').count('* as count').groupBy('module').orderBy('count', 'desc').limit(topModules) as unknown as Promise<Counted<'module'>>,
    matching(knex, f).select('source').count('* as count').groupBy('source') as unknown as Promise<Counted<'source'>>,
    matching(knex, f).select(knex.raw("date_trunc('hour', at) as hour")).count('* as count').groupByRaw('1').orderByRaw('1') as unknown as Promise<Counted<'hour', Date>>,
  ]);
  return { byLevel, byModule, bySource, hourly };
}

/** The store's size (the planner's estimate of its rows, and its bytes), its newest entry's time, and its errors since `since`. */
export async function logStoreState(knex: Knex, errorsSince: Date) {
  const [{ rows: [size] }, newest, [{ n: errors }]] = await Promise.all([
    knex.raw(`SELECT c.reltuples::bigint AS estimate, pg_total_relation_size(c.oid) AS bytes FROM pg_class c WHERE c.relname = 'log_entries'`),
    knex('log_entries').select('at').orderBy(NEWEST_FIRST).first() as Promise<{ at: Date } | undefined>,
    knex('log_entries').whereIn('level', ['ERROR', 'CRITICAL']).where('at', '>=', errorsSince).select(knex.raw('count(*)::int as n')) as Promise<Array<{ n: number }>>,
  ]);
  const s = size as { estimate: string | number; bytes: string | number } | undefined;
  return { estimate: Math.max(0, Number(s?.estimate ?? 0)), bytes: Number(s?.bytes ?? 0), newestAt: newest?.at ?? null, errors: Number(errors) };
}

/**
 * The matching entries, oldest first, read through a server-side cursor (pg-query-stream, 1,000 rows at a time) on a
 * connection of its own: memory stays flat however many entries there are. `release` gives the connection back (once).
 */
export async function streamEntries(knex: Knex, f: LogFilter): Promise<{ rows: Readable; release: () => void }> {
  const { sql, bindings } = matching(knex, f).select(ENTRY_COLUMNS).orderBy(OLDEST_FIRST).toSQL().toNative();
  const connection = await knex.client.acquireConnection();
  const rows = connection.query(new QueryStream(sql, bindings as unknown[], { batchSize: 1000, highWaterMark: 1000 })) as Readable;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    void knex.client.releaseConnection(connection);
  };
  return { rows, release };
}
