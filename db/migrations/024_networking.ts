import type { Knex } from 'knex';

/**
 * Networking: a host's ACME settings (its proxies' TLS domains get certificates from that directory instead of Caddy's
 * internal CA), and each TLS proxy's certificate as the host's agent last saw it in Caddy's storage and log.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('host_acme', (t) => {
    t.integer('host_id').primary().references('hosts.id').onDelete('CASCADE');
    t.text('directory').notNullable();
    t.string('email', 254);
    t.text('ca_root_pem');
    t.jsonb('challenges').notNullable();
    /** pending: being applied; deleting: being removed (the host goes back to the internal CA); active: applied. */
    t.string('state', 16).notNullable().defaultTo('pending');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.alterTable('reverse_proxies', (t) => {
    t.jsonb('certificate');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('reverse_proxies', (t) => {
    t.dropColumn('certificate');
  });
  await knex.schema.dropTableIfExists('host_acme');
}
