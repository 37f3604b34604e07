import type { Knex } from 'knex';
import type { HostNetworkState } from '../../shared/networking/desired';
import { desiredRows, LIVE_STATES } from '../../db/queries/networking/network-rows';
import { hostAcme } from '../../db/queries/networking/host-acme';

/** Reads a host's whole desired network state from the store, in a stable order (or the rows in `states`); proxies only once their domain is proven. */
export async function desiredState(knex: Knex, hostId: number, states = LIVE_STATES): Promise<HostNetworkState> {
  const [{ forwards, addresses, proxies }, acme] = await Promise.all([desiredRows(knex, hostId, states), hostAcme(knex, hostId)]);
  const instanceAddresses = [...forwards, ...addresses, ...proxies].map((r) => r.internal_address);
  return {
    instanceAddresses: [...new Set(instanceAddresses)].sort(),
    forwards: forwards.map((r) => ({ protocol: r.protocol, externalAddress: r.external_address, externalPort: r.external_port, internalAddress: r.internal_address, internalPort: r.internal_port })),
    oneToOne: addresses.map((r) => ({ publicAddress: r.address, internalAddress: r.internal_address })),
    proxies: proxies.map((r) => ({ domain: r.domain, upstream: `${r.internal_address}:${r.target_port}`, tls: r.tls })),
    acme,
  };
}

export const isEmpty = (s: HostNetworkState) => !s.forwards.length && !s.oneToOne.length && !s.proxies.length;
export const countsOf = (s: HostNetworkState) => ({ forwards: s.forwards.length, addresses: s.oneToOne.length, proxies: s.proxies.length });
