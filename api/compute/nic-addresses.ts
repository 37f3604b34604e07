import type { Knex } from 'knex';
import type { FieldError } from '../../shared/platform/errors';
import type { IpPool, Nic } from '../../shared/compute/catalogue';
import { canonicalAddress, hostOwnAddresses, reservedAddressProblem } from '../../shared/compute/addresses';
import { userHoldsIpv6 } from '../../db/queries/compute/addresses';
import type { Viewer } from '../../db/queries/platform/scope';

/** How a request names a NIC's field: `nics.0.ip4` natively, `nic_all.eth0.ip4_addr` in seed 001. */
export type NicField = (index: number, key: 'ip4' | 'ip6' | 'mac') => string;
export const nativeNicField: NicField = (i, key) => `nics.${i}.${key}`;

/**
 * What is wrong with the addresses a create request puts on its NICs. Addresses belong to the platform: a non-admin
 * gets its IPv4 addresses from the host's pools and its MACs from the engine, and may name only an IPv6 address inside
 * one of its own IPv6 allocations. An admin may place addresses (the host's pools, a network of its own), but never a
 * loopback, link-local, multicast, unspecified or broadcast address, nor one of the host's own (its engine address,
 * public addresses, pool gateways), through which forwards and proxies would reach the host itself.
 */
export async function nicAddressErrors(
  knex: Knex, viewer: Viewer, ownerId: number | null, host: { address?: string | null; public_addresses?: string[] | null; ip_pools?: IpPool[] | null } | null,
  nics: Array<Pick<Nic, 'ip4' | 'ip6' | 'mac'>>, field: NicField = nativeNicField,
): Promise<FieldError[]> {
  const errors: FieldError[] = [];
  const own = host ? hostOwnAddresses(host) : new Set<string>();
  for (const [i, nic] of nics.entries()) {
    if (nic.mac && !viewer.admin) errors.push({ field: field(i, 'mac'), message: 'is chosen by the engine: a MAC address cannot be set' });
    for (const key of ['ip4', 'ip6'] as const) {
      const asked = nic[key];
      if (!asked) continue;
      const address = canonicalAddress(asked);
      if (!address || (key === 'ip4') === address.includes(':')) {
        errors.push({ field: field(i, key), message: `must be an IPv${key === 'ip4' ? 4 : 6} address` });
        continue;
      }
      const reserved = reservedAddressProblem(address);
      if (reserved) errors.push({ field: field(i, key), message: reserved });
      else if (own.has(address)) errors.push({ field: field(i, key), message: 'is one of the host\'s own addresses' });
      else if (viewer.admin) continue;
      else if (key === 'ip4') errors.push({ field: field(i, key), message: 'is given by the host\'s IP pools: an IPv4 address cannot be chosen' });
      else if (ownerId === null || !(await userHoldsIpv6(knex, ownerId, address))) errors.push({ field: field(i, key), message: 'is not inside one of your IPv6 allocations' });
    }
  }
  return errors;
}
