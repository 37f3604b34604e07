import type { Knex } from 'knex';

/** An instance's SSH public keys: a libvirt VM's cloud-init seed installs them (`ssh_authorized_keys`). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instances', (t) => {
    t.jsonb('ssh_keys').notNullable().defaultTo('[]');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instances', (t) => {
    t.dropColumn('ssh_keys');
  });
}
