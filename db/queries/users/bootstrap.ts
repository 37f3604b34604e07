import crypto from 'node:crypto';
import { hashPassword } from '../../../shared/platform/passwords';
import type { Knex } from 'knex';
import type { Config } from '../../../shared/platform/config';

/** Creates the first admin when no user exists. Returns the generated password (shown once) when none was configured. */
export async function ensureAdminUser(knex: Knex, admin: Config['admin']): Promise<{ created: boolean; generatedPassword?: string }> {
  const existing = await knex('users').count<{ count: number }[]>('* as count');
  if (Number(existing[0].count) > 0) return { created: false };
  const generatedPassword = admin.password ? undefined : crypto.randomBytes(15).toString('base64url');
  await knex('users')
    .insert({
      username: admin.username,
      email: admin.email,
      full_name: 'Administrator',
      role: 'admin',
      is_active: true,
      email_verified: true,
      password_hash: await hashPassword(admin.password ?? generatedPassword!),
      password_changed_at: new Date(),
    })
    .onConflict(knex.raw('(lower(username)) WHERE deleted_at IS NULL'))
    .ignore();
  return { created: true, generatedPassword };
}
