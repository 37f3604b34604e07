import type { Domain } from './platform/domain';
import { platformDomain } from './platform';
import { usersDomain } from './users';
import { computeDomain } from './compute';
import { dbsyncDomain } from './dbsync';
import { rentalsDomain } from './rentals';
import { networkingDomain } from './networking';
import { userdataDomain } from './userdata';
import { oauthDomain } from './oauth';
import { netservicesDomain } from './netservices';
import { availabilityDomain } from './availability';
import { webhooksDomain } from './webhooks';
import { systemDomain } from './system';
import { logsDomain } from './logs';
import { monitoringDomain } from './monitoring';

/** Every domain the API serves, in the order their routes are mounted. A new domain adds itself here. */
export const DOMAINS: Domain[] = [platformDomain, usersDomain, computeDomain, dbsyncDomain, networkingDomain, netservicesDomain, rentalsDomain, userdataDomain, oauthDomain, availabilityDomain, webhooksDomain, systemDomain, logsDomain, monitoringDomain];
