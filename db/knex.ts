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

/** A unique-constraint violation, raw from pg or wrapped by objection (which keeps the driver's error as nativeError). */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string; nativeError?: { code?: string; constraint?: string } };
  const native = e?.nativeError ?? e;
  return native?.code === '23505' && (!constraint || (native.constraint ?? e.constraint) === constraint);
}
