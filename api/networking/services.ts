import type { AppDeps } from '../platform/deps';
import { computeServices } from '../compute/services';
import { NetworkChanges } from './changes';
import { PortForwardService } from './port-forwards';
import { AddressService } from './addresses';
import { ProxyService } from './proxies';
import { HostNetworkService } from './host-network';
import { HostAcmeService } from './acme';

const wired = new WeakMap<AppDeps, ReturnType<typeof wire>>();

/** The networking domain's services, wired once per process (per deps) for its native routes and its compat adapter. */
export function networkingServices(deps: AppDeps) {
  let services = wired.get(deps);
  if (!services) wired.set(deps, (services = wire(deps)));
  return services;
}

function wire(deps: AppDeps) {
  const { operations, instances, hosts } = computeServices(deps);
  const changes = new NetworkChanges(deps, operations, instances);
  return {
    operations, hosts, changes, forwards: new PortForwardService(changes), addresses: new AddressService(changes), proxies: new ProxyService(changes, operations),
    hostNetwork: new HostNetworkService(deps), acme: new HostAcmeService(deps, operations),
  };
}
