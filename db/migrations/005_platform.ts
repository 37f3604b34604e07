import type { Knex } from 'knex';

/** An operation names its resource's URL, so a client can follow it (`links.resource`). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('operations', (t) => t.text('resource_url'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('operations', (t) => t.dropColumn('resource_url'));
}
