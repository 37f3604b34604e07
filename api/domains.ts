import type { Domain } from './platform/domain';
import { platformDomain } from './platform';
import { usersDomain } from './users';
import { computeDomain } from './compute';
import { dbsyncDomain } from './dbsync';
import { availabilityDomain } from './availability';

/** Every domain the API serves, in the order their routes are mounted. A new domain adds itself here. */
export const DOMAINS: Domain[] = [platformDomain, usersDomain, computeDomain, dbsyncDomain, availabilityDomain];
