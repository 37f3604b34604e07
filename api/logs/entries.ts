import type { Knex } from 'knex';
import { validationError } from '../../shared/platform/errors';
import {
  countEntriesUpTo, entriesPageQuery, entryById, logCounts, logModules, logStoreState, type LogEntryRow, type LogFilter, type LogPosition,
} from '../../db/queries/logs/entries';
import { found } from '../../db/queries/platform/found';
import { iso } from '../platform/http/schemas';

export type { LogFilter } from '../../db/queries/logs/entries';

/** Totals are counted up to this many rows; past it a page says `total_exact: false` (no COUNT over a million rows). */
export const COUNT_CAP = 1_000;

/** An entry as every surface shows it (seed 003's fields: `timestamp`, `details`, `stack_trace`). */
export function presentEntry(r: LogEntryRow) {
  return {
    id: Number(r.id), timestamp: iso(r.at)!, level: r.level as string, source: r.source as string, module: r.module, action: r.action ?? null, message: r.message,
    details: r.details ?? {}, stack_trace: r.stack_trace ?? null, request_id: r.request_id ?? null, user_id: r.user_id ?? null, username: r.username ?? null,
    ip_address: r.ip_address ?? null, resource_type: r.resource_type ?? null, resource_id: r.resource_id ?? null, process: r.process ?? null,
  };
}

export type LogEntryView = ReturnType<typeof presentEntry>;

/** A keyset position: the (at, id) of the last entry of a page, opaque to clients. */
export const encodeCursor = (r: Pick<LogEntryRow, 'at' | 'id'>) => Buffer.from(`${new Date(r.at).toISOString()}|${r.id}`).toString('base64url');

export function decodeCursor(cursor: string): LogPosition {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const when = new Date(at ?? '');
  if (Number.isNaN(when.getTime()) || !/^\d{1,18}$/.test(id ?? '')) throw validationError([{ field: 'cursor', location: 'query', message: 'is not a cursor this API gave' }]);
  return { at: when, id: Number(id) };
}

/** Reads of the log center: pages (offset or keyset), one entry, distinct modules, statistics, health. */
export class LogEntries {
  constructor(private readonly knex: Knex) {}

  /** Newest first. `cursor` (from the previous page's `next_cursor`) reads on by keyset; otherwise `page` by offset. */
  async page(f: LogFilter, opts: { page: number; size: number; cursor?: string }) {
    const position = opts.cursor ? { after: decodeCursor(opts.cursor) } : { offset: (opts.page - 1) * opts.size };
    const [rows, counted] = await Promise.all([
      entriesPageQuery(this.knex, f, { ...position, limit: opts.size }),
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
  boundedCount(f: LogFilter): Promise<number> {
    return countEntriesUpTo(this.knex, f, COUNT_CAP);
  }

  async get(id: number) {
    return presentEntry(await found(entryById(this.knex, id), 'log entry', id));
  }

  async modules() {
    return (await logModules(this.knex)).map((r) => ({ module: r.module, last_entry_at: iso(r.last_at) }));
  }

  /** Counts over a window (default the last 24 hours): by level, by module (top 20), by source, and per hour. */
  async stats(f: LogFilter) {
    const window: LogFilter = { ...f, since: f.since ?? new Date(Date.now() - 24 * 3600_000) };
    const { byLevel, byModule, bySource, hourly } = await logCounts(this.knex, window, 20);
    const levels = Object.fromEntries(byLevel.map((r) => [r.level, Number(r.count)]));
    const total = Object.values(levels).reduce((a: number, b) => a + Number(b), 0);
    return {
      since: iso(window.since), until: iso(window.until) ?? new Date().toISOString(), total,
      by_level: levels, errors: (levels.ERROR ?? 0) + (levels.CRITICAL ?? 0), warnings: levels.WARNING ?? 0,
      by_module: byModule.map((r) => ({ module: r.module, count: Number(r.count) })),
      by_source: Object.fromEntries(bySource.map((r) => [r.source, Number(r.count)])),
      hourly: hourly.map((r) => ({ hour: iso(r.hour), count: Number(r.count) })),
    };
  }

  /** The store's state: reachable, about how many entries (the planner's estimate), the newest, the last hour's errors. */
  async health() {
    const started = Date.now();
    const state = await logStoreState(this.knex, new Date(Date.now() - 3600_000));
    return {
      status: 'healthy', database: 'connected', response_ms: Date.now() - started,
      entries_estimate: state.estimate, size_bytes: state.bytes, newest_entry_at: iso(state.newestAt), errors_last_hour: state.errors,
    };
  }
}
