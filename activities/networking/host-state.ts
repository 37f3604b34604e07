import type { Knex } from 'knex';
import type { HostNetworkState, Protocol } from '../../shared/networking/desired';
import type { AcmeSettings } from '../../shared/networking/acme';
import { servedOnly } from '../../db/queries/networking/domain-proofs';

/** Rows that are part of the desired state: being added or in place (rows being deleted are already left out). */
export const LIVE_STATES = ['pending', 'active'];

/** Rows an operation is adding or removing right now: a drift check does not count them as drift. */
export const IN_FLIGHT_STATES = ['pending', 'deleting'];

/** Reads a host's whole desired network state from PostgreSQL, in a stable order (or the rows in `states`); proxies only once their domain is proven. */
export async function desiredState(knex: Knex, hostId: number, states = LIVE_STATES): Promise<HostNetworkState> {
  // Only rows aimed at an address the engine reports for their instance reach the host (a row an older release took from
  // a request, or one whose container has since been renumbered, would reach whoever holds that address now).
  const live = (table: string) => knex(`${table} as r`).join('instances as i', 'i.id', 'r.instance_id')
    .where('r.host_id', hostId).whereIn('r.state', states).whereNull('i.deleted_at').whereRaw('jsonb_exists(i.engine_addresses, r.internal_address)').orderBy('r.id');
  const [forwards, addresses, proxies, acme] = await Promise.all([
    live('port_forwards').select('r.protocol', 'r.external_address', 'r.external_port', 'r.internal_address', 'r.internal_port'),
    live('instance_addresses').select('r.address', 'r.internal_address'),
    // A proxy whose domain is not proven yet is left out: it gets no route and no certificate.
    servedOnly(live('reverse_proxies')).select('r.domain', 'r.internal_address', 'r.target_port', 'r.tls'),
    hostAcme(knex, hostId),
  ]);
  const instanceAddresses = [...forwards, ...addresses, ...proxies].map((r) => r.internal_address as string);
  return {
    instanceAddresses: [...new Set(instanceAddresses)].sort(),
    forwards: forwards.map((r) => ({ protocol: r.protocol as Protocol, externalAddress: r.external_address, externalPort: r.external_port, internalAddress: r.internal_address, internalPort: r.internal_port })),
    oneToOne: addresses.map((r) => ({ publicAddress: r.address, internalAddress: r.internal_address })),
    proxies: proxies.map((r) => ({ domain: r.domain, upstream: `${r.internal_address}:${r.target_port}`, tls: r.tls })),
    acme,
  };
}

/** A host's ACME settings (being applied or in place), or null (its TLS domains use Caddy's internal CA). */
export async function hostAcme(knex: Knex, hostId: number): Promise<AcmeSettings | null> {
  const r = await knex('host_acme').where({ host_id: hostId }).whereIn('state', LIVE_STATES).first();
  return r ? { directory: r.directory, email: r.email ?? null, caRootPem: r.ca_root_pem ?? null, challenges: r.challenges } : null;
}

export const isEmpty = (s: HostNetworkState) => !s.forwards.length && !s.oneToOne.length && !s.proxies.length;
export const countsOf = (s: HostNetworkState) => ({ forwards: s.forwards.length, addresses: s.oneToOne.length, proxies: s.proxies.length });

/** Whether an operation is changing the host's ACME settings right now: a drift check leaves the proxy's config alone then. */
export async function acmeInFlight(knex: Knex, hostId: number): Promise<boolean> {
  return Boolean(await knex('host_acme').where({ host_id: hostId }).whereIn('state', IN_FLIGHT_STATES).first('host_id'));
}
