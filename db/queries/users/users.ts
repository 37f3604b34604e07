import type { Knex } from 'knex';

/** A user as other domains name one: id and username, of an account not deleted. */
export interface UserRef {
  id: number;
  username: string;
}

export async function liveUserById(knex: Knex, id: number): Promise<UserRef | undefined> {
  return knex('users').where({ id }).whereNull('deleted_at').first('id', 'username');
}

/** A live user by username, in any case. */
export async function liveUserByUsername(knex: Knex, username: string): Promise<UserRef | undefined> {
  return knex('users').whereNull('deleted_at').whereRaw('lower(username) = lower(?)', [username]).first('id', 'username');
}

/** The oldest active, live account with this email (any case) that has not verified it yet. */
export async function unverifiedUserByEmail(knex: Knex, email: string): Promise<{ id: number; email: string } | undefined> {
  return knex('users').whereNull('deleted_at').whereRaw('lower(email) = lower(?)', [email]).where({ email_verified: false, is_active: true }).orderBy('id').first('id', 'email');
}

/** Whether a user row exists, deleted or not. */
export async function userExists(knex: Knex, id: number): Promise<boolean> {
  return Boolean(await knex('users').where({ id }).first('id'));
}

/** Locks a user's row for the transaction: what a quota check takes, so two requests cannot both take the last unit. */
export async function lockUser(trx: Knex.Transaction, id: number): Promise<void> {
  await trx('users').where({ id }).forUpdate().first('id');
}
