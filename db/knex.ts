import knexFactory, { type Knex } from 'knex';
import { Model } from 'objection';
import pg from 'pg';

// COUNT(*) and BIGINT arrive as strings by default; every count we read fits a JS number.
pg.types.setTypeParser(20, (v) => Number(v));

export function createKnex(databaseUrl: string, poolMax = 10): Knex {
  const knex = knexFactory({
    client: 'pg',
    connection: databaseUrl,
    pool: { min: 0, max: poolMax },
  });
  Model.knex(knex);
  return knex;
}

/** A unique violation from pg, or as objection wraps it (db-errors' UniqueViolationError keeps pg's error as nativeError). */
export const isUniqueViolation = (err: unknown, constraint?: string) => {
  const e = err as { code?: string; constraint?: string; nativeError?: { code?: string; constraint?: string } };
  const pgError = e?.code === '23505' ? e : e?.nativeError?.code === '23505' ? e.nativeError : null;
  return Boolean(pgError) && (!constraint || pgError!.constraint === constraint);
};
