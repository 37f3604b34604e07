import dns from 'node:dns/promises';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { validationError } from './errors';
import { isPublicAddress } from '../webhooks/events';

/**
 * Whether the platform's own outbound requests (webhook deliveries, VM base image downloads, ACME directories) may
 * connect to `address`: a public unicast address, or one inside a private network an admin allowed (CIDRs, e.g.
 * IDCFLOW_OUTBOUND_ALLOW_PRIVATE). Loopback, private, link-local, unique-local and the rest are refused otherwise.
 */
export function outboundAddressAllowed(address: string, allowPrivate: readonly string[]): boolean {
  if (isPublicAddress(address)) return true;
  if (!ipaddr.isValid(address) || !allowPrivate.length) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return allowPrivate.some((cidr) => {
    try {
      const [net, length] = ipaddr.parseCIDR(cidr);
      return net.kind() === parsed.kind() && parsed.match([net, length] as [typeof parsed, number]);
    } catch {
      return false;
    }
  });
}

/** The addresses a URL's host names (itself when an address; none when its name does not resolve). */
export async function addressesOf(url: URL): Promise<{ host: string; addresses: string[] }> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = net.isIP(host) ? [host] : await dns.lookup(host, { all: true }).then((list) => list.map((a) => a.address), () => []);
  return { host, addresses };
}

/**
 * The same check for the platform's own fetches (a VM base image's URL, an ACME directory): http(s) only, no
 * credentials, and every address the host resolves to public or inside a private network the operator allowed
 * (IDCFLOW_OUTBOUND_ALLOW_PRIVATE). `mustResolve`: a name that does not resolve is refused too (nothing checks it
 * again when another program fetches it later).
 */
export async function checkOutboundTarget(target: string, allowPrivate: readonly string[], field: string, mustResolve = false): Promise<void> {
  const url = new URL(target);
  const refuse = (message: string) => validationError([{ field, location: 'body', message }], `${field}: ${message}`);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse('must be an http or https URL');
  if (url.username || url.password) throw refuse('may not carry credentials');
  const { host, addresses } = await addressesOf(url);
  if (!addresses.length && mustResolve) throw refuse(`${host} does not resolve`);
  const blocked = addresses.find((a) => !outboundAddressAllowed(a, allowPrivate));
  if (blocked) throw refuse(`${host} is ${blocked}, not a public address (an operator may allow private networks with IDCFLOW_OUTBOUND_ALLOW_PRIVATE)`);
}
