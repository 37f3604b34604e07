import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';

/** WireGuard keys (X25519 from node:crypto, in wg's base64 form) and the files wg and its clients read. */

export interface WgKeyPair { privateKey: string; publicKey: string }

/** A key pair as `wg genkey | wg pubkey` makes it: base64 of the raw 32 bytes. */
export function generateWgKeyPair(): WgKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const priv = privateKey.export({ format: 'der', type: 'pkcs8' });
  const pub = publicKey.export({ format: 'der', type: 'spki' });
  return { privateKey: priv.subarray(priv.length - 32).toString('base64'), publicKey: pub.subarray(pub.length - 32).toString('base64') };
}

const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** `wg pubkey`: the public key of a base64 private key. */
export function wgPublicKeyOf(privateKey: string): string {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, Buffer.from(privateKey, 'base64')]), format: 'der', type: 'pkcs8' });
  const pub = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return pub.subarray(pub.length - 32).toString('base64');
}

/** 32 bytes in base64: 43 characters, the last of which carries only 4 bits, then `=`. */
export const isWgKey = (s: string) => /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(s);

export interface WgPeer { publicKey: string; allowedIps: string[] }

/**
 * The interface part `wg syncconf` takes (no Address/DNS/MTU: those are wg-quick's, and wg refuses them): private key,
 * listen port and every peer. syncconf changes only what differs, so peers that stay keep their sessions.
 */
export function renderSyncConf(privateKey: string, listenPort: number, peers: WgPeer[]): string {
  const lines = ['[Interface]', `PrivateKey = ${privateKey}`, `ListenPort = ${listenPort}`];
  for (const p of peers) lines.push('', '[Peer]', `PublicKey = ${p.publicKey}`, `AllowedIPs = ${p.allowedIps.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export interface ClientConfigInput {
  privateKey: string | null;
  addresses: string[];
  dns: string[];
  mtu: number | null;
  serverPublicKey: string;
  endpoint: string;
  allowedIps: string[];
}

/** The client's wg-quick file. A client that brought its own key gets a placeholder where its private key goes. */
export function renderClientConfig(c: ClientConfigInput): string {
  const lines = ['[Interface]', `PrivateKey = ${c.privateKey ?? '<your private key>'}`, `Address = ${c.addresses.join(', ')}`];
  if (c.dns.length) lines.push(`DNS = ${c.dns.join(', ')}`);
  if (c.mtu) lines.push(`MTU = ${c.mtu}`);
  lines.push('', '[Peer]', `PublicKey = ${c.serverPublicKey}`, `Endpoint = ${c.endpoint}`, `AllowedIPs = ${c.allowedIps.join(', ')}`, 'PersistentKeepalive = 25');
  return `${lines.join('\n')}\n`;
}

export interface WgDumpPeer {
  publicKey: string;
  endpoint: string | null;
  allowedIps: string[];
  latestHandshake: Date | null;
  transferRx: number;
  transferTx: number;
}

/**
 * `wg show <if> dump`: a first line for the interface (private key, public key, listen port, fwmark), then one
 * tab-separated line per peer (public key, preshared key, endpoint, allowed ips, latest handshake, rx, tx, keepalive).
 * `(none)` is unset; a handshake of 0 is never.
 */
export function parseWgDump(text: string): { listenPort: number; peers: WgDumpPeer[] } {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (!lines.length) throw new Error('wg dump: empty output');
  const head = lines[0].split('\t');
  if (head.length !== 4) throw new Error(`wg dump: interface line needs 4 fields, got ${head.length}`);
  const peers = lines.slice(1).map((line) => {
    const f = line.split('\t');
    if (f.length !== 8) throw new Error(`wg dump: peer line needs 8 fields, got ${f.length}`);
    const hs = Number(f[4]);
    return {
      publicKey: f[0], endpoint: f[2] === '(none)' ? null : f[2], allowedIps: f[3] === '(none)' ? [] : f[3].split(','),
      latestHandshake: hs > 0 ? new Date(hs * 1000) : null, transferRx: Number(f[5]), transferTx: Number(f[6]),
    };
  });
  return { listenPort: Number(head[2]), peers };
}
