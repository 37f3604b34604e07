import type { Knex } from 'knex';

/** Webhook endpoints (users' and admins' subscriptions), their deliveries and every attempt with its answer. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_endpoints', (t) => {
    t.increments('id').primary();
    t.integer('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('url').notNullable();
    t.string('description', 200);
    t.specificType('event_types', 'text[]').notNullable().defaultTo('{}');
    t.string('resource_type', 64);
    t.string('resource_id', 128);
    t.string('operation_type', 64);
    // Sealed JSON: [{secret, expires_at}], the newest first; two while a rotation's old secret stays valid.
    t.text('secrets_sealed').notNullable();
    t.boolean('enabled').notNullable().defaultTo(true);
    t.text('disabled_reason');
    t.boolean('allow_private').notNullable().defaultTo(false);
    t.integer('consecutive_failures').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['user_id']);
    t.index(['enabled']);
  });
  await knex.schema.createTable('webhook_deliveries', (t) => {
    t.string('id', 40).primary(); // the webhook-id header: receivers deduplicate by it
    t.integer('endpoint_id').notNullable().references('webhook_endpoints.id').onDelete('CASCADE');
    t.string('event_id', 200).notNullable();
    t.string('event_type', 64).notNullable();
    t.jsonb('payload').notNullable();
    t.string('status', 16).notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.integer('last_status_code');
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('delivered_at', { useTz: true });
    t.unique(['endpoint_id', 'event_id']);
    t.index(['endpoint_id', 'created_at']);
  });
  await knex.schema.createTable('webhook_attempts', (t) => {
    t.bigIncrements('id').primary();
    t.string('delivery_id', 40).notNullable().references('webhook_deliveries.id').onDelete('CASCADE');
    t.integer('attempt').notNullable();
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.integer('status_code');
    t.text('response_excerpt');
    t.text('error');
    t.integer('duration_ms').notNullable();
    t.unique(['delivery_id', 'attempt']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('webhook_attempts');
  await knex.schema.dropTableIfExists('webhook_deliveries');
  await knex.schema.dropTableIfExists('webhook_endpoints');
}
