import type { Knex } from 'knex';

/**
 * Networking (issue 8): the desired state of each host's port forwards, bound (1:1 NAT) addresses and reverse proxies,
 * per-user network quotas, and what each host's agent applied and had to correct. The agent renders a host's whole
 * state from these rows; rows in state `deleting` are already left out of it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('port_forwards', (t) => {
    t.increments('id');
    t.integer('host_id').notNullable().references('hosts.id').onDelete('CASCADE');
    t.integer('instance_id').notNullable().references('instances.id').onDelete('CASCADE');
    t.string('protocol', 3).notNullable();
    t.string('external_address', 64).notNullable();
    t.integer('external_port').notNullable();
    t.string('internal_address', 64).notNullable();
    t.integer('internal_port').notNullable();
    t.string('state', 16).notNullable().defaultTo('pending');
    t.timestamps(true, true);
    t.unique(['host_id', 'protocol', 'external_port'], { indexName: 'port_forwards_host_protocol_port' });
    t.index(['instance_id']);
  });
  await knex.raw("ALTER TABLE port_forwards ADD CONSTRAINT port_forwards_protocol CHECK (protocol IN ('tcp', 'udp'))");
  await knex.raw('ALTER TABLE port_forwards ADD CONSTRAINT port_forwards_ports CHECK (external_port BETWEEN 1 AND 65535 AND internal_port BETWEEN 1 AND 65535)');

  await knex.schema.createTable('instance_addresses', (t) => {
    t.increments('id');
    t.integer('host_id').notNullable().references('hosts.id').onDelete('CASCADE');
    t.integer('instance_id').notNullable().references('instances.id').onDelete('CASCADE');
    t.string('interface', 32).notNullable().defaultTo('eth0');
    t.string('address', 64).notNullable();
    t.integer('prefix').notNullable();
    t.string('gateway', 64);
    t.string('internal_address', 64).notNullable();
    t.string('state', 16).notNullable().defaultTo('pending');
    t.timestamps(true, true);
    t.unique(['address'], { indexName: 'instance_addresses_address' });
    t.index(['instance_id']);
  });

  await knex.schema.createTable('reverse_proxies', (t) => {
    t.increments('id');
    t.integer('host_id').notNullable().references('hosts.id').onDelete('CASCADE');
    t.integer('instance_id').notNullable().references('instances.id').onDelete('CASCADE');
    t.string('domain', 253).notNullable();
    t.string('internal_address', 64).notNullable();
    t.integer('target_port').notNullable();
    t.boolean('tls').notNullable().defaultTo(false);
    t.string('state', 16).notNullable().defaultTo('pending');
    t.timestamps(true, true);
    t.unique(['domain'], { indexName: 'reverse_proxies_domain' });
    t.index(['instance_id']);
  });

  await knex.schema.createTable('network_quotas', (t) => {
    t.integer('user_id').primary().references('users.id').onDelete('CASCADE');
    t.integer('nat_ports').notNullable();
    t.integer('proxies').notNullable();
    t.integer('addresses').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  /** What each host's agent last applied, and every drift it found and corrected. */
  await knex.schema.createTable('network_applies', (t) => {
    t.bigIncrements('id');
    t.integer('host_id').notNullable().references('hosts.id').onDelete('CASCADE');
    t.string('reason', 32).notNullable();
    t.boolean('corrected').notNullable().defaultTo(false);
    t.jsonb('drift');
    t.jsonb('counts').notNullable();
    t.integer('duration_ms').notNullable();
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['host_id', 'at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['network_applies', 'network_quotas', 'reverse_proxies', 'instance_addresses', 'port_forwards']) await knex.schema.dropTableIfExists(table);
}
