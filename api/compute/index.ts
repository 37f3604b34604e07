import type { Domain } from '../platform/domain';
import { computeRoutes } from './routes';
import { openidcsComputeRoutes } from './compat-openidcs';
import { derpRentalComputeRoutes } from './compat-derp-rental';

export const computeDomain: Domain = {
  name: 'compute',
  native: computeRoutes,
  compat: (deps) => [...openidcsComputeRoutes(deps), ...derpRentalComputeRoutes(deps)],
};
