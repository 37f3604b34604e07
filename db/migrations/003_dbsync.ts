import type { Knex } from 'knex';

/** Database instances (seed 002 WhaleFall): credentials, instances, accounts, sync sessions, classification, jobs. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('db_credentials', (t) => {
    t.increments('id');
    t.string('name', 100).notNullable();
    t.string('credential_type', 32).notNullable().defaultTo('database');
    t.string('db_type', 32);
    t.string('username', 128).notNullable();
    t.text('password_sealed').notNullable();
    t.text('description');
    t.boolean('is_active').notNullable().defaultTo(true);
    t.integer('created_by');
    t.timestamps(true, true);
    t.timestamp('deleted_at', { useTz: true });
  });
  await knex.raw('CREATE UNIQUE INDEX db_credentials_name_live ON db_credentials (lower(name)) WHERE deleted_at IS NULL');

  await knex.schema.createTable('db_instances', (t) => {
    t.increments('id');
    t.string('name', 100).notNullable();
    t.string('db_type', 32).notNullable();
    t.string('host', 255).notNullable();
    t.integer('port').notNullable();
    t.string('database_name', 128);
    t.integer('credential_id').references('db_credentials.id');
    t.text('description');
    t.string('environment', 32).notNullable().defaultTo('production');
    t.jsonb('tags').notNullable().defaultTo('[]');
    t.jsonb('options').notNullable().defaultTo('{}');
    t.boolean('is_active').notNullable().defaultTo(true);
    t.string('status', 16).notNullable().defaultTo('unknown');
    t.timestamp('last_connected', { useTz: true });
    t.text('last_error');
    t.string('server_version', 255);
    t.timestamp('last_sync_at', { useTz: true });
    t.integer('created_by');
    t.timestamps(true, true);
    t.timestamp('deleted_at', { useTz: true });
  });
  await knex.raw('CREATE UNIQUE INDEX db_instances_name_live ON db_instances (lower(name)) WHERE deleted_at IS NULL');

  await knex.schema.createTable('db_accounts', (t) => {
    t.increments('id');
    t.integer('instance_id').notNullable().references('db_instances.id').onDelete('CASCADE');
    t.string('db_type', 32).notNullable();
    t.string('account_key', 400).notNullable();
    t.string('username', 255).notNullable();
    t.string('host', 255);
    t.boolean('is_superuser').notNullable().defaultTo(false);
    t.boolean('is_locked').notNullable().defaultTo(false);
    t.boolean('can_login').notNullable().defaultTo(true);
    t.jsonb('capabilities').notNullable().defaultTo('[]');
    t.jsonb('roles').notNullable().defaultTo('[]');
    t.jsonb('privileges').notNullable().defaultTo('[]');
    t.jsonb('attributes').notNullable().defaultTo('{}');
    t.boolean('is_active').notNullable().defaultTo(true);
    t.timestamp('first_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_seen_at', { useTz: true });
    t.timestamp('last_change_at', { useTz: true });
    t.timestamp('deactivated_at', { useTz: true });
    t.timestamps(true, true);
    t.unique(['instance_id', 'account_key']);
  });

  await knex.schema.createTable('sync_sessions', (t) => {
    t.string('id', 200).primary();
    t.string('sync_type', 32).notNullable();
    t.string('sync_category', 32).notNullable().defaultTo('account');
    t.string('status', 16).notNullable().defaultTo('running');
    t.integer('total_instances').notNullable().defaultTo(0);
    t.integer('successful_instances').notNullable().defaultTo(0);
    t.integer('failed_instances').notNullable().defaultTo(0);
    t.integer('cancelled_instances').notNullable().defaultTo(0);
    t.integer('created_by');
    t.string('job_id', 100);
    t.string('operation_id', 200);
    t.jsonb('filters').notNullable().defaultTo('{}');
    t.text('error');
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('completed_at', { useTz: true });
    t.timestamps(true, true);
    t.index(['job_id']);
    t.index(['started_at']);
  });

  await knex.schema.createTable('sync_instance_records', (t) => {
    t.increments('id');
    t.string('session_id', 200).notNullable().references('sync_sessions.id').onDelete('CASCADE');
    t.integer('instance_id').notNullable();
    t.string('instance_name', 100).notNullable();
    t.string('db_type', 32).notNullable();
    t.string('status', 16).notNullable().defaultTo('pending');
    t.integer('items_synced').notNullable().defaultTo(0);
    t.integer('items_created').notNullable().defaultTo(0);
    t.integer('items_updated').notNullable().defaultTo(0);
    t.integer('items_deleted').notNullable().defaultTo(0);
    t.text('error_message');
    t.jsonb('details').notNullable().defaultTo('{}');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('started_at', { useTz: true });
    t.timestamp('completed_at', { useTz: true });
    t.unique(['session_id', 'instance_id']);
  });

  await knex.schema.createTable('account_change_log', (t) => {
    t.bigIncrements('id');
    t.integer('instance_id').notNullable().references('db_instances.id').onDelete('CASCADE');
    t.integer('account_id').references('db_accounts.id').onDelete('SET NULL');
    t.string('account_key', 400).notNullable();
    t.string('change_type', 32).notNullable();
    t.jsonb('diff').notNullable().defaultTo('{}');
    t.string('session_id', 200);
    t.text('message');
    t.timestamp('changed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['instance_id', 'changed_at']);
    t.index(['account_id']);
    t.index(['session_id']);
  });
  await knex.raw("ALTER TABLE account_change_log ADD CONSTRAINT account_change_type_check CHECK (change_type IN ('add','modify_privilege','modify_other','delete'))");

  await knex.schema.createTable('account_classifications', (t) => {
    t.increments('id');
    t.string('code', 64).notNullable().unique();
    t.string('name', 100).notNullable();
    t.text('description');
    t.string('risk_level', 16).notNullable().defaultTo('low');
    t.integer('priority').notNullable().defaultTo(0);
    t.string('color', 16);
    t.boolean('is_system').notNullable().defaultTo(false);
    t.boolean('is_active').notNullable().defaultTo(true);
    t.timestamps(true, true);
  });

  await knex.schema.createTable('classification_rules', (t) => {
    t.increments('id');
    t.integer('classification_id').notNullable().references('account_classifications.id').onDelete('CASCADE');
    t.string('name', 100).notNullable();
    t.string('db_type', 32);
    t.jsonb('expression').notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.boolean('is_active').notNullable().defaultTo(true);
    t.integer('created_by');
    t.timestamps(true, true);
  });

  await knex.schema.createTable('classification_rule_versions', (t) => {
    t.increments('id');
    t.integer('rule_id').notNullable().references('classification_rules.id').onDelete('CASCADE');
    t.integer('version').notNullable();
    t.jsonb('expression').notNullable();
    t.integer('created_by');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['rule_id', 'version']);
  });

  await knex.schema.createTable('classification_batches', (t) => {
    t.string('id', 200).primary();
    t.string('batch_type', 32).notNullable().defaultTo('manual');
    t.string('status', 16).notNullable().defaultTo('running');
    t.integer('total_accounts').notNullable().defaultTo(0);
    t.integer('matched_accounts').notNullable().defaultTo(0);
    t.integer('total_matches').notNullable().defaultTo(0);
    t.jsonb('rule_versions').notNullable().defaultTo('{}');
    t.jsonb('filters').notNullable().defaultTo('{}');
    t.integer('created_by');
    t.string('job_id', 100);
    t.string('operation_id', 200);
    t.text('error');
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('completed_at', { useTz: true });
    t.index(['job_id']);
  });

  await knex.schema.createTable('classification_matches', (t) => {
    t.bigIncrements('id');
    t.string('batch_id', 200).notNullable().references('classification_batches.id').onDelete('CASCADE');
    t.integer('account_id').notNullable().references('db_accounts.id').onDelete('CASCADE');
    t.integer('instance_id').notNullable();
    t.integer('classification_id').notNullable().references('account_classifications.id').onDelete('CASCADE');
    t.integer('rule_id').notNullable();
    t.integer('rule_version').notNullable();
    t.timestamp('matched_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['batch_id', 'account_id', 'classification_id']);
  });

  await knex.schema.createTable('account_classification_assignments', (t) => {
    t.integer('account_id').notNullable().references('db_accounts.id').onDelete('CASCADE');
    t.integer('classification_id').notNullable().references('account_classifications.id').onDelete('CASCADE');
    t.string('batch_id', 200).notNullable();
    t.timestamp('assigned_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['account_id', 'classification_id']);
  });

  await knex.schema.createTable('scheduled_jobs', (t) => {
    t.string('id', 100).primary();
    t.string('name', 100).notNullable();
    t.string('task_type', 32).notNullable();
    t.string('db_type', 32);
    t.jsonb('instance_ids');
    t.string('schedule', 128).notNullable();
    t.jsonb('calendars').notNullable();
    t.string('timezone', 64).notNullable().defaultTo('UTC');
    t.text('description');
    t.boolean('is_enabled').notNullable().defaultTo(true);
    t.boolean('is_paused').notNullable().defaultTo(false);
    t.integer('created_by');
    t.timestamps(true, true);
  });

  const defaults = [
    { code: 'super_admin', name: '超级管理员 / Super administrator', risk_level: 'critical', priority: 100, color: '#dc3545', description: 'Superuser accounts: full control of the instance' },
    { code: 'privileged', name: '特权账户 / Privileged', risk_level: 'high', priority: 80, color: '#fd7e14', description: 'May create roles or databases, replicate, bypass row security or grant privileges' },
    { code: 'sensitive_write', name: '敏感写入 / Write access', risk_level: 'medium', priority: 50, color: '#ffc107', description: 'May change data' },
    { code: 'read_only', name: '只读账户 / Read only', risk_level: 'low', priority: 20, color: '#28a745', description: 'Reads data only' },
    { code: 'locked', name: '已锁定 / Locked or no login', risk_level: 'low', priority: 10, color: '#6c757d', description: 'Cannot sign in' },
  ];
  const ids = await knex('account_classifications').insert(defaults.map((d) => ({ ...d, is_system: true }))).returning(['id', 'code']);
  const byCode = Object.fromEntries(ids.map((r: { id: number; code: string }) => [r.code, r.id]));
  const rules = [
    { classification: 'super_admin', name: 'Superuser', expression: { fn: 'is_superuser' } },
    {
      classification: 'privileged', name: 'Administrative capabilities',
      expression: {
        and: [
          { not: { fn: 'is_superuser' } },
          { or: ['CREATEROLE', 'CREATEDB', 'REPLICATION', 'BYPASSRLS', 'GRANT OPTION', 'CREATE USER', 'SUPER'].map((name) => ({ fn: 'has_capability', name })) },
        ],
      },
    },
    {
      classification: 'sensitive_write', name: 'Data-changing privileges',
      expression: { or: ['INSERT', 'UPDATE', 'DELETE', 'ALL PRIVILEGES', 'CREATE'].map((privilege) => ({ fn: 'has_privilege', privilege })) },
    },
    { classification: 'read_only', name: 'SELECT only', expression: { and: [{ fn: 'has_privilege', privilege: 'SELECT' }, { not: { or: ['INSERT', 'UPDATE', 'DELETE', 'ALL PRIVILEGES'].map((privilege) => ({ fn: 'has_privilege', privilege })) } }] } },
    { classification: 'locked', name: 'Locked or cannot log in', expression: { or: [{ fn: 'is_locked' }, { not: { fn: 'can_login' } }] } },
  ];
  for (const r of rules) {
    const [row] = await knex('classification_rules').insert({ classification_id: byCode[r.classification], name: r.name, expression: JSON.stringify(r.expression) }).returning('id');
    await knex('classification_rule_versions').insert({ rule_id: row.id, version: 1, expression: JSON.stringify(r.expression) });
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'scheduled_jobs', 'account_classification_assignments', 'classification_matches', 'classification_batches', 'classification_rule_versions',
    'classification_rules', 'account_classifications', 'account_change_log', 'sync_instance_records', 'sync_sessions', 'db_accounts',
    'db_instances', 'db_credentials',
  ]) await knex.schema.dropTableIfExists(table);
}
