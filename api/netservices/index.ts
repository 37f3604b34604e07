import type { Domain } from '../platform/domain';
import { ipv6Routes } from './routes-ipv6';
import { wireguardRoutes } from './routes-wireguard';
import { bgpRoutes } from './routes-bgp';
import { netservicesAgentRoutes } from './agent-reports';

export const netservicesDomain: Domain = {
  name: 'netservices',
  native: (deps) => [...ipv6Routes(deps), ...wireguardRoutes(deps), ...bgpRoutes(deps), ...netservicesAgentRoutes(deps)],
  compat: () => [],
};
