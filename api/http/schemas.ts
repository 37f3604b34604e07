import { z } from 'zod';
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

/** Pages a query: `{ items, pagination }` with the totals DESIGN.md prescribes. */
export async function paginate<M extends Model>(query: QueryBuilder<M>, page: number, size: number) {
  const result = await query.page(page - 1, size);
  return {
    items: result.results as M[],
    pagination: { page, size, total: result.total, pages: Math.ceil(result.total / size) },
  };
}
