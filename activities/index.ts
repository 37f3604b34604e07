import type { ActivityDeps } from './platform/deps';
import { createMailActivities } from './platform/mail';
import { createOperationActivities } from './platform/operations';
import { createUserActivities } from './users/deletion';
import { createDbsyncActivities } from './dbsync/activities';
import { createComputeActivities } from './compute/activities';
import { createEngineActivities } from './compute/engine-calls';
import { createInstanceCreateSteps } from './compute/create-steps';
import { createRentalActivities } from './rentals/activities';
import { createNetworkActivities, createNetworkAgentActivities } from './networking/activities';
import { createDomainProofActivities } from './networking/domain-proof';
import { createNetservicesDbActivities } from './netservices/db';
import { createWireguardHostActivities } from './netservices/wireguard-host';
import { createBgpHostActivities } from './netservices/bgp-host';
import { createAvailabilityActivities } from './availability/backups';
import { createWebhookActivities } from './webhooks/deliveries';
import { createSystemActivities } from './system/probe';
import { createLogActivities } from './logs/activities';
import { createHaActivities } from './availability/ha';
import { createHaEngineActivities } from './availability/engine-side';
import { createMonitoringAlertActivities } from './monitoring/alerts';
import { createMonitoringRollupActivities } from './monitoring/rollups';
import { registerActivities } from './registry';

/** What the main worker runs (task queue `idcflow`), by domain. A new domain adds its factory here. */
export const MAIN_WORKER_ACTIVITIES = {
  platform: [createOperationActivities, createMailActivities],
  users: [createUserActivities],
  compute: [createComputeActivities, createInstanceCreateSteps, createEngineActivities],
  dbsync: [createDbsyncActivities],
  rentals: [createRentalActivities],
  networking: [createNetworkActivities, createDomainProofActivities],
  netservices: [createNetservicesDbActivities],
  availability: [createAvailabilityActivities, createHaActivities, createHaEngineActivities],
  webhooks: [createWebhookActivities],
  system: [createSystemActivities],
  logs: [createLogActivities],
  monitoring: [createMonitoringAlertActivities, createMonitoringRollupActivities],
};

/** What a host agent runs on its own task queue (`host:<name>`): the changes that must happen on the host itself. */
export const HOST_AGENT_ACTIVITIES = {
  compute: [createEngineActivities],
  networking: [createNetworkAgentActivities],
  netservices: [createWireguardHostActivities, createBgpHostActivities],
  availability: [createHaEngineActivities],
};

export const createActivities = (deps: ActivityDeps) => registerActivities(MAIN_WORKER_ACTIVITIES, deps);
export const createAgentActivities = (deps: ActivityDeps) => registerActivities(HOST_AGENT_ACTIVITIES, deps);
