import type { ActivityDeps } from './deps';
import { createMailActivities } from './mail';
import { createOperationActivities } from './operations';
import { createUserActivities } from './users';
import { createDbsyncActivities } from './dbsync/activities';
import { createComputeActivities } from './compute';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createOperationActivities(deps),
    ...createUserActivities(deps),
    ...createMailActivities(deps),
    ...createDbsyncActivities(deps),
    ...createComputeActivities(deps),
  };
}
