import type { Knex } from 'knex';

/**
 * Rentals (issue 10, seed 000): email verification, serial-code batches and codes, rentals of a DERP relay (one derper
 * container each) and their history, derpMap ACL logs, distributors (tiers, applications, referrals, commission ledger).
 * Instances gain `ports` (published ports, `[{host, container, protocol}]`): a relay is reached on its own host port.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instances', (t) => {
    t.jsonb('ports').notNullable().defaultTo('[]');
  });

  await knex.schema.createTable('email_verifications', (t) => {
    t.increments('id');
    t.integer('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.string('email', 255).notNullable();
    /** Random; the link carries HMAC(master key, id.nonce.expiry), never stored. */
    t.string('nonce', 64).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['user_id']);
  });

  await knex.schema.createTable('distributor_tiers', (t) => {
    t.increments('id');
    t.string('name', 64).notNullable().unique();
    /** Share of a redeemed code's value credited to the referring distributor, 0..1. */
    t.decimal('commission_rate', 5, 4).notNullable();
    /** Serial codes a distributor of this tier may generate in total. */
    t.integer('code_allowance').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex('distributor_tiers').insert([
    { name: 'bronze', commission_rate: 0.1, code_allowance: 50 },
    { name: 'silver', commission_rate: 0.15, code_allowance: 200 },
    { name: 'gold', commission_rate: 0.2, code_allowance: 1000 },
  ]);

  await knex.schema.createTable('distributors', (t) => {
    t.integer('user_id').primary().references('users.id').onDelete('CASCADE');
    t.string('status', 16).notNullable().defaultTo('pending');
    t.integer('tier_id').references('distributor_tiers.id');
    t.string('referral_code', 32).notNullable().unique();
    t.text('note');
    t.integer('codes_generated').notNullable().defaultTo(0);
    t.timestamp('applied_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('decided_at', { useTz: true });
    t.integer('decided_by').references('users.id').onDelete('SET NULL');
  });
  await knex.raw("ALTER TABLE distributors ADD CONSTRAINT distributors_status_check CHECK (status IN ('pending','approved','rejected'))");

  await knex.schema.createTable('referrals', (t) => {
    t.integer('user_id').primary().references('users.id').onDelete('CASCADE');
    t.integer('distributor_id').notNullable().references('distributors.user_id').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['distributor_id']);
  });

  await knex.schema.createTable('serial_batches', (t) => {
    t.increments('id');
    t.integer('created_by').references('users.id').onDelete('SET NULL');
    /** Set when a distributor generated the batch (within their tier's allowance). */
    t.integer('distributor_id').references('distributors.user_id').onDelete('SET NULL');
    t.integer('days').notNullable();
    t.integer('count').notNullable();
    t.integer('value_cents').notNullable().defaultTo(0);
    t.string('note', 255);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('serial_codes', (t) => {
    t.increments('id');
    t.integer('batch_id').notNullable().references('serial_batches.id').onDelete('CASCADE');
    /** SHA-256 of the code: codes are shown once, at generation. */
    t.string('code_hash', 64).notNullable().unique();
    t.string('hint', 8).notNullable();
    t.integer('days').notNullable();
    t.timestamp('used_at', { useTz: true });
    t.integer('used_by').references('users.id').onDelete('SET NULL');
    t.integer('rental_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['batch_id']);
  });

  await knex.schema.createTable('rentals', (t) => {
    t.increments('id');
    t.string('uuid', 40).notNullable().unique();
    t.integer('user_id').notNullable().references('users.id').onDelete('CASCADE');
    /** provisioning → active ⇄ suspended → deleted (or failed). */
    t.string('status', 16).notNullable().defaultTo('provisioning');
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.integer('host_id').references('hosts.id');
    t.integer('port');
    t.integer('instance_id').references('instances.id').onDelete('SET NULL');
    t.string('workflow_id', 200).notNullable();
    t.jsonb('last_error');
    t.timestamps(true, true);
    t.timestamp('deleted_at', { useTz: true });
    t.index(['user_id']);
    t.index(['expires_at']);
  });
  // A port is held while its rental lives, and free again once the rental is deleted.
  await knex.raw('CREATE UNIQUE INDEX rentals_host_port_live ON rentals (host_id, port) WHERE deleted_at IS NULL AND port IS NOT NULL');
  await knex.raw('ALTER TABLE serial_codes ADD CONSTRAINT serial_codes_rental_fk FOREIGN KEY (rental_id) REFERENCES rentals(id) ON DELETE SET NULL');

  await knex.schema.createTable('rental_history', (t) => {
    t.increments('id');
    t.integer('rental_id').notNullable().references('rentals.id').onDelete('CASCADE');
    t.integer('user_id').references('users.id').onDelete('SET NULL');
    t.string('action', 16).notNullable();
    t.integer('days');
    t.integer('serial_code_id').references('serial_codes.id').onDelete('SET NULL');
    t.timestamp('old_expiry', { useTz: true });
    t.timestamp('new_expiry', { useTz: true });
    /** Idempotency of the change that wrote this row (a code, an update id): written once. */
    t.string('change_key', 200).unique();
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['rental_id']);
  });

  await knex.schema.createTable('commission_ledger', (t) => {
    t.increments('id');
    t.integer('distributor_id').notNullable().references('distributors.user_id').onDelete('CASCADE');
    t.integer('customer_id').references('users.id').onDelete('SET NULL');
    /** One credit per redemption or renewal. */
    t.integer('rental_history_id').notNullable().unique().references('rental_history.id').onDelete('CASCADE');
    t.integer('amount_cents').notNullable();
    t.decimal('rate', 5, 4).notNullable();
    t.string('status', 8).notNullable().defaultTo('pending');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('paid_at', { useTz: true });
    t.integer('paid_by').references('users.id').onDelete('SET NULL');
    t.index(['distributor_id']);
  });

  await knex.schema.createTable('acl_logs', (t) => {
    t.increments('id');
    t.integer('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.string('action', 16).notNullable();
    t.integer('actor_id').references('users.id').onDelete('SET NULL');
    t.jsonb('acl').notNullable();
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['user_id', 'at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['acl_logs', 'commission_ledger', 'rental_history']) await knex.schema.dropTableIfExists(table);
  await knex.raw('ALTER TABLE serial_codes DROP CONSTRAINT IF EXISTS serial_codes_rental_fk');
  for (const table of ['rentals', 'serial_codes', 'serial_batches', 'referrals', 'distributors', 'distributor_tiers', 'email_verifications']) await knex.schema.dropTableIfExists(table);
  await knex.schema.alterTable('instances', (t) => t.dropColumn('ports'));
}
