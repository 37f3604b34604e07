import { AppError, conflict, validationError } from '../../shared/platform/errors';
import { bindableRanges, firstFree, inRanges, prefixOfNetmask } from '../../shared/networking/addresses';
import { intToIpv4 } from '../../shared/compute/catalogue';
import type { Caller } from '../platform/caller';
import { iso } from '../platform/http/schemas';
import type { Row } from '../compute/bounds';
import type { NetworkChanges } from './changes';
import type { CreateAddressBody } from './schemas';

const netmaskOf = (prefix: number) => intToIpv4(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

/** Public addresses bound to an instance: a 1:1 NAT on the host (traffic to the address reaches the instance; its own traffic leaves from it). */
export class AddressService {
  constructor(private readonly changes: NetworkChanges) {}

  present(inst: Row, r: Row, index: number) {
    return {
      id: r.id, index, instance: inst.uuid, host: inst.host_name, address: r.address, prefix: r.prefix, netmask: netmaskOf(r.prefix), gateway: r.gateway ?? null,
      interface: r.interface, internal_address: r.internal_address, state: r.state, created_at: iso(r.created_at),
    };
  }

  async list(inst: Row) {
    return (await this.changes.list('address', inst)).map((r, i) => this.present(inst, r, i));
  }

  async add(caller: Caller, inst: Row, b: CreateAddressBody) {
    const host = await this.changes.host(inst.host_id);
    const ranges = bindableRanges(host.public_addresses ?? []);
    if (!ranges.length) throw new AppError('BAD_REQUEST', `Host ${host.name} has no public addresses to bind (public_addresses after the first)`, { reason: 'NOT_SUPPORTED' });
    if (b.address && !inRanges(ranges, b.address)) throw validationError([{ field: 'address', message: `is not one of host ${host.name}'s public addresses` }]);
    const prefix = b.netmask ? prefixOfNetmask(b.netmask) : 32;
    if (prefix === null) throw validationError([{ field: 'netmask', message: 'must be a contiguous netmask' }]);
    const internal = this.changes.internalAddress(inst, b.internal_address, 'internal_address');
    if ((await this.changes.list('address', inst)).some((r) => r.internal_address === internal)) {
      throw conflict(`Instance address ${internal} already has a public address (one 1:1 mapping per instance address)`, { field: 'internal_address' });
    }
    return this.changes.startAdd(caller, { instance: inst.id, ...b }, 'address', inst, async () => {
      for (let attempt = 0; ; attempt++) {
        let address = b.address ?? null;
        if (!address) {
          const taken = new Set<string>((await this.changes.knex('instance_addresses').select('address')).map((r) => r.address));
          address = firstFree(ranges, taken);
          if (!address) throw conflict(`Every public address of host ${host.name} is bound`, { field: 'address' });
        }
        try {
          const row = await this.changes.reserve(caller, inst, 'addresses', 'instance_addresses', {
            address, prefix, gateway: b.gateway ?? null, interface: b.interface, internal_address: internal,
          }, () => conflict(`Address ${address} is already bound`, { field: 'address' }));
          return { row, name: address };
        } catch (err) {
          if (!b.address && attempt < 5 && err instanceof AppError && err.details.field === 'address') continue;
          throw err;
        }
      }
    });
  }

  async remove(caller: Caller, inst: Row, id: number) {
    const row = await this.changes.row('address', inst, id);
    return this.changes.startRemove(caller, 'address', inst, row, row.address);
  }
}
