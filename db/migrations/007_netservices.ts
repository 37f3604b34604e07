import type { Knex } from 'knex';

/**
 * Network services (issue 9): IPv6 prefix pools and allocations, WireGuard servers and clients, BGP sessions and announcements.
 * Overlaps are impossible by construction: exclusion constraints on the `cidr` columns, so concurrent allocations cannot
 * collide whatever the application does. Pools never overlap each other and every allocation lies inside its pool (a
 * CHECK-like trigger), so one SP-GiST exclusion over all allocations is the same as one per pool; SP-GiST inserts stay
 * around a millisecond at a million rows, where a GiST `(pool_id WITH =, cidr WITH &&)` index took minutes to load.
 */
export async function up(knex: Knex): Promise<void> {

  await knex.schema.createTable('ipv6_pools', (t) => {
    t.increments('id');
    t.string('name', 64).notNullable().unique();
    t.specificType('prefix', 'cidr').notNullable();
    t.integer('prefix_length').notNullable();
    t.string('description', 500);
    t.string('status', 16).notNullable().defaultTo('active');
    /** Every block of the pool below this one is allocated: the search for the next free one starts here. */
    t.specificType('scan_from', 'cidr');
    t.integer('created_by').references('users.id').onDelete('SET NULL');
    t.timestamps(true, true);
  });
  await knex.raw(`ALTER TABLE ipv6_pools
    ADD CONSTRAINT ipv6_pools_family CHECK (family(prefix) = 6),
    ADD CONSTRAINT ipv6_pools_length CHECK (prefix_length BETWEEN masklen(prefix) AND 128),
    ADD CONSTRAINT ipv6_pools_no_overlap EXCLUDE USING gist (prefix inet_ops WITH &&)`);

  await knex.schema.createTable('ipv6_allocations', (t) => {
    t.increments('id');
    t.integer('pool_id').notNullable().references('ipv6_pools.id');
    t.specificType('cidr', 'cidr').notNullable();
    t.string('client_name', 128).notNullable();
    t.string('description', 500);
    t.integer('user_id').references('users.id').onDelete('SET NULL');
    t.string('status', 16).notNullable().defaultTo('active');
    t.timestamp('allocated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('ALTER TABLE ipv6_allocations ADD CONSTRAINT ipv6_allocations_no_overlap EXCLUDE USING spgist (cidr inet_ops WITH &&)');
  await knex.raw(`CREATE FUNCTION ipv6_allocation_inside_pool() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM ipv6_pools p WHERE p.id = NEW.pool_id AND NEW.cidr <<= p.prefix) THEN
        RAISE EXCEPTION 'prefix % is not inside pool %', NEW.cidr, NEW.pool_id USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END $$`);
  await knex.raw('CREATE TRIGGER ipv6_allocations_inside_pool BEFORE INSERT OR UPDATE ON ipv6_allocations FOR EACH ROW EXECUTE FUNCTION ipv6_allocation_inside_pool()');
  // The gap query walks one pool's allocations in address order (a GiST index cannot return rows in order).
  await knex.raw('CREATE INDEX ipv6_allocations_pool_cidr ON ipv6_allocations (pool_id, cidr)');

  await knex.schema.createTable('wg_servers', (t) => {
    t.increments('id');
    t.string('name', 64).notNullable().unique();
    t.integer('host_id').notNullable().references('hosts.id');
    t.string('interface', 15).notNullable();
    t.integer('listen_port').notNullable();
    t.specificType('ipv4_address', 'inet');
    t.specificType('ipv6_address', 'inet');
    t.jsonb('dns_servers').notNullable().defaultTo('[]');
    t.integer('mtu');
    t.string('endpoint', 255);
    t.string('public_key', 44).notNullable();
    t.text('private_key_sealed').notNullable();
    t.boolean('is_active').notNullable().defaultTo(true);
    /** What an operator asked for (running/stopped) and what the agent last applied (stopped/running/error). */
    t.string('desired_state', 16).notNullable().defaultTo('stopped');
    t.string('status', 16).notNullable().defaultTo('stopped');
    t.text('last_error');
    t.timestamp('started_at', { useTz: true });
    t.timestamp('stopped_at', { useTz: true });
    t.timestamp('stats_at', { useTz: true });
    t.integer('created_by').references('users.id').onDelete('SET NULL');
    t.timestamps(true, true);
    t.unique(['host_id', 'interface']);
    t.unique(['host_id', 'listen_port']);
  });

  await knex.schema.createTable('wg_clients', (t) => {
    t.increments('id');
    t.integer('server_id').notNullable().references('wg_servers.id');
    t.integer('user_id').references('users.id').onDelete('SET NULL');
    t.string('name', 64).notNullable();
    t.specificType('ipv4_address', 'inet');
    t.specificType('ipv6_address', 'inet');
    t.integer('ipv6_allocation_id').references('ipv6_allocations.id');
    t.string('public_key', 44).notNullable();
    /** Null when the client brought its own public key: its private key never touched the server. */
    t.text('private_key_sealed');
    t.jsonb('dns_servers').notNullable().defaultTo('[]');
    t.jsonb('allowed_ips').notNullable().defaultTo('[]');
    t.boolean('enabled').notNullable().defaultTo(true);
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('last_handshake', { useTz: true });
    t.bigInteger('bytes_received').notNullable().defaultTo(0);
    t.bigInteger('bytes_sent').notNullable().defaultTo(0);
    t.string('endpoint', 64);
    t.timestamp('stats_at', { useTz: true });
    t.timestamps(true, true);
    t.unique(['server_id', 'public_key']);
    t.unique(['server_id', 'name']);
  });
  // An address is never handed out twice on one server.
  await knex.raw('CREATE UNIQUE INDEX wg_clients_server_ipv4 ON wg_clients (server_id, ipv4_address) WHERE ipv4_address IS NOT NULL');
  await knex.raw('CREATE UNIQUE INDEX wg_clients_server_ipv6 ON wg_clients (server_id, ipv6_address) WHERE ipv6_address IS NOT NULL');
  await bgp(knex);
}

/** BGP: sessions and announcements per host (BIRD 2 runs there), and the ranges an admin allowed each host to announce. */
async function bgp(knex: Knex): Promise<void> {
  await knex.schema.createTable('bgp_sessions', (t) => {
    t.increments('id');
    t.string('name', 64).notNullable().unique();
    t.integer('host_id').notNullable().references('hosts.id');
    t.specificType('neighbor', 'inet').notNullable();
    t.bigInteger('remote_as').notNullable();
    t.bigInteger('local_as').notNullable();
    t.text('password_sealed');
    t.boolean('enabled').notNullable().defaultTo(true);
    /** As BIRD last reported it (the agent reads `birdc show protocols all`). */
    t.string('status', 32).notNullable().defaultTo('idle');
    t.string('info', 255);
    t.string('last_error', 255);
    t.timestamp('state_since', { useTz: true });
    t.integer('routes_received');
    t.integer('routes_advertised');
    t.timestamp('last_update', { useTz: true });
    t.integer('created_by').references('users.id').onDelete('SET NULL');
    t.timestamps(true, true);
  });
  await knex.raw('CREATE UNIQUE INDEX bgp_sessions_host_neighbor ON bgp_sessions (host_id, neighbor)');
  await knex.schema.createTable('bgp_allowed_prefixes', (t) => {
    t.increments('id');
    t.integer('host_id').notNullable().references('hosts.id');
    t.specificType('prefix', 'cidr').notNullable();
    t.timestamps(true, true);
    t.unique(['host_id', 'prefix']);
  });
  await knex.schema.createTable('bgp_announcements', (t) => {
    t.increments('id');
    t.integer('host_id').notNullable().references('hosts.id');
    t.specificType('prefix', 'cidr').notNullable();
    t.specificType('next_hop', 'inet');
    t.string('as_path', 255);
    t.string('community', 255);
    t.boolean('enabled').notNullable().defaultTo(true);
    t.integer('created_by').references('users.id').onDelete('SET NULL');
    t.timestamps(true, true);
    t.unique(['host_id', 'prefix']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('bgp_announcements');
  await knex.schema.dropTable('bgp_allowed_prefixes');
  await knex.schema.dropTable('bgp_sessions');
  await knex.schema.dropTable('wg_clients');
  await knex.schema.dropTable('wg_servers');
  await knex.schema.dropTable('ipv6_allocations');
  await knex.raw('DROP FUNCTION IF EXISTS ipv6_allocation_inside_pool()');
  await knex.schema.dropTable('ipv6_pools');
}
