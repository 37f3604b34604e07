import type { Knex } from 'knex';

/** Per-user JSON records (seed 004), the server settings by section, and the settings' secrets (hashed or sealed). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('user_data', (t) => {
    t.bigIncrements('id');
    t.integer('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.string('key', 128).notNullable();
    t.jsonb('value').notNullable();
    // Bumped on every write: the ETag of the record, for If-Match compare-and-set.
    t.integer('version').notNullable().defaultTo(1);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['user_id', 'key']);
  });
  await knex.schema.createTable('server_settings', (t) => {
    t.string('section', 32).primary();
    t.jsonb('value').notNullable();
    t.integer('updated_by').references('users.id').onDelete('SET NULL');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('settings_secrets', (t) => {
    t.string('name', 64).primary();
    /** sha256 of a credential that is only ever compared (server_token). */
    t.string('hash', 64);
    /** A secret idcflow must use itself (the SMTP password), sealed with the master key. */
    t.text('sealed');
    t.integer('updated_by').references('users.id').onDelete('SET NULL');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('settings_secrets');
  await knex.schema.dropTable('server_settings');
  await knex.schema.dropTable('user_data');
}
