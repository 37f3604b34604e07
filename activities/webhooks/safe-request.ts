import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { isPublicAddress } from '../../shared/webhooks/events';
import { outboundAddressAllowed } from '../../shared/platform/outbound';

/** Which addresses a request may connect to: true for any, false for public ones only, or public ones plus these private networks (CIDRs). */
export type PrivateAllowance = boolean | readonly string[];

const allows = (allowPrivate: PrivateAllowance, address: string) =>
  allowPrivate === true || (allowPrivate === false ? isPublicAddress(address) : outboundAddressAllowed(address, allowPrivate));

export class BlockedAddressError extends Error {}

/**
 * A DNS lookup that refuses non-public addresses unless allowed. It runs when the socket connects, so the address
 * checked is the address used (no DNS rebinding between a check and the request).
 */
function guardedLookup(allowPrivate: PrivateAllowance): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as dns.LookupAddress[];
      const blocked = list.find((a) => !allows(allowPrivate, a.address));
      if (blocked) return callback(new BlockedAddressError(`${hostname} resolves to ${blocked.address}, which is not a public address`), '', 0);
      if ((options as dns.LookupOptions).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      return callback(null, list[0].address, list[0].family);
    });
  };
}

/** Refuses a URL that is not http(s), carries credentials, or names a non-public address literally. */
export function checkTarget(url: URL, allowPrivate: PrivateAllowance): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BlockedAddressError('only http and https URLs');
  if (url.username || url.password) throw new BlockedAddressError('credentials in the URL are not allowed');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host) && !allows(allowPrivate, host)) throw new BlockedAddressError(`${host} is not a public address`);
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

/**
 * GETs a URL for a download, with the same checks as a webhook delivery at every hop: http(s), no credentials, and
 * only addresses `allowPrivate` allows, checked when the socket connects. Redirects are followed (at most
 * `maxRedirects`), each target checked again. Answers the response of the last hop, unread; `idleMs` bounds a stall.
 */
export async function safeGet(target: string, opts: { allowPrivate: PrivateAllowance; idleMs: number; maxRedirects?: number }): Promise<http.IncomingMessage> {
  let url = new URL(target);
  for (let hop = 0; ; hop++) {
    checkTarget(url, opts.allowPrivate);
    const transport = url.protocol === 'https:' ? https : http;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = transport.request(url, { method: 'GET', headers: { 'user-agent': 'idcflow/1' }, lookup: guardedLookup(opts.allowPrivate), timeout: opts.idleMs }, resolve);
      req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.idleMs} ms`)));
      req.on('error', reject);
      req.end();
    });
    const location = res.headers.location;
    if (!location || ![301, 302, 303, 307, 308].includes(res.statusCode ?? 0)) return res;
    res.resume();
    if (hop >= (opts.maxRedirects ?? 5)) throw new Error(`more than ${opts.maxRedirects ?? 5} redirects`);
    url = new URL(location, url);
  }
}
