import type { Domain } from '../platform/domain';
import { dbsyncRoutes } from './routes';
import { whalefallRoutes } from './compat-whalefall';

export const dbsyncDomain: Domain = {
  name: 'dbsync',
  native: dbsyncRoutes,
  compat: whalefallRoutes,
};
