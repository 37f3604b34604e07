import crypto from 'node:crypto';
import { createKnex } from '../../db/knex';
import { migrateLatest } from '../../db/migrate';
import { ensureAdminUser } from '../../db/queries/users/bootstrap';

/**
 * Gives this test file a database of its own in the suite's PostgreSQL, for tests that change server-wide settings
 * (maintenance mode, the server token, the password policy) which would disturb test files running beside it.
 * Call before startTestApi: the test file's process.env is its own.
 */
export async function useOwnDatabase(label: string): Promise<void> {
  const base = process.env.DATABASE_URL!;
  const name = `idcflow_${label}_${crypto.randomBytes(4).toString('hex')}`;
  const server = createKnex(base, 1);
  await server.raw(`create database "${name}"`);
  await server.destroy();
  const url = new URL(base);
  url.pathname = `/${name}`;
  const knex = createKnex(url.toString(), 1);
  await migrateLatest(knex);
  await ensureAdminUser(knex, { username: 'admin', password: process.env.IDCFLOW_ADMIN_PASSWORD, email: 'admin@example.test' });
  await knex.destroy();
  process.env.DATABASE_URL = url.toString();
}
