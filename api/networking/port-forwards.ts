import { AppError, conflict, validationError } from '../../shared/platform/errors';
import { forwardAddress } from '../../shared/networking/addresses';
import type { Caller } from '../platform/caller';
import { iso } from '../platform/http/schemas';
import type { NetworkChanges } from './changes';
import type { InstanceView } from '../../db/queries/compute/instances';
import type { CreateForwardBody } from './schemas';
import { freeForwardPort, type PortForwardRow } from '../../db/queries/networking/port-forwards';

/** Port forwards: host address:external port → instance address:internal port, tcp or udp. */
export class PortForwardService {
  constructor(private readonly changes: NetworkChanges) {}

  present(inst: InstanceView, r: PortForwardRow, index: number) {
    return {
      id: r.id, index, instance: inst.uuid, host: inst.host_name, protocol: r.protocol, external_address: r.external_address, external_port: r.external_port,
      internal_address: r.internal_address, internal_port: r.internal_port, state: r.state, created_at: iso(r.created_at),
    };
  }

  async list(inst: InstanceView) {
    return (await this.changes.list('port_forward', inst)).map((r, i) => this.present(inst, r, i));
  }

  async add(caller: Caller, inst: InstanceView, b: CreateForwardBody) {
    const host = await this.changes.host(inst.host_id);
    const [start, end] = [host.nat_port_start, host.nat_port_end];
    if (!start || !end) throw new AppError('BAD_REQUEST', `Host ${host.name} has no NAT port range (nat_port_start/nat_port_end): it does not offer port forwards`, { reason: 'NOT_SUPPORTED' });
    const external = forwardAddress(host.public_addresses ?? []);
    if (!external) throw new AppError('BAD_REQUEST', `Host ${host.name} has no public IPv4 address (public_addresses[0]) to forward from`, { reason: 'NOT_SUPPORTED' });
    if (b.external_port !== undefined && (b.external_port < start || b.external_port > end)) {
      throw validationError([{ field: 'external_port', message: `must be within the host's NAT port range ${start}-${end}` }]);
    }
    const internal = this.changes.internalAddress(inst, b.internal_address, 'internal_address');
    return this.changes.startAdd(caller, { instance: inst.id, ...b }, 'port_forward', inst, async () => {
      const clash = () => conflict(`External port ${b.protocol}/${b.external_port} is already forwarded on host ${host.name}`, { field: 'external_port' });
      for (let attempt = 0; ; attempt++) {
        const port = b.external_port ?? await freeForwardPort(this.changes.knex, host.id, b.protocol, start, end);
        if (port === null) throw conflict(`No free ${b.protocol} port left in the NAT port range ${start}-${end} of host ${host.name}`, { field: 'external_port' });
        try {
          const row = await this.changes.reserve(caller, inst, 'nat_ports', 'port_forward', {
            protocol: b.protocol, external_address: external, external_port: port, internal_address: internal, internal_port: b.internal_port,
          }, clash);
          return { row, name: `${b.protocol}/${port}` };
        } catch (err) {
          // A port chosen here was taken by a concurrent request in between: choose again.
          if (b.external_port === undefined && attempt < 5 && err instanceof AppError && err.details.field === 'external_port') continue;
          throw err;
        }
      }
    });
  }

  async remove(caller: Caller, inst: InstanceView, id: number) {
    const row = await this.changes.row('port_forward', inst, id);
    return this.changes.startRemove(caller, 'port_forward', inst, row, `${row.protocol}/${row.external_port}`);
  }
}
