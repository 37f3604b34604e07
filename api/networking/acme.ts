import { X509Certificate } from 'node:crypto';
import type { AcmeSettings } from '../../shared/networking/acme';
import type { AppDeps } from '../platform/deps';
import type { Caller } from '../platform/caller';
import type { OperationService, Started } from '../platform/operations/service';
import { iso } from '../platform/http/schemas';
import { setHostAcmeWorkflow } from '../../workflows/networking/runbooks';
import { hostAcme, hostAcmeState } from '../../db/queries/networking/host-acme';
import type { HostRow } from '../../db/queries/compute/hosts';
import type { HostAcmeBody } from './schemas';
import { checkOutboundTarget } from '../../shared/platform/outbound';

/** The certificates of a PEM bundle (the schema has checked that each parses). */
export const pemCertificates = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];

/** A host's ACME settings (admins): where its proxies' TLS certificates come from. Changing them is an operation. */
export class HostAcmeService {
  constructor(private readonly deps: AppDeps, private readonly operations: OperationService) {}

  async view(host: Pick<HostRow, 'id' | 'name'>) {
    const a = await hostAcme(this.deps.knex, host.id);
    const row = a && await hostAcmeState(this.deps.knex, host.id);
    return {
      host: host.name,
      issuer: a ? 'acme' as const : 'internal' as const,
      acme: a && {
        directory: a.directory, email: a.email, challenges: a.challenges, state: row?.state,
        ca_roots: pemCertificates(a.caRootPem ?? '').map((p) => {
          const c = new X509Certificate(p);
          return { subject: c.subject.split('\n').join(', '), not_after: new Date(c.validTo).toISOString(), sha256: c.fingerprint256 };
        }),
        updated_at: iso(row?.updated_at),
      },
    };
  }

  /** Sets the host's ACME settings (`body`), or with null goes back to Caddy's internal CA. */
  async set(caller: Caller, host: Pick<HostRow, 'id' | 'name'>, body: HostAcmeBody | null): Promise<Started> {
    // The same SSRF checks as webhooks: a directory on a private network only where the operator allowed it.
    if (body) await checkOutboundTarget(body.directory, this.deps.config.tenancy.outboundAllowPrivate, 'directory', true);
    const settings: AcmeSettings | null = body && {
      directory: body.directory, email: body.email ?? null, caRootPem: body.ca_root_pem ? pemCertificates(body.ca_root_pem).join('\n') + '\n' : null,
      challenges: [...new Set(body.challenges)],
    };
    return this.operations.start(caller, { host: host.id, acme: body }, () => ({
      type: 'networking.host.acme', resource: { type: 'host_acme', id: host.id, name: host.name, url: `/api/v1/hosts/${host.id}/network/acme` }, host: host.name,
      workflow: setHostAcmeWorkflow, input: { hostId: host.id, settings, agentWaitSeconds: this.deps.config.compute.agentWaitSeconds },
      params: { host: host.name, directory: settings?.directory ?? null, challenges: settings?.challenges ?? null },
      summary: settings ? `Proxy certificates of ${host.name} from ACME at ${settings.directory}` : `Proxy certificates of ${host.name} from the internal CA`,
    }));
  }
}
