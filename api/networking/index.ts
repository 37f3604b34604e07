import type { Domain } from '../platform/domain';
import { networkingRoutes } from './routes';
import { openidcsNetworkingRoutes } from './compat-openidcs';

export const networkingDomain: Domain = {
  name: 'networking',
  native: networkingRoutes,
  compat: openidcsNetworkingRoutes,
};
