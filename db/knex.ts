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

export const isUniqueViolation = (err: unknown, constraint?: string) =>
  (err as { code?: string }).code === '23505' &&
  (!constraint || (err as { constraint?: string }).constraint === constraint);
