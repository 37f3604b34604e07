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

/** The secrets still valid now. */
export function validSecrets(sealed: string, key: Buffer, now = new Date()): EndpointSecret[] {
  const secrets = JSON.parse(unseal(sealed, key)) as EndpointSecret[];
  return secrets.filter((s) => !s.expires_at || new Date(s.expires_at) > now);
}
