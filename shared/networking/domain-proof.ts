import crypto from 'node:crypto';

/** How a proxy's domain was proven: a TXT record, an HTTP token, an admin's word, or served before proofs existed. */
export const PROOF_METHODS = ['dns', 'http', 'admin', 'migration'] as const;
export type ProofMethod = (typeof PROOF_METHODS)[number];

/** What a verify may try: the DNS TXT record, the HTTP token, or both (DNS first). */
export const PROOF_CHECKS = ['dns', 'http', 'any'] as const;
export type ProofCheck = (typeof PROOF_CHECKS)[number];

export const CHALLENGE_LABEL = '_idcflow-challenge';
export const HTTP_CHALLENGE_PATH = '/.well-known/idcflow-challenge/';

/** A new claim's token: 40 hex digits, unguessable, safe in a DNS TXT record and a URL path. */
export const newProofToken = () => crypto.randomBytes(20).toString('hex');

/** The domain without a leading `*.` (a wildcard is proven at its base name, as ACME's DNS-01 does). */
export const baseDomain = (domain: string) => domain.replace(/^\*\./, '');

/** The name of the TXT record that proves the domain. */
export const challengeRecord = (domain: string) => `${CHALLENGE_LABEL}.${baseDomain(domain)}`;

/** The URL that proves the domain over HTTP (none for a wildcard, whose names cannot all be asked). */
export function challengeUrl(domain: string, token: string, port = 80): string | null {
  if (domain.startsWith('*.')) return null;
  return `http://${domain}${port === 80 ? '' : `:${port}`}${HTTP_CHALLENGE_PATH}${token}`;
}

/** The two ways to prove a claim, as its owner is told them. */
export function proofInstructions(domain: string, token: string, httpPort = 80) {
  const url = challengeUrl(domain, token, httpPort);
  return {
    dns: { type: 'TXT' as const, name: challengeRecord(domain), value: token },
    http: url ? { url, body: token } : null,
  };
}
