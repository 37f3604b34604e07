import crypto from 'node:crypto';
import { safeEqual } from '../platform/crypto';

/** The signature a verification link carries: HMAC of the row's id, nonce and expiry under the master key (never stored). */
export function verificationToken(masterKey: Buffer, v: { id: number; nonce: string; expires_at: Date | string }): string {
  const payload = `email-verify:${v.id}:${v.nonce}:${new Date(v.expires_at).getTime()}`;
  return crypto.createHmac('sha256', masterKey).update(payload).digest('base64url');
}

export const verificationTokenMatches = (masterKey: Buffer, v: { id: number; nonce: string; expires_at: Date | string }, token: string) =>
  safeEqual(verificationToken(masterKey, v), token);
