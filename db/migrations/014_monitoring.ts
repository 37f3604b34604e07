import type { Knex } from 'knex';

/**
 * Metrics (raw samples, then 5-minute rollups), alert rules, alerts (one row per firing) and their deliveries.
 * A sample is one row per source and time with every figure in `values`, so a month for 50 hosts stays in the
 * hundreds of thousands of rows.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('metric_samples', (t) => {
    t.string('source', 200).notNullable();
    t.timestamp('at', { useTz: true }).notNullable();
    t.string('kind', 16).notNullable();
    t.integer('host_id').references('hosts.id').onDelete('SET NULL');
    t.jsonb('values').notNullable();
    t.primary(['source', 'at']);
    t.index(['kind', 'at']);
    t.index(['host_id', 'at']);
    t.index(['at']);
  });
  // Rollups hold a month: figures as arrays over a dictionary of names (a quarter of the size of jsonb with the names).
  await knex.schema.createTable('metric_names', (t) => {
    t.increments('id');
    t.string('name', 128).notNullable().unique();
  });
  await knex.schema.createTable('metric_rollups', (t) => {
    t.string('source', 200).notNullable();
    t.timestamp('bucket', { useTz: true }).notNullable();
    t.string('kind', 16).notNullable();
    t.integer('host_id').references('hosts.id').onDelete('SET NULL');
    t.integer('samples').notNullable();
    t.specificType('metric_ids', 'integer[]').notNullable();
    t.specificType('avg_values', 'float8[]').notNullable();
    t.specificType('max_values', 'float8[]').notNullable();
    t.primary(['source', 'bucket']);
    t.index(['kind', 'bucket']);
    t.index(['host_id', 'bucket']);
    t.index(['bucket']);
  });
  await knex.schema.createTable('alert_rules', (t) => {
    t.string('id', 64).primary();
    t.string('name', 200).notNullable();
    t.text('description');
    t.string('metric_name', 128).notNullable();
    t.string('condition', 2).notNullable();
    t.double('threshold').notNullable();
    t.string('level', 16).notNullable();
    t.boolean('enabled').notNullable().defaultTo(true);
    t.double('cooldown_minutes').notNullable().defaultTo(5);
    t.string('host', 128);
    t.jsonb('notify_emails').notNullable().defaultTo('[]');
    t.text('webhook_url');
    t.text('webhook_secret_sealed');
    t.integer('created_by');
    t.timestamps(true, true);
  });
  await knex.schema.createTable('alerts', (t) => {
    t.string('id', 300).primary();
    t.string('rule_id', 64).notNullable().references('alert_rules.id').onDelete('CASCADE');
    t.string('source', 200).notNullable();
    t.string('host', 128);
    t.string('status', 16).notNullable();
    t.string('level', 16).notNullable();
    t.double('current_value');
    t.double('threshold_value').notNullable();
    t.timestamp('fired_at', { useTz: true }).notNullable();
    t.timestamp('resolved_at', { useTz: true });
    t.string('resolve_reason', 64);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['rule_id', 'source', 'fired_at']);
    t.index(['status', 'level']);
  });
  // One active alert per rule and source, whatever runs the evaluation.
  await knex.raw("create unique index alerts_one_active on alerts (rule_id, source) where status = 'active'");
  await knex.schema.createTable('alert_deliveries', (t) => {
    t.bigIncrements('id');
    t.string('alert_id', 300).notNullable().references('alerts.id').onDelete('CASCADE');
    t.string('channel', 16).notNullable();
    t.text('target').notNullable();
    t.string('status', 16).notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error');
    t.timestamp('sent_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['alert_id', 'channel', 'target']);
    t.index(['status']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['alert_deliveries', 'alerts', 'alert_rules', 'metric_rollups', 'metric_names', 'metric_samples']) await knex.schema.dropTableIfExists(table);
}
