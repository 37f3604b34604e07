import type { Knex } from 'knex';

/**
 * An Idempotency-Key is unique per owner, the system and server tokens (no owner) included: NULLS NOT DISTINCT.
 * Earlier duplicates under no owner keep the oldest operation's key; the later ones lose theirs.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    UPDATE operations o SET idempotency_key = NULL
    WHERE o.created_by IS NULL AND o.idempotency_key IS NOT NULL
      AND EXISTS (SELECT 1 FROM operations e WHERE e.created_by IS NULL AND e.idempotency_key = o.idempotency_key
                  AND (e.created_at, e.id) < (o.created_at, o.id))`);
  await knex.raw('DROP INDEX operations_idempotency');
  await knex.raw('CREATE UNIQUE INDEX operations_idempotency ON operations (created_by, idempotency_key) NULLS NOT DISTINCT WHERE idempotency_key IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX operations_idempotency');
  await knex.raw('CREATE UNIQUE INDEX operations_idempotency ON operations (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL');
}
