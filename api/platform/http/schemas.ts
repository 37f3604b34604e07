import { z } from 'zod';
import type { Knex } from 'knex';
import type { QueryBuilder, Model } from 'objection';

export const pageQuery = z.object({
  page: z.coerce.number().int().min(1).default(1),
  size: z.coerce.number().int().min(1).max(100).default(20),
});

/** A row id in a JSON body: a positive integer that fits PostgreSQL's integer columns. */
export const dbIdValue = z.number().int().positive().max(2_147_483_647);
/** The same in a path or query string. */
export const dbId = z.coerce.number().int().positive().max(2_147_483_647);

export const idParams = z.object({ id: dbId });

/** A host name or an IP address (v4 or v6) that another service is reached at. */
export const hostOrAddress = z.string().min(1, 'is required').max(255).regex(/^[A-Za-z0-9._:-]+$/, 'must be a host name or IP address');

/**
 * A name a caller chooses that becomes part of an engine's or a workflow's identifier (an instance's uuid, a container
 * name): letters, digits, dash and underscore. No dots: the platform derives its own names with a dot suffix
 * (`<ref>.next` for an HA replacement, `<ref>.replaced` for a container set aside), which a tenant must not be able to take first.
 */
export const platformName = z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'letters, digits, dash and underscore (no dots: those names are the platform\'s own)');

export const booleanish = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).transform((v) => v === true || v === 'true' || v === '1');

export const pagination = z.object({ page: z.number(), size: z.number(), total: z.number(), pages: z.number() });

export const iso = (d: Date | string | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

const pageInfo = (page: number, size: number, total: number) => ({ page, size, total, pages: Math.ceil(total / size) });

/** Totals are counted exactly up to this many rows; beyond it, they are PostgreSQL's estimate (no page scans a whole table). */
export const EXACT_TOTAL_BOUND = 10_000;

/**
 * How many rows `query` (without its order, offset and limit) would return: counted up to the bound, then the planner's
 * estimate of the query (EXPLAIN), never below the bound.
 */
export async function boundedTotal(query: Knex.QueryBuilder): Promise<number> {
  const client = (query as unknown as { client: Knex.Client }).client;
  const base = query.clone().clearOrder().clear('limit').clear('offset');
  const { sql } = base.toSQL();
  // Grouped or distinct rows must be counted as selected; otherwise the columns do not matter.
  const inner = /\b(group by|distinct)\b/i.test(sql) ? base.clone() : base.clone().clearSelect().select(client.raw('1'));
  const [{ n }] = (await client.queryBuilder().from(inner.limit(EXACT_TOTAL_BOUND + 1).as('bounded')).count('* as n')) as Array<{ n: number | string }>;
  if (Number(n) <= EXACT_TOTAL_BOUND) return Number(n);
  const plain = base.toSQL();
  const explained = await client.raw(`explain (format json) ${plain.sql}`, plain.bindings as Knex.RawBinding[]);
  const estimate = Number(explained.rows[0]['QUERY PLAN'][0].Plan['Plan Rows']);
  return Math.max(EXACT_TOTAL_BOUND + 1, Math.round(estimate));
}

/** Pages an objection query: `{ items, pagination }` with page, size, total and pages. */
export async function paginate<M extends Model>(query: QueryBuilder<M>, page: number, size: number) {
  const [items, total] = await Promise.all([
    query.clone().offset((page - 1) * size).limit(size) as unknown as Promise<M[]>,
    boundedTotal(query.clone().toKnexQuery()),
  ]);
  return { items, pagination: pageInfo(page, size, total) };
}

/** The same for a knex query of the store, for services that read rows rather than models: `T` names the store's row type. */
export async function paginateRows<T>(query: Knex.QueryBuilder, page: number, size: number) {
  const [rows, total] = await Promise.all([
    query.clone().offset((page - 1) * size).limit(size) as unknown as Promise<T[]>,
    boundedTotal(query),
  ]);
  return { rows, pagination: pageInfo(page, size, total) };
}

/** A LIKE/ILIKE pattern matching `text` anywhere, with the caller's % and _ taken literally. */
export const likePattern = (text: string) => `%${text.replace(/[%_\\]/g, '\\$&')}%`;
