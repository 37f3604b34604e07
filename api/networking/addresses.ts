import { AppError, conflict, validationError } from '../../shared/platform/errors';
import { bindableRanges, bindableRanges6, canonicalIpv6, firstFree, firstFree6, inRanges, inRanges6, prefixOfNetmask } from '../../shared/networking/addresses';
import { intToIpv4 } from '../../shared/compute/catalogue';
import type { Caller } from '../platform/caller';
import { iso } from '../platform/http/schemas';
import type { NetworkChanges } from './changes';
import type { InstanceView } from '../../db/queries/compute/instances';
import type { CreateAddressBody } from './schemas';
import { boundAddresses, type InstanceAddressRow } from '../../db/queries/networking/instance-addresses';

const netmaskOf = (prefix: number) => intToIpv4(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

const familyOf = (a: string): 4 | 6 => (a.includes(':') ? 6 : 4);

/**
 * Public addresses bound to an instance, IPv4 or IPv6: a 1:1 NAT on the host (traffic to the address reaches the
 * instance's own address of that family; its own traffic leaves from it), in table `ip idcflow` or `ip6 idcflow`.
 */
export class AddressService {
  constructor(private readonly changes: NetworkChanges) {}

  present(inst: InstanceView, r: InstanceAddressRow, index: number) {
    return {
      id: r.id, index, instance: inst.uuid, host: inst.host_name, family: familyOf(r.address), address: r.address, prefix: r.prefix,
      netmask: familyOf(r.address) === 4 ? netmaskOf(r.prefix) : null, gateway: r.gateway ?? null,
      interface: r.interface, internal_address: r.internal_address, state: r.state, created_at: iso(r.created_at),
    };
  }

  async list(inst: InstanceView) {
    return (await this.changes.list('address', inst)).map((r, i) => this.present(inst, r, i));
  }

  async add(caller: Caller, inst: InstanceView, b: CreateAddressBody) {
    const host = await this.changes.host(inst.host_id);
    const family = b.address ? familyOf(b.address) : b.family ?? (b.internal_address ? familyOf(b.internal_address) : 4);
    if (b.family && b.family !== family) throw validationError([{ field: 'family', message: `does not match the address (IPv${family})` }]);
    for (const field of ['internal_address', 'gateway'] as const) {
      if (b[field] && familyOf(b[field]) !== family) throw validationError([{ field, message: `must be an IPv${family} address, like the bound address` }]);
    }
    const v6 = family === 6;
    const publicAddresses: string[] = host.public_addresses ?? [];
    const ranges = v6 ? bindableRanges6(publicAddresses) : bindableRanges(publicAddresses);
    if (!ranges.length) {
      throw new AppError('BAD_REQUEST', `Host ${host.name} has no public IPv${family} addresses to bind (${v6 ? 'IPv6 entries of public_addresses' : 'public_addresses after the first'})`, { reason: 'NOT_SUPPORTED' });
    }
    const within = (a: string) => (v6 ? inRanges6(ranges as Array<{ first: bigint; last: bigint }>, a) : inRanges(ranges as Array<{ first: number; last: number }>, a));
    if (b.address && !within(b.address)) throw validationError([{ field: 'address', message: `is not one of host ${host.name}'s public addresses` }]);
    if (v6 && b.netmask) throw validationError([{ field: 'netmask', message: 'is for IPv4; an IPv6 address takes prefix' }]);
    if (!v6 && b.prefix !== undefined && b.prefix > 32) throw validationError([{ field: 'prefix', message: 'must be at most 32 for IPv4' }]);
    const prefix = v6 ? b.prefix ?? 128 : b.netmask ? prefixOfNetmask(b.netmask) : b.prefix ?? 32;
    if (prefix === null) throw validationError([{ field: 'netmask', message: 'must be a contiguous netmask' }]);
    const internal = this.changes.internalAddress(inst, b.internal_address, 'internal_address', family);
    const asked = b.address && v6 ? canonicalIpv6(b.address)! : b.address;
    const gateway = b.gateway && v6 ? canonicalIpv6(b.gateway) : b.gateway ?? null;
    if ((await this.changes.list('address', inst)).some((r) => r.internal_address === internal)) {
      throw conflict(`Instance address ${internal} already has a public address (one 1:1 mapping per instance address)`, { field: 'internal_address' });
    }
    return this.changes.startAdd(caller, { instance: inst.id, ...b }, 'address', inst, async () => {
      for (let attempt = 0; ; attempt++) {
        let address = asked ?? null;
        if (!address) {
          const taken = await boundAddresses(this.changes.knex);
          address = v6 ? firstFree6(ranges as Array<{ first: bigint; last: bigint }>, taken) : firstFree(ranges as Array<{ first: number; last: number }>, taken);
          if (!address) throw conflict(`Every public IPv${family} address of host ${host.name} is bound`, { field: 'address' });
        }
        try {
          const row = await this.changes.reserve(caller, inst, 'addresses', 'address', {
            address, prefix, gateway, interface: b.interface, internal_address: internal,
          }, () => conflict(`Address ${address} is already bound`, { field: 'address' }));
          return { row, name: address };
        } catch (err) {
          if (!asked && attempt < 5 && err instanceof AppError && err.details.field === 'address') continue;
          throw err;
        }
      }
    });
  }

  async remove(caller: Caller, inst: InstanceView, id: number) {
    const row = await this.changes.row('address', inst, id);
    return this.changes.startRemove(caller, 'address', inst, row, row.address);
  }
}
