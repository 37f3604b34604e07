import type { Knex } from 'knex';
import * as core from './migrations/001_core';
import * as dbsync from './migrations/003_dbsync';
import * as compute from './migrations/002_compute';
import * as consoleSessions from './migrations/004_console';

/** Migrations are imported modules, so the same list runs from TypeScript sources and from dist/. */
const migrations: Record<string, Knex.Migration> = {
  '001_core': core,
  '003_dbsync': dbsync,
  '002_compute': compute,
  '004_console': consoleSessions,
};

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name],
};

export async function migrateLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest({ migrationSource: source })) as [number, string[]];
  return applied;
}
