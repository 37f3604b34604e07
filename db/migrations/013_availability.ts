import type { Knex } from 'knex';

/**
 * High availability (issue 11): each host's health (counted checks, so one blip never flips it), its fencing generation
 * and whether it fails over by itself; each instance's generation (the host's when it was placed there), whether it is
 * pinned (never moved by load balancing), and the host a move is bringing it to (that host's agent leaves it alone).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('hosts', (t) => {
    t.string('health', 16).notNullable().defaultTo('unknown');
    t.integer('health_failures').notNullable().defaultTo(0);
    t.integer('health_successes').notNullable().defaultTo(0);
    t.jsonb('health_reasons').notNullable().defaultTo('[]');
    t.timestamp('health_checked_at', { useTz: true });
    t.timestamp('health_changed_at', { useTz: true });
    t.integer('generation').notNullable().defaultTo(1);
    t.string('fenced_by', 200);
    t.timestamp('fenced_at', { useTz: true });
    t.boolean('auto_failover').notNullable().defaultTo(false);
  });
  await knex.schema.alterTable('instances', (t) => {
    t.integer('generation').notNullable().defaultTo(1);
    t.boolean('pinned').notNullable().defaultTo(false);
    t.integer('moving_to_host_id').references('hosts.id').onDelete('SET NULL');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instances', (t) => { for (const c of ['generation', 'pinned', 'moving_to_host_id']) t.dropColumn(c); });
  await knex.schema.alterTable('hosts', (t) => {
    for (const c of ['health', 'health_failures', 'health_successes', 'health_reasons', 'health_checked_at', 'health_changed_at', 'generation', 'fenced_by', 'fenced_at', 'auto_failover']) t.dropColumn(c);
  });
}
