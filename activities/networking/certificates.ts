import crypto, { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { issuerStorageKey, obtainOutcomes, storageSafe } from '../../shared/networking/acme';
import { canonicalJson, INTERNAL_CA } from '../../shared/networking/caddy';
import { hostAcme } from '../../db/queries/networking/host-acme';
import { proxiesToCertify, setProxyCertificate } from '../../db/queries/networking/reverse-proxies';

/**
 * The CA root PEM of a host's ACME server, in the agent's own data directory (Caddy reads it; the agent never creates
 * anything in Caddy's storage, which Caddy's own user must own), under a name of its content: a new PEM is a new config.
 */
export const acmeRootsFile = (dataDir: string, pem: string) =>
  path.join(dataDir, 'acme-roots', `${crypto.createHash('sha256').update(pem).digest('hex').slice(0, 16)}.pem`);

/** Writes the PEM file once (atomically, world-readable), so Caddy can read it when the config that names it is loaded. */
export function writeAcmeRoots(dataDir: string, pem: string) {
  const file = acmeRootsFile(dataDir, pem);
  if (fs.existsSync(file)) return;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  fs.writeFileSync(`${file}.tmp`, pem, { mode: 0o644 });
  fs.renameSync(`${file}.tmp`, file);
}

/** Caddy's certificate log, which Caddy writes in its storage and the agent only reads. */
export const caddyTlsLog = (storageDir: string) => path.join(storageDir, 'logs', 'idcflow-tls.log');

/** A TLS proxy's certificate as the host's Caddy holds it, and the last failure to obtain or renew one. */
export interface CertificateState {
  source: 'acme' | 'internal';
  acme_directory: string | null;
  issuer: string | null;
  not_before: string | null;
  not_after: string | null;
  error: string | null;
  error_at: string | null;
}

/** The end of a file (a log can be long; the latest lines are what count). */
function tail(file: string, bytes = 256 * 1024): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(size, bytes));
    fs.readSync(fd, buf, 0, buf.length, size - buf.length);
    return buf.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

function leafCertificate(file: string): X509Certificate | null {
  try {
    return new X509Certificate(fs.readFileSync(file));
  } catch {
    return null;
  }
}

/**
 * Reads, from Caddy's file storage, the certificate of each TLS domain from the issuer the host uses now, and from
 * Caddy's TLS log the last obtain/renew error; records what changed in `reverse_proxies.certificate`. Only files are
 * read: a few small reads per drift check.
 */
export async function refreshCertificates(knex: Knex, hostId: number, storageDir: string): Promise<number> {
  const [rows, acme] = await Promise.all([
    proxiesToCertify(knex, hostId),
    hostAcme(knex, hostId),
  ]);
  if (!rows.length) return 0;
  const outcomes = obtainOutcomes(tail(caddyTlsLog(storageDir)));
  const issuerDir = path.join(storageDir, 'certificates', issuerStorageKey(acme?.directory ?? null, INTERNAL_CA));
  let changed = 0;
  for (const r of rows) {
    const safe = storageSafe(r.domain);
    const cert = leafCertificate(path.join(issuerDir, safe, `${safe}.crt`));
    const outcome = outcomes.get(r.domain);
    const state: CertificateState = {
      source: acme ? 'acme' : 'internal', acme_directory: acme?.directory ?? null,
      issuer: cert ? cert.issuer.split('\n').join(', ') : null,
      not_before: cert ? new Date(cert.validFrom).toISOString() : null, not_after: cert ? new Date(cert.validTo).toISOString() : null,
      error: outcome?.error ?? null, error_at: outcome?.error ? outcome.at : null,
    };
    if (canonicalJson(state) === canonicalJson(r.certificate)) continue;
    await setProxyCertificate(knex, r.id, state);
    changed++;
  }
  return changed;
}
