import type { Knex } from 'knex';

/**
 * Tenancy for the database instances domain (issue 22): every row a non-admin creates is its creator's.
 * - Classifications gain an owner (the system defaults keep none: everyone reads them, admins change them).
 * - An instance records where its credential was attached (host, port, TLS mode): a stored password is sent only
 *   there. Instances saved before this migration were attached where they point now.
 * - Names are unique per owner, so a name taken by another customer is not a 409 that tells it exists.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('account_classifications', (t) => {
    t.integer('created_by');
  });
  await knex.schema.alterTable('db_instances', (t) => {
    t.string('credential_host', 255);
    t.integer('credential_port');
    t.string('credential_ssl', 16);
  });
  await knex.raw(`UPDATE db_instances SET credential_host = host, credential_port = port, credential_ssl = coalesce(options->>'ssl', 'prefer')
                   WHERE credential_id IS NOT NULL`);
  for (const table of ['db_credentials', 'db_instances', 'scheduled_jobs', 'sync_sessions', 'classification_batches', 'classification_rules', 'account_classifications']) {
    await knex.raw(`CREATE INDEX IF NOT EXISTS ${table}_created_by ON ${table} (created_by)`);
  }
  await knex.raw('DROP INDEX IF EXISTS db_credentials_name_live');
  await knex.raw('CREATE UNIQUE INDEX db_credentials_name_live ON db_credentials (coalesce(created_by, 0), lower(name)) WHERE deleted_at IS NULL');
  await knex.raw('DROP INDEX IF EXISTS db_instances_name_live');
  await knex.raw('CREATE UNIQUE INDEX db_instances_name_live ON db_instances (coalesce(created_by, 0), lower(name)) WHERE deleted_at IS NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS db_instances_name_live');
  await knex.raw('CREATE UNIQUE INDEX db_instances_name_live ON db_instances (lower(name)) WHERE deleted_at IS NULL');
  await knex.raw('DROP INDEX IF EXISTS db_credentials_name_live');
  await knex.raw('CREATE UNIQUE INDEX db_credentials_name_live ON db_credentials (lower(name)) WHERE deleted_at IS NULL');
  for (const table of ['db_credentials', 'db_instances', 'scheduled_jobs', 'sync_sessions', 'classification_batches', 'classification_rules', 'account_classifications']) {
    await knex.raw(`DROP INDEX IF EXISTS ${table}_created_by`);
  }
  await knex.schema.alterTable('db_instances', (t) => {
    t.dropColumn('credential_host');
    t.dropColumn('credential_port');
    t.dropColumn('credential_ssl');
  });
  await knex.schema.alterTable('account_classifications', (t) => {
    t.dropColumn('created_by');
  });
}
