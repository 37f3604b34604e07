import { z } from 'zod';
import { EXPORT_FORMATS, levelOf, type LogLevel } from '../../shared/logs/levels';
import type { LogFilter } from './entries';

/** A time in a query: ISO 8601 (with or without a zone: UTC then) or a bare date (its start, or its end for `until`). */
const timeParam = (end: boolean) => z.string().max(40).transform((text, ctx) => {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text);
  const withZone = dateOnly || /(Z|[+-]\d{2}:?\d{2})$/i.test(text) ? text : `${text}Z`;
  const d = new Date(dateOnly ? `${text}T00:00:00Z` : withZone);
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1970 || d.getUTCFullYear() > 9999) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 date or time, e.g. 2025-09-18 or 2025-09-18T08:30:00Z' });
    return z.NEVER;
  }
  return dateOnly && end ? new Date(d.getTime() + 86_400_000 - 1) : d;
});

/** One level or several, comma-separated, in any case (`error`, `WARNING,ERROR`, `warn`). */
const levels = z.string().max(100).transform((text, ctx) => {
  const parsed = text.split(',').filter((t) => t.trim()).map(levelOf);
  if (!parsed.length || parsed.some((l) => l === null)) {
    ctx.addIssue({ code: 'custom', message: 'must be DEBUG, INFO, WARNING, ERROR or CRITICAL (comma-separated for several)' });
    return z.NEVER;
  }
  return [...new Set(parsed as LogLevel[])];
});

const word = (max: number) => z.string().trim().min(1).max(max);

/** The filters every log surface shares, in seed 003's names (`start_time`/`end_time`) and seed 002's (`start_date`/`end_date`). */
export const filterFields = {
  level: levels.optional(),
  module: word(64).optional(),
  source: z.enum(['audit', 'process']).optional(),
  user_id: z.coerce.number().int().positive().max(2_147_483_647).optional(),
  request_id: word(64).optional(),
  start_time: timeParam(false).optional(),
  end_time: timeParam(true).optional(),
  start_date: timeParam(false).optional(),
  end_date: timeParam(true).optional(),
  search: word(200).optional(),
};
const filterObject = z.object(filterFields);
export type FilterQuery = z.output<typeof filterObject>;

export function filterOf(q: FilterQuery): LogFilter {
  return {
    levels: q.level, module: q.module, source: q.source, userId: q.user_id, requestId: q.request_id,
    since: q.start_time ?? q.start_date, until: q.end_time ?? q.end_date, search: q.search,
  };
}

export const listQuery = filterObject.extend({
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  size: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});
/** Seed 002's paging names (`per_page`), beside seed 003's. */
export const seedListQuery = listQuery.extend({ per_page: z.coerce.number().int().min(1).max(100).optional() });

export const exportQuery = filterObject.extend({ format: z.enum(EXPORT_FORMATS).default('json') });
export const statsQuery = filterObject.extend({ hours: z.coerce.number().int().min(1).max(24 * 366).optional() });

export const logIdParams = z.object({ log_id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

export const cleanupBody = z.object({
  days: z.number().int().min(1).max(36500),
  batch_size: z.number().int().min(100).max(100_000).optional(),
});

export const entrySchema = z.object({
  id: z.number(), timestamp: z.string(), level: z.string(), source: z.string(), module: z.string(), action: z.string().nullable(), message: z.string(),
  details: z.record(z.string(), z.unknown()), stack_trace: z.string().nullable(), request_id: z.string().nullable(), user_id: z.number().nullable(),
  username: z.string().nullable(), ip_address: z.string().nullable(), resource_type: z.string().nullable(), resource_id: z.string().nullable(), process: z.string().nullable(),
});
export const pageSchema = z.object({
  page: z.number(), size: z.number(), total: z.number(), pages: z.number(), total_exact: z.boolean(), next_cursor: z.string().nullable(),
});
export const obj = z.record(z.string(), z.unknown());

/** A host agent's batch of its own log lines (what shared/platform/logger.ts's storedLine makes); who a line is about is not the agent's to say. */
export const agentLinesBody = z.object({
  lines: z.array(z.object({
    at: z.iso.datetime({ offset: true }), level: z.enum(['WARNING', 'ERROR', 'CRITICAL']), module: z.string().min(1).max(64), message: z.string().max(100_000),
    details: z.record(z.string(), z.unknown()), stack_trace: z.string().max(100_000).nullable(), request_id: z.string().max(64).nullable(), process: z.string().max(128),
  })).min(1).max(500),
});
