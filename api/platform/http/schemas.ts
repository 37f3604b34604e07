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

export const booleanish = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).transform((v) => v === true || v === 'true' || v === '1');

export const pagination = z.object({ page: z.number(), size: z.number(), total: z.number(), pages: z.number() });

export const iso = (d: Date | string | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

const pageInfo = (page: number, size: number, total: number) => ({ page, size, total, pages: Math.ceil(total / size) });

/** Pages an objection query: `{ items, pagination }` with page, size, total and pages. */
export async function paginate<M extends Model>(query: QueryBuilder<M>, page: number, size: number) {
  const result = await query.page(page - 1, size);
  return { items: result.results as M[], pagination: pageInfo(page, size, result.total) };
}

/** The same for a knex query, for services that read rows rather than models. */
export async function paginateRows<T = Record<string, any>>(query: Knex.QueryBuilder, page: number, size: number) { // eslint-disable-line @typescript-eslint/no-explicit-any
  const [{ count }] = (await query.clone().clearSelect().clearOrder().count('* as count')) as Array<{ count: number | string }>;
  const rows = (await query.offset((page - 1) * size).limit(size)) as T[];
  return { rows, pagination: pageInfo(page, size, Number(count)) };
}

/** A LIKE/ILIKE pattern matching `text` anywhere, with the caller's % and _ taken literally. */
export const likePattern = (text: string) => `%${text.replace(/[%_\\]/g, '\\$&')}%`;
