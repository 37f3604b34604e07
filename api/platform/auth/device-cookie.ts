import crypto from 'node:crypto';
import { safeEqual } from '../../../shared/platform/crypto';

/**
 * OWASP's "device cookie": issued at each successful sign-in, signed (HMAC under a key derived from the JWT secret), bound
 * to the user. A sign-in that presents a valid one for the account is counted on that device alone, so failures from
 * other clients never lock the owner out of a browser they used before. Browsers send it back by themselves
 * (HttpOnly, SameSite=Strict); other clients keep it like any cookie.
 */
export const DEVICE_COOKIE = 'idcflow_device';
const MAX_AGE_SECONDS = 180 * 86400;

export class DeviceCookies {
  private readonly key: Buffer;
  constructor(secret: Buffer, private readonly secure: boolean) {
    this.key = crypto.createHmac('sha256', secret).update('idcflow device cookie v1').digest();
  }

  private mac(userId: number, issued: number, nonce: string): string {
    return crypto.createHmac('sha256', this.key).update(`${userId}.${issued}.${nonce}`).digest('base64url');
  }

  /** A new cookie value for `userId`. */
  issue(userId: number): string {
    const issued = Math.floor(Date.now() / 1000);
    const nonce = crypto.randomBytes(12).toString('base64url');
    return `${userId}.${issued}.${nonce}.${this.mac(userId, issued, nonce)}`;
  }

  /** The device's id (its nonce) when `value` is a valid, unexpired cookie of `userId`; null otherwise. */
  deviceOf(value: string | null | undefined, userId: number): string | null {
    const m = /^(\d{1,12})\.(\d{1,12})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/.exec(value ?? '');
    if (!m || Number(m[1]) !== userId) return null;
    const issued = Number(m[2]);
    if (issued * 1000 + MAX_AGE_SECONDS * 1000 < Date.now()) return null;
    return safeEqual(this.mac(userId, issued, m[3]), m[4]) ? m[3] : null;
  }

  /** The Set-Cookie header for a value (the path covers every sign-in: the native, compat and OAuth forms). */
  header(value: string): string {
    return `${DEVICE_COOKIE}=${value}; Path=/; Max-Age=${MAX_AGE_SECONDS}; HttpOnly; SameSite=Strict${this.secure ? '; Secure' : ''}`;
  }
}
