import type { Knex } from 'knex';

const COLUMNS = ['username', 'email', 'full_name'] as const;

/**
 * User search (`ILIKE '%…%'` over username, email and full name): a trigram index per column (pg_trgm,
 * a trusted extension shipped with PostgreSQL), so a search that matches few users reads their rows through a BitmapOr
 * of the three instead of filtering every user.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('create extension if not exists pg_trgm');
  for (const column of COLUMNS) {
    await knex.raw(`create index if not exists users_${column}_trgm on users using gin (${column} gin_trgm_ops)`);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const column of COLUMNS) await knex.raw(`drop index if exists users_${column}_trgm`);
}
