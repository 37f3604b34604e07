import type { Domain } from '../platform/domain';
import { computeRoutes } from './routes';
import { agentIdentityRoutes } from './agent-routes';
import { openidcsComputeRoutes } from './compat-openidcs';
import { derpRentalComputeRoutes } from './compat-derp-rental';

export const computeDomain: Domain = {
  name: 'compute',
  native: (deps) => [...computeRoutes(deps), ...agentIdentityRoutes(deps)],
  compat: (deps) => [...openidcsComputeRoutes(deps), ...derpRentalComputeRoutes(deps)],
};
