import type { Knex } from 'knex';

/** Console sessions: a single-use ticket (stored hashed) per terminal, and when it was opened and closed. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('console_sessions', (t) => {
    t.bigIncrements('id');
    t.string('ticket_hash', 64).notNullable().unique();
    t.integer('user_id');
    t.integer('instance_id').notNullable();
    t.integer('host_id').notNullable();
    t.string('engine_ref', 255).notNullable();
    t.string('terminal_id', 64);
    t.string('gateway', 500).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('opened_at', { useTz: true });
    t.string('remote_addr', 64);
    t.timestamp('closed_at', { useTz: true });
    t.string('close_reason', 200);
    t.bigInteger('bytes_in').notNullable().defaultTo(0);
    t.bigInteger('bytes_out').notNullable().defaultTo(0);
    t.index(['instance_id', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('console_sessions');
}
