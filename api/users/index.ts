import type { Domain } from '../platform/domain';
import { userRoutes } from './routes';
import { userDataServiceRoutes } from './compat-user-data';
import { whalefallUserRoutes } from './compat-whalefall';

export const usersDomain: Domain = {
  name: 'users',
  native: userRoutes,
  compat: (deps) => [...userDataServiceRoutes(deps), ...whalefallUserRoutes(deps)],
};
