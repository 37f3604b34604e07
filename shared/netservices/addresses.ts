import { Address4, Address6 } from 'ip-address';

/** IPv6 and IPv4 arithmetic for pools, prefixes and tunnel addresses: BigInt throughout, from `ip-address`. */

export interface Prefix6 { network: string; length: number; first: bigint }

/** `2001:db8::/48` as a network (host bits zero), or why it is not one. */
export function parsePrefix6(text: string): Prefix6 | string {
  if (!/^[0-9A-Fa-f:.]+\/\d{1,3}$/.test(text)) return 'must be an IPv6 prefix such as 2001:db8::/48';
  let a: Address6;
  try {
    a = new Address6(text);
  } catch {
    return 'must be an IPv6 prefix such as 2001:db8::/48';
  }
  if (a.is4()) return 'must be an IPv6 prefix, not an IPv4-mapped address';
  if (a.startAddress().bigInt() !== a.bigInt()) return `has host bits set; the network is ${a.startAddress().correctForm()}/${a.subnetMask}`;
  return { network: a.correctForm(), length: a.subnetMask, first: a.bigInt() };
}

/** How many /`length` prefixes a /`mask` holds: 2^(length-mask), exact. */
export const prefixCount = (mask: number, length: number): bigint => 1n << BigInt(length - mask);

/** A count as a JSON number; pools are limited so that every count is exact (at most 2^53). */
export function exactNumber(n: bigint): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`count ${n} does not fit a JSON number exactly`);
  return Number(n);
}

/** The largest pool split idcflow accepts: 2^53 prefixes, so counts stay exact JSON numbers. */
export const MAX_SPLIT_BITS = 53;

/** `cidr` text as PostgreSQL prints it, from an address and a length. */
export const prefixText = (first: bigint, length: number) => `${Address6.fromBigInt(first).correctForm()}/${length}`;

/** A WireGuard interface address: `10.0.0.1/24` or `2001:db8::1/64` (host address plus its subnet). */
export interface IfAddress { family: 4 | 6; address: string; length: number; value: bigint; network: bigint; last: bigint }

export function parseIfAddress(text: string, family: 4 | 6): IfAddress | string {
  const example = family === 4 ? '10.0.0.1/24' : '2001:db8::1/64';
  if (!/^[0-9A-Fa-f:.]+\/\d{1,3}$/.test(text)) return `must be an IPv${family} address with its prefix length, e.g. ${example}`;
  try {
    const a = family === 4 ? new Address4(text) : new Address6(text);
    if (family === 6 && (a as Address6).is4()) return `must be an IPv6 address, e.g. ${example}`;
    return {
      family, address: family === 4 ? (a as Address4).correctForm() : (a as Address6).correctForm(), length: a.subnetMask,
      value: a.bigInt(), network: a.startAddress().bigInt(), last: a.endAddress().bigInt(),
    };
  } catch {
    return `must be an IPv${family} address with its prefix length, e.g. ${example}`;
  }
}

export const addressText = (family: 4 | 6, value: bigint) => (family === 4 ? Address4.fromBigInt(value).correctForm() : Address6.fromBigInt(value).correctForm());

/** A plain address (no length) of either family, e.g. a DNS server or a next hop. */
export function isIpAddress(text: string): boolean {
  if (text.includes('/')) return false;
  return Address4.isValid(text) || (Address6.isValid(text) && /^[0-9A-Fa-f:.]+$/.test(text));
}

/** Any CIDR (either family), as allowed IPs are written: `0.0.0.0/0`, `::/0`, `10.0.0.0/24`. */
export function isCidr(text: string): boolean {
  if (!/^[0-9A-Fa-f:.]+\/\d{1,3}$/.test(text)) return false;
  return Address4.isValid(text) || Address6.isValid(text);
}
