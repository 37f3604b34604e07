import 'reflect-metadata'; // @peculiar/x509's dependency injection needs the Reflect polyfill, loaded first
import fs from 'node:fs';
import path from 'node:path';
import { isIP } from 'node:net';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/**
 * The certificates of a Temporal server with mutual TLS (deploy/temporal/config/production.yaml) and of its clients,
 * made once into a folder. Two authorities: `ca` signs the frontend's certificate and every client's (the common name is
 * the identity deploy/temporal/authorizer maps to permissions); `internode-ca` only the certificate the server's own
 * services (history, matching, worker) present to each other, so that no client certificate opens their ports.
 *
 *   npm run temporal:certs -- --out DIR [--server-name temporal.example.com]… [--agent host1]… [--owner UID:GID]
 */
type WebKey = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- Node's webcrypto keys, which @peculiar/x509 types with the DOM's names
x509.cryptoProvider.set(webcrypto as WebKey);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export interface PemPair { cert: string; key: string }

/** The common names the authorizer knows (deploy/temporal/authorizer/claims.go); an agent's is `host:<name>`. */
export const TEMPORAL_ROLES = { system: 'temporal-system', admin: 'idcflow-admin', api: 'idcflow-api', worker: 'idcflow-worker', ui: 'idcflow-ui' } as const;
export const agentCommonName = (host: string) => `host:${host}`;
/** The host names the authorizer accepts in an agent's common name. */
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const pkcs8Pem = async (key: webcrypto.CryptoKey) => x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
const serial = () => `01${randomBytes(15).toString('hex')}`; // positive, 128 bits of randomness
const newKeys = () => webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as Promise<webcrypto.CryptoKeyPair>;

/** A certificate authority: ECDSA P-256, valid `days`, allowed to sign end-entity certificates only. */
export async function createAuthority(name: string, days = 3650, now = new Date()): Promise<PemPair> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(), name: `CN=${name}, O=idcflow`, notBefore: new Date(now.getTime() - 3_600_000), notAfter: new Date(now.getTime() + days * DAY_MS),
    signingAlgorithm: ALG, keys: keys as WebKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as WebKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await pkcs8Pem(keys.privateKey) };
}

export interface IssueOptions {
  /** The subject's common name: the identity of a client. */
  commonName: string;
  /** DNS names and IP addresses a server answers on. */
  names?: string[];
  usage: Array<'server' | 'client'>;
  days?: number;
  now?: Date;
}

/** A certificate signed by `ca`. */
export async function issueCertificate(ca: PemPair, opts: IssueOptions): Promise<PemPair> {
  const now = opts.now ?? new Date();
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decode(ca.key)[0], ALG, false, ['sign']);
  const keys = await newKeys();
  const names = opts.names ?? [];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(), subject: `CN=${opts.commonName}`, issuer: caCert.subject,
    notBefore: new Date(now.getTime() - 3_600_000), notAfter: new Date(now.getTime() + (opts.days ?? 825) * DAY_MS),
    signingAlgorithm: ALG, publicKey: keys.publicKey as WebKey, signingKey: caKey as WebKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(opts.usage.map((u) => (u === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth))),
      ...(names.length ? [new x509.SubjectAlternativeNameExtension(names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n })))] : []),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { cert: cert.toString('pem'), key: await pkcs8Pem(keys.privateKey) };
}

/** The names the frontend's certificate always carries: the compose service's and loopback's. */
export const FRONTEND_NAMES = ['temporal', 'localhost', '127.0.0.1', '::1'];

export interface CertsOptions {
  /** More names clients reach the frontend by (a public DNS name for agents on other hosts). */
  serverNames?: string[];
  /** Hosts to make an agent certificate for (normally the join flow issues these). */
  agents?: string[];
  /** Who owns what is made (a root job making files for containers that run as another user). */
  owner?: { uid: number; gid: number };
}

/** File names in the folder, without extension: `<name>.pem` and `<name>.key`. */
export const certFile = (dir: string, name: string) => ({ cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) });
export const TASK_TOKEN_KEY_FILE = 'task-token.key';

/**
 * Makes what is missing in `dir` and keeps what is there (delete a file to replace it). Private keys are written 0600,
 * certificates 0644. Returns the names made.
 */
export async function ensureTemporalCerts(dir: string, opts: CertsOptions = {}): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const own = (file: string) => { if (opts.owner) fs.chownSync(file, opts.owner.uid, opts.owner.gid); };
  own(dir);
  const made: string[] = [];
  const read = (name: string): PemPair | undefined => {
    const f = certFile(dir, name);
    return fs.existsSync(f.cert) && fs.existsSync(f.key) ? { cert: fs.readFileSync(f.cert, 'utf8'), key: fs.readFileSync(f.key, 'utf8') } : undefined;
  };
  const write = (name: string, pair: PemPair) => {
    const f = certFile(dir, name);
    fs.writeFileSync(f.key, pair.key, { mode: 0o600 });
    fs.writeFileSync(f.cert, pair.cert, { mode: 0o644 });
    own(f.key);
    own(f.cert);
    made.push(name);
    return pair;
  };
  const ensure = async (name: string, make: () => Promise<PemPair>) => read(name) ?? write(name, await make());

  const ca = await ensure('ca', () => createAuthority('idcflow Temporal CA'));
  const internodeCa = await ensure('internode-ca', () => createAuthority('idcflow Temporal internode CA'));
  await ensure('internode', () => issueCertificate(internodeCa, { commonName: 'internode', names: ['internode'], usage: ['server', 'client'] }));
  await ensure('frontend', () => issueCertificate(ca, { commonName: 'temporal', names: [...new Set([...FRONTEND_NAMES, ...(opts.serverNames ?? [])])], usage: ['server'] }));
  for (const [file, commonName] of [['system-worker', TEMPORAL_ROLES.system], ['admin', TEMPORAL_ROLES.admin], ['api', TEMPORAL_ROLES.api], ['worker', TEMPORAL_ROLES.worker], ['ui', TEMPORAL_ROLES.ui]]) {
    await ensure(file, () => issueCertificate(ca, { commonName, usage: ['client'] }));
  }
  for (const host of opts.agents ?? []) {
    if (!HOST_NAME.test(host)) throw new Error(`agent host name ${JSON.stringify(host)}: letters, digits, '.', '_' and '-' only, up to 64`);
    await ensure(`agent-${host}`, () => issueCertificate(ca, { commonName: agentCommonName(host), usage: ['client'] }));
  }
  const tokenKey = path.join(dir, TASK_TOKEN_KEY_FILE);
  if (!fs.existsSync(tokenKey)) {
    fs.writeFileSync(tokenKey, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    own(tokenKey);
    made.push(TASK_TOKEN_KEY_FILE);
  }
  return made;
}

/** `--flag value` pairs, repeatable. */
function flagValues(argv: string[], flag: string): string[] {
  return argv.flatMap((arg, i) => (arg === flag && argv[i + 1] ? [argv[i + 1]] : []));
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const [out] = flagValues(argv, '--out');
  const [owner] = flagValues(argv, '--owner');
  if (!out || (owner && !/^\d+:\d+$/.test(owner))) {
    console.error('usage: temporal-certs --out DIR [--server-name NAME]… [--agent HOST]… [--owner UID:GID]');
    process.exit(2);
  }
  const [uid, gid] = (owner ?? '').split(':').map(Number);
  ensureTemporalCerts(path.resolve(out), { serverNames: flagValues(argv, '--server-name'), agents: flagValues(argv, '--agent'), owner: owner ? { uid, gid } : undefined })
    .then((made) => console.log(made.length ? `Made ${made.join(', ')} in ${out}` : `Nothing to make: ${out} holds every certificate`))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
