import type { Knex } from 'knex';
import type { Account } from 'oidc-provider';

/** The OpenID Connect subject is the idcflow user id; only active, undeleted users sign in. */
export async function findAccount(knex: Knex, sub: string): Promise<Account | undefined> {
  if (!/^\d{1,9}$/.test(sub)) return undefined;
  const user = await knex('users').where({ id: Number(sub), is_active: true }).whereNull('deleted_at')
    .first('id', 'username', 'full_name', 'email', 'email_verified', 'updated_at');
  if (!user) return undefined;
  return {
    accountId: sub,
    claims: async () => ({
      sub,
      name: user.full_name ?? user.username,
      preferred_username: user.username,
      updated_at: Math.floor(new Date(user.updated_at).getTime() / 1000),
      email: user.email ?? undefined,
      email_verified: Boolean(user.email_verified),
    }),
  };
}
