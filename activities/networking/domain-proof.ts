import { Resolver } from 'node:dns/promises';
import http from 'node:http';
import net from 'node:net';
import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from '../platform/deps';
import type { Config } from '../../shared/platform/config';
import { isPublicAddress } from '../../shared/webhooks/events';
import { baseDomain, challengeRecord, HTTP_CHALLENGE_PATH, type ProofCheck, type ProofMethod } from '../../shared/networking/domain-proof';
import { claimById, markProven, recordProofFailure, unmarkProven } from '../../db/queries/networking/domain-proofs';

const TIMEOUT_MS = 5000;
const MAX_BODY = 4096;

/** A resolver that asks the configured DNS servers (IDCFLOW_DNS_RESOLVERS), or the system's. */
export function proofResolver(config: Config): Resolver {
  const r = new Resolver({ timeout: 2000, tries: 2 });
  if (config.networking.domainProof.dnsResolvers.length) r.setServers(config.networking.domainProof.dnsResolvers);
  return r;
}

const dnsProblem = (err: unknown) => {
  const code = (err as { code?: string }).code;
  if (code === 'ENOTFOUND' || code === 'ENODATA') return 'no such record';
  if (code === 'ETIMEOUT') return 'the DNS server did not answer';
  return (err as Error).message;
};

/** null when `_idcflow-challenge.<domain>` has a TXT record whose text is the token; else what was found. */
export async function txtProofProblem(resolver: Resolver, domain: string, token: string): Promise<string | null> {
  const name = challengeRecord(domain);
  try {
    const records = (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
    if (records.some((t) => t.trim() === token)) return null;
    return `TXT ${name} does not hold this claim's token (${records.length} record${records.length === 1 ? '' : 's'} found)`;
  } catch (err) {
    return `TXT ${name}: ${dnsProblem(err)}`;
  }
}

/** The domain's addresses through the same resolver (IPv4 first). */
async function addressesOf(resolver: Resolver, domain: string): Promise<string[]> {
  const settled = await Promise.allSettled([resolver.resolve4(domain), resolver.resolve6(domain)]);
  const found = settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
  if (!found.length) {
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    throw new Error(`${domain}: ${failure ? dnsProblem(failure.reason) : 'no address'}`);
  }
  return found;
}

/** One GET to `address` (the domain's, already checked), Host: the domain, no redirects followed, at most 4 KiB read. */
function getOnce(address: string, port: number, domain: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: address, port, path, method: 'GET', family: net.isIP(address),
      headers: { host: port === 80 ? domain : `${domain}:${port}`, 'user-agent': 'idcflow-domain-proof/1', accept: 'text/plain' },
      timeout: TIMEOUT_MS,
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_BODY) chunks.push(c.subarray(0, MAX_BODY - size));
        size += c.length;
        if (size > MAX_BODY) res.destroy();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('close', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * null when http://<domain>/.well-known/idcflow-challenge/<token> answers 200 with the token; else why not. The SSRF
 * guard of webhooks (activities/webhooks/safe-request.ts), here with the proof's resolver: every address the domain
 * resolves to must be public unless an admin allowed private ones, and the request goes to the address checked (no
 * DNS rebinding between the check and the request).
 */
export async function httpProofProblem(resolver: Resolver, domain: string, token: string, opts: { port: number; allowPrivate: boolean }): Promise<string | null> {
  if (domain.startsWith('*.')) return 'a wildcard domain is proven by its TXT record only';
  const url = `http://${domain}${opts.port === 80 ? '' : `:${opts.port}`}${HTTP_CHALLENGE_PATH}${token}`;
  let addresses: string[];
  try {
    addresses = await addressesOf(resolver, domain);
  } catch (err) {
    return `HTTP ${url}: ${(err as Error).message}`;
  }
  const blocked = opts.allowPrivate ? undefined : addresses.find((a) => !isPublicAddress(a));
  if (blocked) return `HTTP ${url}: ${domain} resolves to ${blocked}, which is not a public address`;
  try {
    const res = await getOnce(addresses[0], opts.port, domain, `${HTTP_CHALLENGE_PATH}${token}`);
    if (res.status !== 200) return `HTTP ${url} answered ${res.status}`;
    if (res.body.trim() !== token) return `HTTP ${url} did not answer this claim's token`;
    return null;
  } catch (err) {
    return `HTTP ${url}: ${(err as Error).message}`;
  }
}

export interface ProveDomainInput {
  id: number;
  check: ProofCheck;
  /** An admin allowed the HTTP proof to reach private addresses. */
  allowPrivate: boolean;
  /** An admin marks the domain verified without a check. */
  force: boolean;
}

export interface ProveDomainResult { id: number; domain: string; method: ProofMethod; already: boolean }

/** On the main worker: the proof of a proxy's domain. The network is asked here, never by the API. */
export function createDomainProofActivities({ knex, config }: ActivityDeps) {
  return {
    /**
     * Checks the claim's proof (DNS TXT, then HTTP, as asked) and records the outcome: proven (and in flight, for the
     * apply that serves it), or still pending with the reason, which fails the operation (VALIDATION_ERROR naming
     * `domain`). Another claim proven first is a CONFLICT. Repeating it after a success answers `already`.
     */
    async networkingProveDomain(input: ProveDomainInput): Promise<ProveDomainResult> {
      const claim = await claimById(knex, input.id);
      if (!claim) throw ApplicationFailure.nonRetryable(`Proxy ${input.id} no longer exists`, 'RESOURCE_NOT_FOUND', { id: input.id });
      const domain = claim.domain;
      if (claim.verified_at) return { id: claim.id, domain, method: claim.verified_via ?? 'admin', already: true };
      let method: ProofMethod | null = input.force ? 'admin' : null;
      const problems: string[] = [];
      if (!method) {
        const resolver = proofResolver(config);
        if (input.check !== 'http') {
          const p = await txtProofProblem(resolver, domain, claim.verification_token);
          if (p) problems.push(p);
          else method = 'dns';
        }
        if (!method && input.check !== 'dns') {
          const p = await httpProofProblem(resolver, domain, claim.verification_token, { port: config.networking.domainProof.httpPort, allowPrivate: input.allowPrivate });
          if (p) problems.push(p);
          else method = 'http';
        }
      }
      if (!method) {
        const reason = `No proof of control of ${baseDomain(domain)} found: ${problems.join('; ')}`;
        await recordProofFailure(knex, claim.id, reason);
        throw ApplicationFailure.nonRetryable(reason, 'VALIDATION_ERROR', { field: 'domain', errors: [{ field: 'domain', message: reason }], domain });
      }
      const outcome = await markProven(knex, claim.id, method);
      if (outcome === 'taken') {
        const reason = `Domain ${domain} was proven by another claim first`;
        await recordProofFailure(knex, claim.id, reason);
        throw ApplicationFailure.nonRetryable(reason, 'CONFLICT', { field: 'domain', domain });
      }
      if (outcome === 'gone') throw ApplicationFailure.nonRetryable(`Proxy ${domain} is being added or removed`, 'CONFLICT', { domain });
      return { id: claim.id, domain, method, already: outcome === 'already' };
    },
    /** The apply that was to serve a proven domain failed: the claim is pending again (its owner may verify again). */
    async networkingUnproveDomain({ id, reason }: { id: number; reason: string }) {
      await unmarkProven(knex, id, reason);
    },
  };
}

export type DomainProofActivities = ReturnType<typeof createDomainProofActivities>;
