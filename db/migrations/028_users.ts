import type { Knex } from 'knex';

/**
 * Sign-up and lockout without denial (issue 22):
 * - `users.signup_pending`: a self-registered account that has not verified its email yet. It cannot sign in, and it
 *   holds zero quotas until the verification gives it the defaults. Admin-created accounts are never pending.
 * - `user_known_addresses`: the client addresses a user signed in from successfully. Failed logins from an address the
 *   account never signed in from do not lock the account for its owner at a known address (nor on a device holding the
 *   account's signed device cookie).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.boolean('signup_pending').notNullable().defaultTo(false);
  });
  await knex.schema.createTable('user_known_addresses', (t) => {
    t.integer('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.string('address', 64).notNullable();
    t.timestamp('first_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['user_id', 'address']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('user_known_addresses');
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('signup_pending');
  });
}
