import { conflict, validationError } from '../../shared/platform/errors';
import { normaliseDomain } from '../../shared/networking/addresses';
import { isAdmin } from '../platform/auth/principal';
import type { Caller } from '../platform/caller';
import { iso } from '../platform/http/schemas';
import type { Row } from '../compute/bounds';
import type { NetworkChanges } from './changes';
import type { CreateProxyBody } from './schemas';

/** Reverse proxies on the host's proxy: a domain (one instance's, platform-wide) to an instance port, over HTTP and optionally HTTPS. */
export class ProxyService {
  constructor(private readonly changes: NetworkChanges) {}

  present(inst: Row, r: Row, index: number) {
    return {
      id: r.id, index, instance: inst.uuid, host: inst.host_name, domain: r.domain, target_port: r.target_port, internal_address: r.internal_address, tls: r.tls,
      state: r.state, certificate: r.tls ? r.certificate ?? null : null, created_at: iso(r.created_at),
    };
  }

  async list(inst: Row) {
    return (await this.changes.list('proxy', inst)).map((r, i) => this.present(inst, r, i));
  }

  async add(caller: Caller, inst: Row, b: CreateProxyBody) {
    const named = normaliseDomain(b.domain, isAdmin(caller.principal));
    if ('problem' in named) throw validationError([{ field: 'domain', message: named.problem }]);
    const internal = this.changes.internalAddress(inst, undefined, 'domain');
    return this.changes.startAdd(caller, { instance: inst.id, ...b }, 'proxy', inst, async () => {
      const row = await this.changes.reserve(caller, inst, 'proxies', 'reverse_proxies', {
        domain: named.domain, internal_address: internal, target_port: b.target_port, tls: b.tls,
      }, () => conflict(`Domain ${named.domain} is already proxied`, { field: 'domain' }));
      return { row, name: named.domain };
    });
  }

  async remove(caller: Caller, inst: Row, id: number) {
    const row = await this.changes.row('proxy', inst, id);
    return this.changes.startRemove(caller, 'proxy', inst, row, row.domain);
  }
}
