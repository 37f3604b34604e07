import crypto from 'node:crypto';
import { createKnex } from '../../db/knex';
import { migrateLatest } from '../../db/migrate';
import { ensureAdminUser } from '../../db/queries/users/bootstrap';

/** Migrates a database and adds the suite's admin: what services-main does for the suite's own. */
export async function prepareDatabase(url: string): Promise<void> {
  const knex = createKnex(url, 1);
  try {
    await migrateLatest(knex);
    await ensureAdminUser(knex, { username: 'admin', password: process.env.IDCFLOW_ADMIN_PASSWORD, email: 'admin@example.test' });
  } finally {
    await knex.destroy();
  }
}

/**
 * A database of its own on the suite's PostgreSQL, for a test that runs its own Temporal server: the suite's sweeps and
 * reads would otherwise find that test's operations missing from the suite's Temporal and settle them as lost.
 */
export async function ownDatabase(prefix: string): Promise<string> {
  const name = `${prefix}_${crypto.randomBytes(4).toString('hex')}`;
  const main = createKnex(process.env.DATABASE_URL!, 1);
  try {
    await main.raw(`CREATE DATABASE ${name}`);
  } finally {
    await main.destroy();
  }
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${name}`;
  await prepareDatabase(url.toString());
  return url.toString();
}

/** Milliseconds `fn` took, with its result. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = Date.now();
  const value = await fn();
  return { ms: Date.now() - started, value };
}
