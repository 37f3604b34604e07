import type { Knex } from 'knex';

/** System settings (seed 003's /system/config), saved configuration documents (seed 001's saving/loader), cluster nodes. */
export async function up(knex: Knex): Promise<void> {
  // One row per setting changed through the API; a setting without a row takes its default from the environment.
  await knex.schema.createTable('system_settings', (t) => {
    t.string('key', 64).primary();
    t.jsonb('value').notNullable();
    t.integer('updated_by');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('system_config_snapshots', (t) => {
    t.increments('id');
    t.jsonb('document').notNullable();
    t.integer('created_by');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  // Every API, worker and agent process, heartbeating; and external nodes registered by their health URL.
  await knex.schema.createTable('cluster_nodes', (t) => {
    t.string('id', 128).primary();
    t.string('kind', 16).notNullable();
    t.string('host', 255).notNullable();
    t.integer('port');
    t.text('health_url');
    t.string('status', 16).notNullable();
    t.timestamp('last_heartbeat', { useTz: true });
    t.double('load_factor');
    t.jsonb('capabilities').notNullable().defaultTo('[]');
    t.string('version', 64);
    t.jsonb('metadata').notNullable().defaultTo('{}');
    t.timestamp('started_at', { useTz: true });
    t.timestamp('last_checked_at', { useTz: true });
    t.jsonb('last_check');
    t.integer('created_by');
    t.timestamps(true, true);
    t.index(['kind']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('cluster_nodes');
  await knex.schema.dropTableIfExists('system_config_snapshots');
  await knex.schema.dropTableIfExists('system_settings');
}
