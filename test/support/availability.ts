import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { createKnex } from '../../db/knex';
import { migrateLatest } from '../../db/migrate';
import { ensureAdminUser } from '../../db/queries/users/bootstrap';
import { freePort } from '../../workers/embedded-services';
import { loadConfig } from '../../shared/platform/config';
import { TABLES_KEPT_ON_RESTORE } from '../../shared/availability/backups';
import { apiClient } from './api';
import { spawnEntrypoint, spawnWorker, type Spawned } from './processes';

/** Why platform-backup tests cannot run here (no PostgreSQL 18 client tools), or null. */
export function pgToolsMissing(): string | null {
  const dir = loadConfig(process.env).backups.pgBinDir;
  return fs.existsSync(path.join(dir, 'pg_dump')) && fs.existsSync(path.join(dir, 'pg_restore'))
    ? null : `pg_dump/pg_restore 18 not found in ${dir}: run scripts/pg-tools.sh (CI does)`;
}

/**
 * A platform of its own for tests that restore a whole database: a fresh database on the suite's PostgreSQL server,
 * migrated, with its own API and worker processes (own task queue and data directory), so a restore there cannot
 * disturb the test files that share the suite's database.
 */
export async function startIsolatedPlatform(name: string, extraEnv: NodeJS.ProcessEnv = {}) {
  const suffix = crypto.randomBytes(4).toString('hex');
  const database = `${name}_${suffix}`;
  const server = createKnex(process.env.DATABASE_URL!, 1);
  await server.raw(`CREATE DATABASE "${database}"`);
  await server.destroy();
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${database}`;
  const databaseUrl = url.toString();
  const knex: Knex = createKnex(databaseUrl, 4);
  await migrateLatest(knex);
  await ensureAdminUser(knex, { username: 'admin', password: process.env.IDCFLOW_ADMIN_PASSWORD, email: 'admin@example.test' });
  const dataDir = path.join(process.env.IDCFLOW_DATA_DIR!, '..', database);
  fs.mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: databaseUrl, IDCFLOW_DATA_DIR: dataDir, IDCFLOW_TASK_QUEUE: database, PORT: String(port), LOG_LEVEL: 'info', ...extraEnv };
  const api = await spawnEntrypoint('workers/api.ts', [], env, 'idcflow API listening');
  let worker: Spawned = await spawnWorker(database, env);
  const client = apiClient(`http://127.0.0.1:${port}`);
  return {
    ...client, knex, databaseUrl, dataDir, env,
    worker: () => worker,
    /** Kills the worker outright (SIGKILL) and starts another on the same queue. */
    async killWorker() {
      worker.proc.kill('SIGKILL');
      await worker.stop();
    },
    async startWorker(extraEnv: NodeJS.ProcessEnv = {}) {
      worker = await spawnWorker(database, { ...env, ...extraEnv });
    },
    async stop() {
      await worker.stop();
      await api.stop();
      await knex.destroy();
      const admin = createKnex(process.env.DATABASE_URL!, 1);
      await admin.raw(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await admin.destroy();
    },
  };
}

export type IsolatedPlatform = Awaited<ReturnType<typeof startIsolatedPlatform>>;

/** An MD5 of every row of every table a restore brings back, in a fixed order: equal maps mean equal contents. */
export async function tableChecksums(knex: Knex): Promise<Record<string, string>> {
  const tables = (await knex.raw("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")).rows
    .map((r: { tablename: string }) => r.tablename).filter((t: string) => !TABLES_KEPT_ON_RESTORE.includes(t));
  const out: Record<string, string> = {};
  for (const t of tables) {
    const r = await knex.raw(`SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS sum FROM "${t}" t`);
    out[t] = `${r.rows[0].n}:${r.rows[0].sum}`;
  }
  return out;
}
