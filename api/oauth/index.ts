import type { Domain } from '../platform/domain';
import { oauthRoutes } from './routes';
import { oauthClientCompatRoutes } from './compat-user-data';

export const oauthDomain: Domain = {
  name: 'oauth',
  native: (deps) => [...oauthRoutes(deps)],
  compat: (deps) => [...oauthClientCompatRoutes(deps)],
};
