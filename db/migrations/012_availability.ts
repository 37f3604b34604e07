import type { Knex } from 'knex';

/** Platform backups (archives of the database, files and configuration) and the restore maintenance flag. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('platform_backups', (t) => {
    t.string('id', 64).primary();
    t.string('name', 200).notNullable();
    t.string('type', 16).notNullable();
    t.string('status', 16).notNullable().defaultTo('pending');
    t.string('operation_id', 200);
    t.string('schedule_id', 200);
    t.text('file_path');
    t.bigInteger('size_bytes');
    t.string('sha256', 64);
    t.jsonb('manifest');
    t.jsonb('metadata').notNullable().defaultTo('{}');
    t.text('error');
    t.integer('created_by');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('completed_at', { useTz: true });
    t.index(['status', 'created_at']);
  });
  // Kept beside their Temporal Schedules (platform-backup-<name>): what the schedule makes and how often.
  await knex.schema.createTable('backup_schedules', (t) => {
    t.string('name', 64).primary();
    t.string('frequency', 16).notNullable();
    t.string('cron', 100).notNullable();
    t.string('backup_type', 16).notNullable();
    t.boolean('enabled').notNullable().defaultTo(true);
    t.integer('created_by');
    t.timestamps(true, true);
  });
  // One row while a restore replaces the database: the API refuses writes (503) until it is gone.
  await knex.schema.createTable('restore_maintenance', (t) => {
    t.string('operation_id', 200).primary();
    t.string('backup_id', 64).notNullable();
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('restore_maintenance');
  await knex.schema.dropTable('backup_schedules');
  await knex.schema.dropTable('platform_backups');
}
