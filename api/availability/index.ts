import type { Domain } from '../platform/domain';
import { availabilityRoutes } from './routes';

export const availabilityDomain: Domain = {
  name: 'availability',
  native: availabilityRoutes,
  compat: () => [],
};
