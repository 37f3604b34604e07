import { createHash, randomBytes, type webcrypto } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';

/**
 * How a host agent signs each request to the API's /agent endpoints: a JWT (ES256) in `Authorization: IdcflowAgent …`,
 * signed with the agent's own private key, carrying its certificate (`x5c`) and binding the method, the path and a
 * hash of the body; it lives AGENT_REQUEST_SECONDS and its id (`jti`) is accepted once. The API checks the certificate
 * against idcflow's agent CA and the host's issued, unrevoked certificates, then the signature with the certificate's key.
 */
export const AGENT_AUTH_SCHEME = 'IdcflowAgent';
export const AGENT_JWT_TYPE = 'idcflow-agent+jwt';
export const AGENT_AUDIENCE = 'idcflow-agent-api';
/** A signed request's lifetime; the API refuses one that claims a longer one. */
export const AGENT_REQUEST_SECONDS = 60;

/** The body's SHA-256, base64url: what the signature binds (an empty body hashes the empty string). */
export const bodyHash = (raw: string) => createHash('sha256').update(raw).digest('base64url');

/** The claims of a signed agent request besides iss/aud/iat/exp/jti. */
export interface AgentRequestClaims {
  /** The HTTP method, upper case. */
  htm: string;
  /** The path and query string as sent. */
  htu: string;
  /** bodyHash of the body as sent. */
  bsh: string;
  /** The agent's version. */
  ver: string;
}

export interface AgentSigner { key: webcrypto.CryptoKey; x5c: string; hostName: string }

/** The identity's key, imported once, and its certificate as x5c carries it (base64 DER). */
export async function agentSigner(identity: { key: string; cert: string; hostName: string }): Promise<AgentSigner> {
  return { key: await importPKCS8(identity.key, 'ES256'), x5c: identity.cert.replace(/-----[^-]+-----|\s/g, ''), hostName: identity.hostName };
}

/** The Authorization header's value for `method path` with `body` (the exact text sent). */
export async function signAgentRequest(signer: AgentSigner, req: { method: string; path: string; body: string }, version: string): Promise<string> {
  const claims: AgentRequestClaims = { htm: req.method.toUpperCase(), htu: req.path, bsh: bodyHash(req.body), ver: version };
  const jwt = await new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: AGENT_JWT_TYPE, x5c: [signer.x5c] })
    .setIssuer(`host:${signer.hostName}`).setAudience(AGENT_AUDIENCE).setIssuedAt().setExpirationTime(`${AGENT_REQUEST_SECONDS}s`)
    .setJti(randomBytes(16).toString('base64url'))
    .sign(signer.key);
  return `${AGENT_AUTH_SCHEME} ${jwt}`;
}
