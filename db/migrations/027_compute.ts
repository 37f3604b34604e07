import type { Knex } from 'knex';

/**
 * The console gateways that run, each saying which hosts it serves (hosts without an agent on its worker's task queue,
 * or agent hosts by name) and when it last said so: the API hands out a console ticket for a gateway found here
 * without asking a worker first.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('console_gateways', (t) => {
    t.text('url').primary();
    t.string('task_queue', 200); // set when it serves the hosts without an agent of this task queue's workers
    t.specificType('agent_hosts', 'text[]').notNullable().defaultTo('{}');
    t.timestamp('seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('console_gateways');
}
