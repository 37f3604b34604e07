import type { Domain } from './domain';
import { authRoutes } from './auth/routes';
import { tokenRoutes } from './auth/token-routes';
import { operationRoutes } from './operations/routes';
import { statusRoutes } from './status-routes';
import { openidcsSystemRoutes } from './compat-openidcs';

export const platformDomain: Domain = {
  name: 'platform',
  native: (deps) => [...authRoutes(deps), ...tokenRoutes(deps), ...operationRoutes(deps), ...statusRoutes(deps)],
  compat: (deps) => openidcsSystemRoutes(deps),
};
