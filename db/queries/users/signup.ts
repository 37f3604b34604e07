import type { Knex } from 'knex';

/** A self-registered account as sign-up creates it: an ordinary user whose sign-in waits for the email verification. */
export interface PendingAccount {
  username: string;
  email: string;
  password_hash: string;
}

/** The quota rows a pending account holds until it is verified: nothing at all (the defaults come with the verification). */
const ZERO_COMPUTE = { cpu: 0, ram_mb: 0, disk_gb: 0, instances: 0 };
const ZERO_NETWORK = { nat_ports: 0, proxies: 0, addresses: 0 };

/** Creates a pending account with zero quotas, in `trx`. A taken username raises PostgreSQL's unique violation (23505). */
export async function createPendingAccount(trx: Knex.Transaction, a: PendingAccount): Promise<{ id: number; username: string }> {
  const [user] = await trx('users').insert({
    username: a.username, email: a.email, password_hash: a.password_hash, role: 'user', is_active: true,
    email_verified: false, signup_pending: true, password_changed_at: trx.fn.now(),
  }).returning(['id', 'username']);
  await trx('user_quotas').insert({ user_id: user.id, ...ZERO_COMPUTE }).onConflict('user_id').ignore();
  await trx('network_quotas').insert({ user_id: user.id, ...ZERO_NETWORK }).onConflict('user_id').ignore();
  return user as { id: number; username: string };
}

/**
 * Ends a sign-up once its email is verified (in the verification's transaction): the account may sign in, and its
 * zero quotas give way to the defaults. Quotas an admin set meanwhile (anything but all zeros) stay.
 */
export async function completeSignup(trx: Knex.Transaction, userId: number): Promise<boolean> {
  const done = await trx('users').where({ id: userId, signup_pending: true }).update({ signup_pending: false, updated_at: trx.fn.now() });
  if (!done) return false;
  await trx('user_quotas').where({ user_id: userId, ...ZERO_COMPUTE }).delete();
  await trx('network_quotas').where({ user_id: userId, ...ZERO_NETWORK }).delete();
  return true;
}

/** Whether an account still waits for its first email verification (it cannot sign in). */
export async function signupPending(db: Knex, userId: number): Promise<boolean> {
  return Boolean(await db('users').where({ id: userId, signup_pending: true }).first('id'));
}
