import ipaddr from 'ipaddr.js';
import { canonicalIpv6 } from '../networking/addresses';
import { ipv4ToInt, poolRange, type IpPool } from './catalogue';

/** Address ranges no instance may ever have: they name the host itself or no one (ipaddr.js range names). */
const NEVER = new Set(['loopback', 'linkLocal', 'multicast', 'unspecified', 'broadcast']);

/**
 * Why `address` can never be an instance's, or null: loopback, link-local, multicast, unspecified or broadcast (an
 * IPv4-mapped IPv6 address is judged as its IPv4 address). A forward or proxy to such an address reaches the host.
 */
export function reservedAddressProblem(address: string): string | null {
  if (!ipaddr.isValid(address)) return 'is not an IP address';
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  return NEVER.has(range) ? `is a ${range} address, never an instance's` : null;
}

/** One spelling per address (IPv6 canonical), so comparisons between what the engine reports and what a rule asks for hold. */
export function canonicalAddress(address: string): string | null {
  const bare = address.replace(/\/\d+$/, '');
  if (bare.includes(':')) return canonicalIpv6(bare);
  return ipv4ToInt(bare) !== null ? bare : null;
}

/** The host's own addresses (its engine address when a literal, its public addresses, its pools' gateways): never an instance's. */
export function hostOwnAddresses(host: { address?: string | null; public_addresses?: string[] | null; ip_pools?: IpPool[] | null }): Set<string> {
  const own = new Set<string>();
  const add = (a: string | null | undefined) => { const c = a ? canonicalAddress(a) : null; if (c) own.add(c); };
  if (host.address) {
    try {
      add(new URL(host.address.includes('://') ? host.address : `tcp://${host.address}`).hostname.replace(/^\[|\]$/g, ''));
    } catch {
      add(host.address);
    }
  }
  for (const p of host.public_addresses ?? []) if (!p.includes('/')) add(p);
  for (const pool of host.ip_pools ?? []) add(pool.gateway);
  return own;
}

/** Whether an IPv4 address lies in one of the host's IP pools. */
export function inPools(pools: IpPool[], address: string): boolean {
  const n = ipv4ToInt(address);
  return n !== null && pools.some((p) => { const r = poolRange(p); return r !== null && n >= r.first && n <= r.last; });
}

/** The addresses an engine reports for an instance, canonical and without duplicates (ip4 first). */
export function reportedAddresses(engine: { ip4?: string | null; ip6?: string | null; addresses?: string[] | null }): string[] {
  const out: string[] = [];
  for (const a of [engine.ip4, engine.ip6, ...(engine.addresses ?? [])]) {
    const c = a ? canonicalAddress(a) : null;
    if (c && !out.includes(c) && !reservedAddressProblem(c)) out.push(c);
  }
  return out;
}
