import type { Knex } from 'knex';

/**
 * Two-factor authentication (TOTP, RFC 6238): a user's secret sealed with the master key, pending until a first code
 * confirms it; the last time step accepted (a code works once); recovery codes as SHA-256 digests, each usable once.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('user_two_factor', (t) => {
    t.integer('user_id').primary().references('users.id').onDelete('CASCADE');
    t.text('secret_sealed').notNullable();
    /** Null while the enrollment waits for its first code. */
    t.timestamp('enabled_at', { useTz: true });
    t.bigInteger('last_time_step');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('user_recovery_codes', (t) => {
    t.increments('id');
    t.integer('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.string('code_hash', 64).notNullable();
    t.timestamp('used_at', { useTz: true });
    t.unique(['user_id', 'code_hash']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('user_recovery_codes');
  await knex.schema.dropTableIfExists('user_two_factor');
}
