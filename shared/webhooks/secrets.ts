import crypto from 'node:crypto';
import { seal, unseal } from '../platform/crypto';

/** An endpoint's signing secrets, newest first; an old one stays valid until its `expires_at` (rotation). */
export interface EndpointSecret {
  secret: string;
  expires_at: string | null;
}

/** A new Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export const newWebhookSecret = () => `whsec_${crypto.randomBytes(32).toString('base64')}`;

export const sealSecrets = (secrets: EndpointSecret[], key: Buffer) => seal(JSON.stringify(secrets), key);

/** The secrets still valid now. A sealed bare secret (an alert rule's, moved by migration 025) is one that never expires. */
export function validSecrets(sealed: string, key: Buffer, now = new Date()): EndpointSecret[] {
  const plain = unseal(sealed, key);
  const secrets: EndpointSecret[] = plain.startsWith('[') ? JSON.parse(plain) : [{ secret: plain, expires_at: null }];
  return secrets.filter((s) => !s.expires_at || new Date(s.expires_at) > now);
}
