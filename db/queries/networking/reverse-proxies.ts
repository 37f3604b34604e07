import type { Knex } from 'knex';
import type { ProofMethod } from '../../../shared/networking/domain-proof';
import { LIVE_STATES } from './network-rows';

/** A row of `reverse_proxies` (migrations 006, 024, 032): a domain to an instance port, served once its domain is proven. */
export interface ReverseProxyRow {
  id: number;
  host_id: number;
  instance_id: number;
  domain: string;
  internal_address: string;
  target_port: number;
  tls: boolean;
  state: 'pending' | 'active' | 'deleting';
  /** What the host's proxy last had for its TLS certificate (refreshCertificates). */
  certificate: Record<string, unknown> | null;
  verification_token: string;
  verified_at: Date | null;
  verified_via: ProofMethod | 'migration' | null;
  verification_checked_at: Date | null;
  verification_error: string | null;
  created_at: Date;
  updated_at: Date;
}

/** A host's served TLS proxies (proven, being added or in place): those whose certificates the host's proxy obtains. */
export async function proxiesToCertify(knex: Knex, hostId: number): Promise<Array<Pick<ReverseProxyRow, 'id' | 'domain' | 'certificate'>>> {
  return knex('reverse_proxies').where({ host_id: hostId, tls: true }).whereIn('state', LIVE_STATES).whereNotNull('verified_at').select('id', 'domain', 'certificate');
}

export async function setProxyCertificate(knex: Knex, id: number, certificate: unknown): Promise<void> {
  await knex('reverse_proxies').where({ id }).update({ certificate: JSON.stringify(certificate) });
}
