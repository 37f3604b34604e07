import type { Domain } from '../platform/domain';
import { logRoutes } from './routes';
import { whalefallLogRoutes } from './compat-whalefall';
import { openidcsLogRoutes } from './compat-openidcs';

export const logsDomain: Domain = {
  name: 'logs',
  native: logRoutes,
  compat: (deps) => [...whalefallLogRoutes(deps), ...openidcsLogRoutes(deps)],
};
