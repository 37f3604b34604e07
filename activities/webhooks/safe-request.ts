import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { isPublicAddress } from '../../shared/webhooks/events';

export class BlockedAddressError extends Error {}

/**
 * A DNS lookup that refuses non-public addresses unless allowed. It runs when the socket connects, so the address
 * checked is the address used (no DNS rebinding between a check and the request).
 */
function guardedLookup(allowPrivate: boolean): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as dns.LookupAddress[];
      const blocked = allowPrivate ? undefined : list.find((a) => !isPublicAddress(a.address));
      if (blocked) return callback(new BlockedAddressError(`${hostname} resolves to ${blocked.address}, which is not a public address`), '', 0);
      if ((options as dns.LookupOptions).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      return callback(null, list[0].address, list[0].family);
    });
  };
}

/** Refuses a URL that is not http(s), carries credentials, or names a non-public address literally. */
export function checkTarget(url: URL, allowPrivate: boolean): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BlockedAddressError('only http and https URLs');
  if (url.username || url.password) throw new BlockedAddressError('credentials in the URL are not allowed');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host) && !allowPrivate && !isPublicAddress(host)) throw new BlockedAddressError(`${host} is not a public address`);
}

export interface PostAnswer {
  status: number;
  body: string;
}

/** POSTs a JSON body without following redirects, within `timeoutMs`, keeping at most 4 KiB of the answer. */
export function safePost(target: string, headers: Record<string, string>, body: string, allowPrivate: boolean, timeoutMs: number): Promise<PostAnswer> {
  const url = new URL(target);
  checkTarget(url, allowPrivate);
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'idcflow-webhooks/1', ...headers },
      lookup: guardedLookup(allowPrivate),
      timeout: timeoutMs,
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < 4096) chunks.push(c.subarray(0, 4096 - size));
        size += c.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
