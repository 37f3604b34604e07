import type { Knex } from 'knex';

/** Networking: what an apply warned about (other tables' forward hooks dropping by default), kept with the apply. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('network_applies', (t) => {
    t.jsonb('warnings');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('network_applies', (t) => {
    t.dropColumn('warnings');
  });
}
