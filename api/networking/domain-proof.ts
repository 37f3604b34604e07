import { z } from 'zod';
import { PROOF_CHECKS, PROOF_METHODS, proofInstructions } from '../../shared/networking/domain-proof';
import { iso } from '../platform/http/schemas';
import type { ReverseProxyRow } from '../../db/queries/networking/reverse-proxies';

/**
 * A proxy's domain is served only once its owner proves control of it. The claim's token (its owner's only: another
 * user's claim of the same domain has its own) goes in a DNS TXT record or behind an HTTP URL; `POST …/verify` checks.
 */
export const proxyVerificationSchema = z.object({
  status: z.enum(['pending', 'verified']),
  method: z.enum(PROOF_METHODS).nullable(),
  verified_at: z.string().nullable(),
  checked_at: z.string().nullable(),
  /** Why the last check found no proof (null once verified). */
  error: z.string().nullable(),
  token: z.string(),
  /** Prove it with this TXT record… */
  dns: z.object({ type: z.literal('TXT'), name: z.string(), value: z.string() }),
  /** …or by serving `body` at `url` (plain text, status 200). None for a wildcard domain. */
  http: z.object({ url: z.string(), body: z.string() }).nullable(),
  /** POST here to run the check (an operation). */
  verify_url: z.string(),
});
export type ProxyVerification = z.infer<typeof proxyVerificationSchema>;

export const verifyProxyBody = z.object({
  /** Which proof to look for: the TXT record, the HTTP token, or either (the TXT record first). */
  check: z.enum(PROOF_CHECKS).default('any'),
  /** Admins only: the HTTP check may reach private addresses (a lab, a private network). */
  allow_private: z.boolean().default(false),
  /** Admins only: mark the domain verified without a check (the admin vouches for the owner). */
  force: z.boolean().default(false),
}).strict().default({ check: 'any', allow_private: false, force: false });
export type VerifyProxyBody = z.infer<typeof verifyProxyBody>;

export function presentVerification(inst: { uuid: string }, r: ReverseProxyRow, httpPort: number): ProxyVerification {
  return {
    status: r.verified_at ? 'verified' : 'pending', method: r.verified_via ?? null, verified_at: iso(r.verified_at), checked_at: iso(r.verification_checked_at),
    error: r.verified_at ? null : r.verification_error ?? null, token: r.verification_token,
    ...proofInstructions(r.domain, r.verification_token, httpPort),
    verify_url: `/api/v1/instances/${encodeURIComponent(inst.uuid)}/proxies/${r.id}/verify`,
  };
}

/** What the create answer tells a proxy's owner, in both surfaces. */
export const claimMessage = (v: ProxyVerification) => v.status === 'verified'
  ? 'The domain is verified and served'
  : `The domain is served once proven: add the TXT record ${v.dns.name} = ${v.dns.value}${v.http ? ` or serve the token at ${v.http.url}` : ''}, then POST ${v.verify_url}`;
