import type { Knex } from 'knex';

/**
 * Runs `write` behind a savepoint of `trx`: when it fails (a unique or exclusion violation the caller answers as a 409),
 * the transaction is rolled back to the savepoint, so it stays usable, and the error goes on to the caller.
 */
export async function underSavepoint<T>(trx: Knex.Transaction, name: string, write: () => Promise<T>): Promise<T> {
  await trx.raw(`SAVEPOINT ${name}`);
  try {
    return await write();
  } catch (err) {
    await trx.raw(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => undefined);
    throw err;
  }
}
