import type { Knex } from 'knex';

/**
 * Relay TLS: each rental keeps the certificate its relay serves (the private key sealed) and the name it was issued
 * for. Instances gain `files` (`[{path, mode, content | contentSealed}]`): files an engine writes into a container
 * before it starts (a relay's certificate and key).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('rentals', (t) => {
    t.string('tls_hostname', 255);
    t.text('tls_cert');
    t.text('tls_key_sealed');
  });
  await knex.schema.alterTable('instances', (t) => {
    t.jsonb('files').notNullable().defaultTo('[]');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instances', (t) => t.dropColumn('files'));
  await knex.schema.alterTable('rentals', (t) => {
    t.dropColumn('tls_key_sealed');
    t.dropColumn('tls_cert');
    t.dropColumn('tls_hostname');
  });
}
