import { domainToASCII } from 'node:url';
import { Address6 } from 'ip-address';
import { intToIpv4, ipv4ToInt, poolRange } from '../compute/catalogue';

/**
 * The addresses a host can bind to instances (1:1 NAT): its public addresses after the first (the first is the host's
 * own, that port forwards use), each a single IPv4 address or a CIDR block routed to the host. Ranges in order.
 */
export function bindableRanges(publicAddresses: string[]): Array<{ first: number; last: number }> {
  const out: Array<{ first: number; last: number }> = [];
  for (const entry of publicAddresses.slice(1)) {
    if (entry.includes('/')) {
      const r = poolRange({ cidr: entry });
      if (r) out.push(r);
    } else {
      const n = ipv4ToInt(entry);
      if (n !== null) out.push({ first: n, last: n });
    }
  }
  return out;
}

export const inRanges = (ranges: Array<{ first: number; last: number }>, address: string) => {
  const n = ipv4ToInt(address);
  return n !== null && ranges.some((r) => n >= r.first && n <= r.last);
};

/** The first address of the ranges not in `taken` (bounded walk: at most `limit` candidates). */
export function firstFree(ranges: Array<{ first: number; last: number }>, taken: Set<string>, limit = 65536): string | null {
  let seen = 0;
  for (const r of ranges) {
    for (let n = r.first; n <= r.last && seen < limit; n++, seen++) {
      const a = intToIpv4(n);
      if (!taken.has(a)) return a;
    }
  }
  return null;
}

/** The host's own public IPv4 address, that port forwards listen on. */
export function forwardAddress(publicAddresses: string[]): string | null {
  const first = publicAddresses[0];
  return first && ipv4ToInt(first) !== null ? first : null;
}

export function prefixOfNetmask(mask: string): number | null {
  const n = ipv4ToInt(mask);
  if (n === null) return null;
  const bits = n.toString(2).padStart(32, '0');
  return /^1*0*$/.test(bits) ? bits.indexOf('0') === -1 ? 32 : bits.indexOf('0') : null;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A proxy's domain, normalised: lower case, IDN converted to its ASCII (punycode) form, at least two labels, no trailing
 * dot; a leading `*.` only when wildcards are allowed. Returns the problem instead when it is not a valid name.
 */
export function normaliseDomain(input: string, allowWildcard: boolean): { domain: string } | { problem: string } {
  const raw = input.trim().replace(/\.$/, '');
  const wildcard = raw.startsWith('*.');
  if (raw.includes('*') && !(wildcard && raw.indexOf('*', 1) === -1)) return { problem: 'only a leading "*." is allowed in a domain' };
  if (wildcard && !allowWildcard) return { problem: 'wildcard domains need an admin' };
  const ascii = domainToASCII(wildcard ? raw.slice(2) : raw);
  if (!ascii) return { problem: 'is not a valid domain name' };
  const labels = ascii.split('.');
  if (labels.length < 2 || ascii.length > 253 || !labels.every((l) => LABEL.test(l)) || /^\d+$/.test(labels[labels.length - 1])) return { problem: 'is not a valid domain name' };
  return { domain: wildcard ? `*.${ascii}` : ascii };
}

/** An IPv6 address in its one canonical spelling (so the database's uniqueness sees `fd00::1` and `fd00:0::1` as one), or null. */
export function canonicalIpv6(text: string): string | null {
  if (!/^[0-9A-Fa-f:]+$/.test(text) || !Address6.isValid(text)) return null;
  return new Address6(text).correctForm();
}

/** The IPv6 addresses a host can bind: each IPv6 entry of its public addresses (an address or a block routed to it). */
export function bindableRanges6(publicAddresses: string[]): Array<{ first: bigint; last: bigint }> {
  const out: Array<{ first: bigint; last: bigint }> = [];
  for (const entry of publicAddresses) {
    if (!entry.includes(':') || !Address6.isValid(entry)) continue;
    const a = new Address6(entry);
    out.push({ first: a.startAddress().bigInt(), last: a.endAddress().bigInt() });
  }
  return out;
}

export const inRanges6 = (ranges: Array<{ first: bigint; last: bigint }>, address: string) => {
  const canonical = canonicalIpv6(address);
  if (!canonical) return false;
  const n = new Address6(canonical).bigInt();
  return ranges.some((r) => n >= r.first && n <= r.last);
};

/** The first IPv6 address of the ranges not in `taken` (canonical spellings; bounded walk). A block's all-zero subnet-router anycast address is skipped. */
export function firstFree6(ranges: Array<{ first: bigint; last: bigint }>, taken: Set<string>, limit = 65536): string | null {
  let seen = 0;
  for (const r of ranges) {
    for (let n = r.first === r.last ? r.first : r.first + 1n; n <= r.last && seen < limit; n++, seen++) {
      const a = Address6.fromBigInt(n).correctForm();
      if (!taken.has(a)) return a;
    }
  }
  return null;
}
