import { verificationToken } from '../../shared/platform/email-verification';
import type { TestApi } from './api';

/** Turns the system setting registration_enabled on (an admin's PUT /system/config): seed 000's add_user works from then on. */
export async function openRegistration(api: TestApi): Promise<void> {
  const res = await api.call('PUT', '/api/v1/system/config', { token: await api.admin(), body: { registration_enabled: true } });
  if (res.status !== 200) throw new Error(`opening registration failed: ${res.status} ${res.text}`);
}

/**
 * Opens the link of a sign-up's latest verification mail (GET /api/verify_email), so the account may sign in. The link's
 * signature is the master key's HMAC of its row, computed here rather than read from a mailbox.
 */
export async function verifySignup(api: TestApi, userId: number): Promise<void> {
  const v = await api.deps.knex('email_verifications').where({ user_id: userId }).orderBy('id', 'desc').first();
  if (!v) throw new Error(`no verification mail for user ${userId}`);
  const res = await api.call('GET', `/api/verify_email?id=${v.id}&token=${verificationToken(api.config.masterKey, v)}`);
  if (res.status !== 200) throw new Error(`verifying user ${userId} failed: ${res.status} ${res.text}`);
}
