import type { Domain } from '../platform/domain';
import { systemRoutes } from './routes';
import { openidcsSystemConfigRoutes } from './compat-openidcs';

export const systemDomain: Domain = {
  name: 'system',
  native: systemRoutes,
  compat: openidcsSystemConfigRoutes,
};
