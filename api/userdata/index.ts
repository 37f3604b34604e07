import type { Domain } from '../platform/domain';
import { userDataRoutes } from './routes';
import { settingsRoutes } from './settings-routes';
import { userDataCompatRoutes } from './compat-user-data';
import { settingsCompatRoutes } from './compat-settings';

export const userdataDomain: Domain = {
  name: 'userdata',
  native: (deps) => [...userDataRoutes(deps), ...settingsRoutes(deps)],
  compat: (deps) => [...userDataCompatRoutes(deps), ...settingsCompatRoutes(deps)],
};
