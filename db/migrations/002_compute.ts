import type { Knex } from 'knex';

/** Compute (issue 3): hosts and their engines, instances (VMs and containers), IP reservations, quotas, placement settings. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('hosts', (t) => {
    t.increments('id');
    t.string('name', 64).notNullable().unique();
    t.string('address', 255).notNullable();
    t.string('username', 64);
    t.text('password_sealed');
    t.text('private_key_sealed');
    t.text('tls_key_sealed');
    t.string('engine_type', 32).notNullable();
    t.string('system_path', 255);
    t.string('images_path', 255);
    t.string('launch_path', 255);
    t.integer('nat_port_start');
    t.integer('nat_port_end');
    t.jsonb('public_addresses').notNullable().defaultTo('[]');
    t.jsonb('ip_pools').notNullable().defaultTo('[]');
    t.jsonb('plans').notNullable().defaultTo('[]');
    t.jsonb('options').notNullable().defaultTo('{}');
    t.integer('instance_limit').notNullable().defaultTo(0);
    t.integer('weight').notNullable().defaultTo(1);
    t.boolean('enabled').notNullable().defaultTo(true);
    /** Operations on this host run on its agent (task queue host:<name>) instead of the main worker. */
    t.boolean('use_agent').notNullable().defaultTo(false);
    t.timestamp('agent_last_seen', { useTz: true });
    t.string('agent_version', 32);
    t.jsonb('status');
    t.timestamp('status_at', { useTz: true });
    t.timestamps(true, true);
    /** Set when a host that deleted instances still point at is removed (the row stays for their history). */
    t.timestamp('deleted_at', { useTz: true });
  });

  await knex.schema.createTable('instances', (t) => {
    t.increments('id');
    t.string('uuid', 64).notNullable();
    t.integer('host_id').notNullable().references('hosts.id');
    t.string('name', 128).notNullable();
    t.string('os_name', 255);
    t.string('image', 255);
    t.jsonb('command');
    t.integer('cpu').notNullable().defaultTo(1);
    t.integer('ram_mb').notNullable().defaultTo(512);
    t.integer('disk_gb').notNullable().defaultTo(10);
    t.jsonb('nics').notNullable().defaultTo('[]');
    t.integer('owner_id').references('users.id').onDelete('SET NULL'); // a permanently deleted user's instances fall to the admins
    t.string('state', 16).notNullable().defaultTo('creating');
    t.string('engine_ref', 128);
    t.string('origin', 16).notNullable().defaultTo('created');
    t.text('password_sealed');
    t.text('agent_token_sealed');
    t.jsonb('usage');
    t.timestamp('usage_at', { useTz: true });
    t.string('create_operation_id', 200).unique();
    t.jsonb('last_error');
    t.timestamps(true, true);
    t.timestamp('deleted_at', { useTz: true });
    t.index(['host_id']);
    t.index(['owner_id']);
  });
  await knex.raw('CREATE UNIQUE INDEX instances_uuid_live ON instances (uuid) WHERE deleted_at IS NULL');

  await knex.schema.createTable('ip_allocations', (t) => {
    t.increments('id');
    t.integer('host_id').notNullable().references('hosts.id').onDelete('CASCADE');
    t.string('address', 64).notNullable();
    t.integer('instance_id').references('instances.id').onDelete('SET NULL');
    t.string('reserved_by', 200).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['host_id', 'address']);
  });

  await knex.schema.createTable('user_quotas', (t) => {
    t.integer('user_id').primary().references('users.id').onDelete('CASCADE');
    t.integer('cpu').notNullable();
    t.integer('ram_mb').notNullable();
    t.integer('disk_gb').notNullable();
    t.integer('instances').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('cluster_settings', (t) => {
    t.string('key', 64).primary();
    t.jsonb('value').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['cluster_settings', 'user_quotas', 'ip_allocations', 'instances', 'hosts']) await knex.schema.dropTableIfExists(table);
}
