import type { Domain } from '../platform/domain';
import { webhookRoutes } from './routes';

export const webhooksDomain: Domain = {
  name: 'webhooks',
  native: webhookRoutes,
  compat: () => [],
};
