import type { Client } from '@temporalio/client';

/** How long a health check waits for Temporal before calling it unhealthy. */
export const TEMPORAL_HEALTH_DEADLINE_MS = 3000;

/** One cheap round trip to the Temporal server, bounded: resolves when it answers, throws when it does not in time. */
export function pingTemporal(temporal: Client) {
  return temporal.withDeadline(Date.now() + TEMPORAL_HEALTH_DEADLINE_MS, () => temporal.workflowService.getSystemInfo({}));
}
