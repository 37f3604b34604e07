import 'reflect-metadata'; // @peculiar/x509's dependency injection needs the Reflect polyfill, loaded first
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/**
 * Hosts' identities: idcflow's agent CA issues each joined host a client certificate (subject `CN=host:<name>`, extended
 * key usage clientAuth: the same certificate can authenticate the agent to Temporal's mutual TLS). The host makes its
 * key pair itself and sends only a certificate request; its private key never leaves it.
 */
type WebKey = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- Node's webcrypto keys, which @peculiar/x509 types with the DOM's names
x509.cryptoProvider.set(webcrypto as WebKey);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** An issued certificate's validity starts this much before now: a host whose clock runs a little behind still accepts it. */
const BACKDATE_MS = 3_600_000;

export interface PemPair { cert: string; key: string }

const pkcs8Pem = async (key: webcrypto.CryptoKey) => x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
const serial = () => `01${randomBytes(15).toString('hex')}`; // positive, 128 bits of randomness

/** The subject an agent's certificate names its host by; Temporal's authorizer and the API read it back. */
export const agentSubject = (hostName: string) => `host:${hostName}`;

/** A new agent CA: ECDSA P-256, valid 20 years, allowed only to sign end-entity certificates. */
export async function createAgentCa(now = new Date()): Promise<PemPair> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(), name: 'CN=idcflow agent CA, O=idcflow', notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + 20 * 365 * DAY_MS),
    signingAlgorithm: ALG, keys: keys as WebKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as WebKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await pkcs8Pem(keys.privateKey) };
}

/** The agent's side: a new P-256 key pair (PKCS#8 PEM, kept on the host) and a certificate request signed with it. */
export async function createAgentKey(): Promise<{ key: string; csr: string }> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=idcflow agent', keys: keys as WebKey, signingAlgorithm: ALG });
  return { key: await pkcs8Pem(keys.privateKey), csr: csr.toString('pem') };
}

/** Why a certificate request cannot be signed, or null: it must parse, carry a P-256 key and be signed by that key. */
export async function csrProblem(csrPem: string): Promise<string | null> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch {
    return 'is not a PEM certificate request (PKCS#10)';
  }
  const algorithm = csr.publicKey.algorithm as { name?: string; namedCurve?: string };
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256') return 'must carry an ECDSA P-256 public key';
  const signed = await csr.verify().catch(() => false);
  return signed ? null : 'is not signed by the key it carries';
}

/** What the platform keeps of an issued certificate: its fingerprint (SHA-256 of the DER, hex), serial and end of validity. */
export function certificateFacts(certPem: string): { fingerprint: string; serial: string; notAfter: Date; subject: string } {
  const cert = new x509.X509Certificate(certPem);
  return { fingerprint: createHash('sha256').update(Buffer.from(cert.rawData)).digest('hex'), serial: cert.serialNumber, notAfter: cert.notAfter, subject: cert.subject };
}

/** The host's certificate for the key of `csrPem` (checked with csrProblem first), valid `days`; host names are [A-Za-z0-9._-]. */
export async function issueAgentCertificate(ca: PemPair, csrPem: string, hostName: string, days: number, now = new Date()): Promise<string> {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decode(ca.key)[0], ALG, false, ['sign']);
  const publicKey = await csr.publicKey.export(ALG, ['verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(), subject: `CN=${agentSubject(hostName)}, O=idcflow agents`, issuer: caCert.subject,
    notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + days * DAY_MS),
    signingAlgorithm: ALG, publicKey: publicKey as WebKey, signingKey: caKey as WebKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `urn:idcflow:${agentSubject(hostName)}` }]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return cert.toString('pem');
}

/**
 * Whether `certPem` was signed by the CA of `caPem` and is valid at `now`; the host name its subject names when it is.
 * A certificate of another CA, an expired one or one that does not parse is null.
 */
export async function agentCertificateHost(certPem: string, caPem: string, now = new Date()): Promise<string | null> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
  } catch {
    return null;
  }
  const caCert = new x509.X509Certificate(caPem);
  if (cert.issuer !== caCert.subject || cert.notBefore > now || cert.notAfter < now) return null;
  if (!(await cert.verify({ publicKey: caCert.publicKey, signatureOnly: true }).catch(() => false))) return null;
  const cn = cert.subjectName.getField('CN')[0];
  return cn?.startsWith('host:') ? cn.slice('host:'.length) : null;
}
