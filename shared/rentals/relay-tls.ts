import 'reflect-metadata'; // @peculiar/x509's dependency injection needs the Reflect polyfill, loaded first
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

/**
 * TLS for DERP relays: idcflow's own certificate authority (made once, kept sealed in system_secrets) issues each relay
 * a certificate for its host's name or addresses, which derper serves with `-certmode manual`. Tailscale clients are
 * told the certificate's hash in the derpMap (`CertName: "sha256-raw:…"`), so they accept it without trusting the CA;
 * anyone else verifies it against the CA (`GET /api/v1/rentals/relay-ca`).
 */
type WebKey = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- Node's webcrypto keys, which @peculiar/x509 types with the DOM's names
x509.cryptoProvider.set(webcrypto as WebKey);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const YEAR_MS = 365 * 86_400_000;

export interface PemPair { cert: string; key: string }

const pkcs8Pem = async (key: webcrypto.CryptoKey) => x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
const serial = () => `01${randomBytes(15).toString('hex')}`; // positive, 128 bits of randomness

/** A new CA: ECDSA P-256, valid 20 years, allowed only to sign end-entity certificates. */
export async function createRelayCa(now = new Date()): Promise<PemPair> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(), name: 'CN=idcflow DERP relay CA, O=idcflow', notBefore: new Date(now.getTime() - 3_600_000), notAfter: new Date(now.getTime() + 20 * YEAR_MS),
    signingAlgorithm: ALG, keys: keys as WebKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as WebKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await pkcs8Pem(keys.privateKey) };
}

/**
 * A relay's certificate from the CA, for `names` (IP addresses and DNS names; the first is its subject), valid 10 years:
 * the derpMap pins it by hash, so it is replaced when the relay's names change rather than on a schedule.
 */
export async function issueRelayCertificate(ca: PemPair, names: string[], now = new Date()): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decode(ca.key)[0], ALG, false, ['sign']);
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(), subject: `CN=${names[0]}`, issuer: caCert.subject,
    notBefore: new Date(now.getTime() - 3_600_000), notAfter: new Date(now.getTime() + 10 * YEAR_MS),
    signingAlgorithm: ALG, publicKey: keys.publicKey as WebKey, signingKey: caKey as WebKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }))),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { cert: cert.toString('pem'), key: await pkcs8Pem(keys.privateKey) };
}

/** Tailscale's pin of a certificate: `sha256-raw:` and the SHA-256 of its DER, in hex. */
export function certPin(certPem: string): string {
  return `sha256-raw:${createHash('sha256').update(Buffer.from(x509.PemConverter.decode(certPem)[0])).digest('hex')}`;
}

/** The file name derper looks for under -certdir: the hostname without characters outside [a-zA-Z0-9-.]. */
export const derperCertName = (hostname: string) => hostname.replace(/[^a-zA-Z0-9-.]/g, '');
