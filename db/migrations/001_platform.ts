import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.increments('id');
    t.string('username', 64).notNullable();
    t.string('email', 255);
    t.string('full_name', 255);
    t.text('password_hash').notNullable();
    t.string('role', 16).notNullable().defaultTo('user');
    t.boolean('is_active').notNullable().defaultTo(true);
    t.boolean('email_verified').notNullable().defaultTo(false);
    t.timestamp('last_login', { useTz: true });
    t.string('last_ip', 64);
    t.integer('login_count').notNullable().defaultTo(0);
    t.integer('failed_login_attempts').notNullable().defaultTo(0);
    t.timestamp('last_failed_login', { useTz: true });
    t.timestamp('locked_until', { useTz: true });
    t.timestamp('password_changed_at', { useTz: true });
    t.jsonb('profile').notNullable().defaultTo('{}');
    t.timestamps(true, true);
    t.timestamp('deleted_at', { useTz: true });
    t.text('deleted_reason');
  });
  await knex.raw('CREATE UNIQUE INDEX users_username_live ON users (lower(username)) WHERE deleted_at IS NULL');
  await knex.raw("ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('admin','manager','user','viewer'))");

  await knex.schema.createTable('sessions', (t) => {
    t.uuid('id').primary();
    t.integer('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.string('ip', 64);
    t.text('user_agent');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('revoked_at', { useTz: true });
    t.index(['user_id']);
  });

  await knex.schema.createTable('refresh_tokens', (t) => {
    t.increments('id');
    t.uuid('session_id').notNullable().references('sessions.id').onDelete('CASCADE');
    t.string('token_hash', 64).notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
  });

  await knex.schema.createTable('api_tokens', (t) => {
    t.increments('id');
    t.integer('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.string('name', 100).notNullable();
    t.string('prefix', 16).notNullable();
    t.string('token_hash', 64).notNullable().unique();
    t.jsonb('scopes').notNullable().defaultTo('[]');
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['user_id']);
  });

  await knex.schema.createTable('system_secrets', (t) => {
    t.string('name', 64).primary();
    t.text('sealed').notNullable();
    t.integer('updated_by');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('operations', (t) => {
    t.string('id', 200).primary();
    t.string('type', 64).notNullable();
    t.string('status', 16).notNullable().defaultTo('pending');
    t.string('resource_type', 64).notNullable();
    t.string('resource_id', 128).notNullable();
    t.string('resource_name', 255);
    t.string('host', 128);
    t.integer('progress_percent').notNullable().defaultTo(0);
    t.string('progress_step', 128);
    t.text('progress_message');
    t.integer('created_by');
    t.string('idempotency_key', 255);
    t.string('request_hash', 64);
    t.jsonb('params').notNullable().defaultTo('{}');
    t.jsonb('result');
    t.jsonb('error');
    t.timestamps(true, true);
    t.timestamp('finished_at', { useTz: true });
    t.index(['type', 'status']);
    t.index(['resource_type', 'resource_id']);
    t.index(['created_by', 'created_at']);
  });
  await knex.raw(
    "CREATE UNIQUE INDEX operations_one_active_per_resource ON operations (resource_type, resource_id) WHERE status IN ('pending','running')",
  );
  await knex.raw(
    'CREATE UNIQUE INDEX operations_idempotency ON operations (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL',
  );

  await knex.schema.createTable('operation_events', (t) => {
    t.bigIncrements('id');
    t.string('operation_id', 200).notNullable().references('operations.id').onDelete('CASCADE');
    t.string('event_key', 255).notNullable();
    t.string('level', 8).notNullable().defaultTo('info');
    t.string('step', 128);
    t.integer('percent');
    t.text('message');
    t.jsonb('data');
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['operation_id', 'event_key']);
  });

  await knex.schema.createTable('user_backups', (t) => {
    t.increments('id');
    t.integer('user_id').notNullable();
    t.string('username', 64).notNullable();
    t.string('operation_id', 200).notNullable().unique();
    t.text('file_path').notNullable();
    t.bigInteger('size_bytes').notNullable();
    t.string('sha256', 64).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id');
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.string('level', 8).notNullable().defaultTo('INFO');
    t.string('module', 32).notNullable();
    t.string('action', 64).notNullable();
    t.text('message').notNullable();
    t.integer('user_id');
    t.string('username', 64);
    t.string('ip_address', 64);
    t.string('request_id', 64);
    t.string('resource_type', 64);
    t.string('resource_id', 128);
    t.jsonb('details').notNullable().defaultTo('{}');
    t.index(['at']);
    t.index(['user_id', 'at']);
  });

  await knex.schema.createTable('mail_outbox', (t) => {
    t.increments('id');
    t.string('idempotency_key', 255).notNullable().unique();
    t.string('recipient', 255).notNullable();
    t.string('subject', 255).notNullable();
    t.string('status', 16).notNullable().defaultTo('pending');
    t.text('error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('sent_at', { useTz: true });
  });

  // Storage for rate-limiter-flexible's RateLimiterPostgres (login throttling).
  await knex.schema.createTable('rate_limits', (t) => {
    t.string('key', 255).primary();
    t.integer('points').notNullable().defaultTo(0);
    t.bigInteger('expire');
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['rate_limits', 'mail_outbox', 'audit_log', 'user_backups', 'operation_events', 'operations', 'system_secrets', 'api_tokens', 'refresh_tokens', 'sessions', 'users']) {
    await knex.schema.dropTableIfExists(table);
  }
}
