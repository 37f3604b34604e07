import { conflict, validationError } from '../../shared/platform/errors';
import { normaliseDomain } from '../../shared/networking/addresses';
import { newProofToken } from '../../shared/networking/domain-proof';
import { ownerClaims, verifiedClaim } from '../../db/queries/networking/domain-proofs';
import type { ReverseProxyRow } from '../../db/queries/networking/reverse-proxies';
import type { InstanceView } from '../../db/queries/compute/instances';
import { isAdmin, requirePermission } from '../platform/auth/principal';
import type { Caller } from '../platform/caller';
import { iso } from '../platform/http/schemas';
import type { OperationService, Started } from '../platform/operations/service';
import { verifyProxyDomainWorkflow } from '../../workflows/networking/runbooks';
import type { NetworkChanges } from './changes';
import type { CreateProxyBody } from './schemas';
import { presentVerification, type ProxyVerification, type VerifyProxyBody } from './domain-proof';

/**
 * Reverse proxies on the host's proxy: a domain (one instance's, platform-wide) to an instance port, over HTTP and
 * optionally HTTPS. A domain is served only once its owner proves control of it (`verify`); until then several users
 * may claim it, each with their own token, and the first to prove it owns it.
 */
export class ProxyService {
  constructor(private readonly changes: NetworkChanges, private readonly operations: OperationService) {}

  private get httpPort() { return this.changes.deps.config.networking.domainProof.httpPort; }

  present(inst: InstanceView, r: ReverseProxyRow, index: number) {
    return {
      id: r.id, index, instance: inst.uuid, host: inst.host_name, domain: r.domain, target_port: r.target_port, internal_address: r.internal_address, tls: r.tls,
      state: r.state, certificate: r.tls && r.verified_at ? r.certificate ?? null : null, verification: presentVerification(inst, r, this.httpPort), created_at: iso(r.created_at),
    };
  }

  async list(inst: InstanceView) {
    return (await this.changes.list('proxy', inst)).map((r, i) => this.present(inst, r, i));
  }

  /** A claim is refused (409) when the domain is proven already (by anyone), or when this owner claims it already. */
  private async claimable(inst: InstanceView, domain: string) {
    if (await verifiedClaim(this.changes.knex, domain)) throw conflict(`Domain ${domain} is already proxied`, { field: 'domain' });
    if (await ownerClaims(this.changes.knex, domain, inst.owner_id ?? null)) throw conflict(`Domain ${domain} is already claimed by this account: verify that claim`, { field: 'domain' });
  }

  /** Starts the add (the row goes in the host's desired state, unserved until proven) and says how to prove the domain. */
  async add(caller: Caller, inst: InstanceView, b: CreateProxyBody): Promise<Started & { verification: ProxyVerification | null }> {
    const named = normaliseDomain(b.domain, isAdmin(caller.principal));
    if ('problem' in named) throw validationError([{ field: 'domain', message: named.problem }]);
    const internal = this.changes.internalAddress(inst, undefined, 'domain');
    let reserved: ReverseProxyRow | null = null;
    const started = await this.changes.startAdd(caller, { instance: inst.id, ...b }, 'proxy', inst, async () => {
      await this.claimable(inst, named.domain);
      const row = await this.changes.reserve(caller, inst, 'proxies', 'proxy', {
        domain: named.domain, internal_address: internal, target_port: b.target_port, tls: b.tls, verification_token: newProofToken(),
      }, () => conflict(`Domain ${named.domain} is already proxied`, { field: 'domain' }));
      reserved = row;
      return { row, name: named.domain };
    });
    const row: ReverseProxyRow | null = (reserved as ReverseProxyRow | null) ?? await this.changes.row('proxy', inst, Number(started.operation.resource_id)).catch(() => null);
    return { ...started, verification: row ? presentVerification(inst, row, this.httpPort) : null };
  }

  async remove(caller: Caller, inst: InstanceView, id: number) {
    const row = await this.changes.row('proxy', inst, id);
    return this.changes.startRemove(caller, 'proxy', inst, row, row.domain);
  }

  /**
   * Starts the check of the domain's proof (an operation: the worker asks DNS or HTTP, never the API); once proven, the
   * host's agent serves it. Admins may mark it verified (`force`) or let the HTTP check reach private addresses.
   */
  async verify(caller: Caller, inst: InstanceView, id: number, b: VerifyProxyBody): Promise<Started> {
    const row = await this.changes.row('proxy', inst, id);
    if (b.force || b.allow_private) requirePermission(caller.principal, 'admin');
    if (row.state !== 'active') throw conflict(`Proxy ${row.domain} is ${row.state === 'pending' ? 'still being added' : 'being removed'}`, { state: row.state });
    if (!row.verified_at) {
      const owner = await verifiedClaim(this.changes.knex, row.domain);
      if (owner && owner.id !== row.id) throw conflict(`Domain ${row.domain} is already proxied`, { field: 'domain' });
    }
    const url = `/api/v1/instances/${encodeURIComponent(inst.uuid)}/proxies/${row.id}`;
    return this.operations.start(caller, { verify: 'proxy', id: row.id, ...b }, () => ({
      type: 'networking.proxy.verify', resource: { type: 'proxy', id: row.id, name: row.domain, url }, host: inst.host_name, workflow: verifyProxyDomainWorkflow,
      input: { id: row.id, hostId: inst.host_id, check: b.check, allowPrivate: b.allow_private, force: b.force, agentWaitSeconds: this.changes.deps.config.compute.agentWaitSeconds },
      params: { instance: inst.uuid, id: row.id, domain: row.domain, check: b.check, allow_private: b.allow_private, force: b.force },
      summary: `${b.force ? 'Mark' : 'Verify'} the domain ${row.domain} of ${inst.uuid}${b.force ? ' verified' : ''}`,
    }));
  }
}
