import type { Domain } from '../platform/domain';
import { userDataRoutes } from './routes';
import { userDataCompatRoutes } from './compat-user-data';

export const userdataDomain: Domain = {
  name: 'userdata',
  native: (deps) => [...userDataRoutes(deps)],
  compat: (deps) => [...userDataCompatRoutes(deps)],
};
