import type { Knex } from 'knex';

/**
 * An operation keeps what starts its workflow (type, task queue, input, summary, search attributes; never secrets), so a
 * reconcile can start it when the API stopped between the insert and the start; a partial index finds the active rows.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('operations', (t) => t.jsonb('workflow_start'));
  await knex.raw("CREATE INDEX operations_active_by_update ON operations (updated_at) WHERE status IN ('pending','running')");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS operations_active_by_update');
  await knex.schema.alterTable('operations', (t) => t.dropColumn('workflow_start'));
}
