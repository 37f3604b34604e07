import { z } from 'zod';
import { decodeProtectedHeader, errors as joseErrors, importX509, jwtVerify } from 'jose';
import { AppError, conflict, forbidden, notFound, validationError } from '../../shared/platform/errors';
import { randomToken, sha256 } from '../../shared/platform/crypto';
import { agentCertificateHost, certificateFacts, csrProblem, issueAgentCertificate, type PemPair } from '../../shared/compute/agent-ca';
import { AGENT_AUDIENCE, AGENT_AUTH_SCHEME, AGENT_JWT_TYPE, AGENT_REQUEST_SECONDS, bodyHash } from '../../shared/compute/agent-request';
import { agentVersionProblem } from '../../shared/compute/agent-version';
import { hostTaskQueue } from '../../shared/compute/catalogue';
import {
  agentCa, agentCertByFingerprint, enrollWithToken, firstUseOfRequestId, insertJoinToken, joinTokenByHash, sweepRequestIds,
} from '../../db/queries/compute/agent-identity';
import { hostById } from '../../db/queries/compute/hosts';
import type { AppDeps } from '../platform/deps';
import type { Caller, ClientInfo } from '../platform/caller';
import type { AgentCaller } from '../platform/http/route';
import { audit } from '../platform/audit';
import { VERSION } from '../../shared/platform/version';

/** How far apart the agent's clock and the API's may be. */
const CLOCK_SKEW_SECONDS = 30;
/** Replay ids past their expiry are deleted at most this often by a process. */
const SWEEP_MS = 60_000;

const refused = (message: string) => new AppError('INVALID_CREDENTIALS', message);

/** The host an agent route reports for, in its path: /agent/hosts/:name/… */
export const agentHostParams = z.object({ name: z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a host name') });

/** A host reports for itself only: another host's name in the path is refused, whatever the body says. */
export function requireOwnHost(agent: AgentCaller, name: string): void {
  if (name !== agent.hostName) throw forbidden(`This agent is host ${agent.hostName}: it reports for its own host only, not for ${name}`);
}

export interface EnrollBody { token: string; csr: string; agent_version: string }

/**
 * Hosts' identities: one-time join tokens (admins issue them), enrolment (a join token and a certificate request buy a
 * client certificate from idcflow's agent CA, and revoke the host's earlier ones), and the check of every request an
 * agent signs with that identity.
 */
/** What an agent's signature covers, as the route layer reads it from the request. */
export interface SignedRequest {
  authorization: string;
  method: string;
  url: string;
  rawBody: string;
}

export class AgentIdentityService {
  private ca: Promise<PemPair> | undefined;
  private lastSweep = 0;

  constructor(private readonly deps: AppDeps) {}

  private get knex() { return this.deps.knex; }

  private caPair(): Promise<PemPair> {
    this.ca ??= agentCa(this.knex, this.deps.config).catch((err) => {
      this.ca = undefined;
      throw err;
    });
    return this.ca;
  }

  /** A one-time token for the host's agent to join with, shown once (only its SHA-256 is kept), with the command to run. */
  async issueJoinToken(caller: Caller, hostId: number, ttlSeconds?: number) {
    const host = await hostById(this.knex, hostId);
    if (!host) throw notFound('host', hostId);
    const token = `idcj_${randomToken(32)}`;
    const expiresAt = new Date(Date.now() + (ttlSeconds ?? this.deps.config.compute.agentIdentity.joinTokenSeconds) * 1000);
    const row = await insertJoinToken(this.knex, { hostId, tokenHash: sha256(token), createdBy: caller.principal.userId, expiresAt });
    await audit(this.knex, caller, {
      module: 'compute', action: 'host_join_token', message: `Join token issued for host ${host.name} (expires ${expiresAt.toISOString()})`, resourceType: 'host', resourceId: hostId,
    });
    const apiUrl = this.deps.config.publicUrl;
    return {
      token, host: { id: host.id, name: host.name }, expires_at: new Date(row.expires_at).toISOString(), api_url: apiUrl,
      command: `npm run agent -- --join ${apiUrl} ${token}`,
    };
  }

  /**
   * Enrols a host's agent: the join token (used once, unexpired) names the host, the certificate request carries the key
   * the agent made; the answer is its certificate, the CA's, and where to find Temporal. An agent too old for this
   * platform is refused before the token is used (its version is recorded on the host, for the API to show).
   */
  async enroll(body: EnrollBody, client: ClientInfo) {
    const token = await joinTokenByHash(this.knex, sha256(body.token));
    if (!token) throw refused('Unknown join token: issue one with POST /api/v1/hosts/:id/join-tokens (idcflow hosts join <host>)');
    await this.refuseOutdated(token.host_id, body.agent_version);
    const problem = await csrProblem(body.csr);
    if (problem) throw validationError([{ field: 'csr', location: 'body', message: problem }]);
    const ca = await this.caPair();
    const { certDays } = this.deps.config.compute.agentIdentity;
    const result = await enrollWithToken(this.knex, token.id, async (t) => {
      const certificate = await issueAgentCertificate(ca, body.csr, t.host_name, certDays);
      const facts = certificateFacts(certificate);
      return { certificate, fingerprint: facts.fingerprint, serial: facts.serial, notAfter: facts.notAfter, agentVersion: body.agent_version };
    });
    if (result === 'used') throw refused('This join token was used already: issue a new one to join the host again');
    if (result === 'expired') throw refused(`This join token expired at ${new Date(token.expires_at).toISOString()}: issue a new one`);
    if (result === 'gone') throw refused('The host of this join token no longer exists');
    await audit(this.knex, { ...client }, {
      module: 'compute', action: 'host_agent_enrolled', message: `The agent of host ${token.host_name} joined (version ${body.agent_version}); earlier certificates revoked`,
      resourceType: 'host', resourceId: token.host_id, userId: null, username: null,
    });
    const { config } = this.deps;
    return {
      host: { id: token.host_id, name: token.host_name }, certificate: result.certificate, ca_certificate: ca.cert, api_url: config.publicUrl,
      temporal: { address: config.temporalAddress, namespace: config.temporalNamespace, task_queue: hostTaskQueue(token.host_name) },
      platform_version: VERSION, min_agent_version: config.compute.agentIdentity.minVersion,
    };
  }

  /** The host's recorded agent version is what it said last, refused or not; a version too old is a 409 naming both. */
  private async refuseOutdated(hostId: number, version: string): Promise<void> {
    const { minVersion } = this.deps.config.compute.agentIdentity;
    const problem = agentVersionProblem(version, minVersion, VERSION);
    if (!problem) return;
    await this.knex('hosts').where({ id: hostId }).update({ agent_version: version.slice(0, 32) });
    throw conflict(problem, { reason: 'agent_outdated', agent_version: version, min_agent_version: minVersion, platform_version: VERSION });
  }

  /**
   * The host agent that signed this request. In this order: the certificate it carries is of idcflow's agent CA and
   * valid; the signature verifies with that certificate's key; it was made for this method, path and body, lately, for
   * a short life; the certificate was issued to a host that exists and is not revoked; its id was not used before; the
   * agent's version is one this platform accepts. Work for the database only once the signature checks out.
   */
  async authenticate(req: SignedRequest): Promise<AgentCaller> {
    const match = new RegExp(`^${AGENT_AUTH_SCHEME}\\s+([A-Za-z0-9_.-]{1,16384})$`).exec(req.authorization);
    if (!match) throw refused(`Sign the request with the agent's identity: Authorization: ${AGENT_AUTH_SCHEME} <JWT>`);
    const jwt = match[1];
    let x5c: unknown;
    try {
      x5c = decodeProtectedHeader(jwt).x5c;
    } catch {
      throw refused('The signed request is not a JWT');
    }
    const der = Array.isArray(x5c) && typeof x5c[0] === 'string' && /^[A-Za-z0-9+/=]{1,8192}$/.test(x5c[0]) ? x5c[0] : null;
    if (!der) throw refused('The signed request carries no certificate (x5c)');
    const certPem = `-----BEGIN CERTIFICATE-----\n${der.replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
    const hostName = await agentCertificateHost(certPem, (await this.caPair()).cert);
    if (!hostName) throw refused('The request\'s certificate was not issued by idcflow\'s agent CA, or is not valid now');
    const claims = await this.verifiedClaims(jwt, certPem, hostName);
    if (claims.htm !== req.method || claims.htu !== req.url || claims.bsh !== bodyHash(req.rawBody)) {
      throw refused('The signature was made for another request: its method, path or body differ');
    }
    const fingerprint = sha256(Buffer.from(der, 'base64'));
    const cert = await agentCertByFingerprint(this.knex, fingerprint);
    if (!cert || cert.host_name !== hostName) throw refused(`This certificate is not one idcflow issued to host ${hostName}, or the host was deleted: join the host again`);
    if (cert.revoked_at) throw refused(`This certificate was revoked (${cert.revoked_reason}) at ${new Date(cert.revoked_at).toISOString()}: join the host again`);
    if (!(await firstUseOfRequestId(this.knex, claims.jti, new Date((claims.exp + CLOCK_SKEW_SECONDS) * 1000)))) {
      throw refused('This signed request was sent before (a replay): sign each request anew');
    }
    this.sweep();
    await this.refuseOutdated(cert.host_id, claims.ver);
    return { hostId: cert.host_id, hostName, fingerprint, version: claims.ver };
  }

  private async verifiedClaims(jwt: string, certPem: string, hostName: string) {
    try {
      const { payload } = await jwtVerify(jwt, await importX509(certPem, 'ES256'), {
        algorithms: ['ES256'], typ: AGENT_JWT_TYPE, audience: AGENT_AUDIENCE, issuer: `host:${hostName}`,
        maxTokenAge: `${AGENT_REQUEST_SECONDS + CLOCK_SKEW_SECONDS}s`, clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['iat', 'exp', 'jti', 'htm', 'htu', 'bsh', 'ver'],
      });
      const { iat, exp, jti, htm, htu, bsh, ver } = payload as Record<string, unknown>;
      const text = (v: unknown, max: number) => typeof v === 'string' && v.length > 0 && v.length <= max;
      if (typeof iat !== 'number' || typeof exp !== 'number' || exp - iat > AGENT_REQUEST_SECONDS) throw refused(`The signed request must live at most ${AGENT_REQUEST_SECONDS} s`);
      if (!text(jti, 64) || !text(htm, 16) || !text(htu, 2048) || !text(bsh, 64) || !text(ver, 32)) throw refused('The signed request\'s claims are malformed');
      return { exp, jti: jti as string, htm: htm as string, htu: htu as string, bsh: bsh as string, ver: ver as string };
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new AppError('TOKEN_EXPIRED', 'The signed request has expired: sign each request anew');
      throw refused('The request\'s signature does not verify with the certificate it carries, or its claims are wrong');
    }
  }

  private sweep() {
    if (Date.now() - this.lastSweep < SWEEP_MS) return;
    this.lastSweep = Date.now();
    sweepRequestIds(this.knex).catch((err) => this.deps.logger.warn({ err: (err as Error).message }, 'sweeping expired agent request ids failed'));
  }
}
