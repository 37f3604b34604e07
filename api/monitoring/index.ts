import type { Domain } from '../platform/domain';
import { monitoringRoutes } from './routes';

export const monitoringDomain: Domain = {
  name: 'monitoring',
  native: (deps) => monitoringRoutes(deps),
  compat: () => [],
};
