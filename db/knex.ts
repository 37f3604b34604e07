import knexFactory, { type Knex } from 'knex';
import { Model } from 'objection';
import pg from 'pg';

// COUNT(*) and BIGINT arrive as strings by default; every count we read fits a JS number.
pg.types.setTypeParser(20, (v) => Number(v));

/** Bounds on reaching PostgreSQL: while it is away a request fails fast (503) instead of queueing for a minute. */
export const DB_CONNECT_TIMEOUT_MS = 3000;
const DB_ACQUIRE_TIMEOUT_MS = 10_000;

export function createKnex(databaseUrl: string, poolMax = 10): Knex {
  const knex = knexFactory({
    client: 'pg',
    connection: { connectionString: databaseUrl, connectionTimeoutMillis: DB_CONNECT_TIMEOUT_MS },
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: DB_ACQUIRE_TIMEOUT_MS,
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

/** Errors that say PostgreSQL cannot be reached (refused, restarting, shutting down, pool timeout), not that a query is wrong. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '53300']);
const UNAVAILABLE_MESSAGES = /Connection terminated|connection error|timeout exceeded when trying to connect|Knex: Timeout acquiring a connection/i;

export function isDatabaseUnavailable(err: unknown): boolean {
  let e = err as { name?: string; code?: string; message?: string; nativeError?: unknown; cause?: unknown; errors?: unknown[] } | undefined;
  for (let depth = 0; e && depth < 4; depth++) {
    if (e.name === 'KnexTimeoutError' || (e.code && UNAVAILABLE_CODES.has(e.code)) || UNAVAILABLE_MESSAGES.test(e.message ?? '')) return true;
    e = (e.nativeError ?? e.cause ?? e.errors?.[0]) as typeof e;
  }
  return false;
}
