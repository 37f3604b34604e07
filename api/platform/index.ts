import type { Domain } from './domain';
import { authRoutes } from './auth/routes';
import { tokenRoutes } from './auth/token-routes';
import { twoFactorRoutes } from './auth/two-factor-routes';
import { operationRoutes } from './operations/routes';
import { statusRoutes } from './status-routes';
import { openidcsSystemRoutes } from './compat-openidcs';

export const platformDomain: Domain = {
  name: 'platform',
  native: (deps) => [...authRoutes(deps), ...twoFactorRoutes(deps), ...tokenRoutes(deps), ...operationRoutes(deps), ...statusRoutes(deps)],
  compat: (deps) => openidcsSystemRoutes(deps),
};
