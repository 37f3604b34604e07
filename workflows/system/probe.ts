import { proxyActivities } from '@temporalio/workflow';
import type { SystemActivities } from '../../activities/system/probe';

/** Seconds the activity may take beyond the probe's own bound (scheduling, the worker's pickup). */
const MARGIN_SECONDS = 10;

/** One bounded HTTP probe of a cluster node's health URL, for the API's health-check (answered at once, not retried). */
export async function clusterNodeProbeWorkflow(input: { url: string; timeoutMs: number }) {
  const { systemProbeHealthUrl } = proxyActivities<SystemActivities>({
    startToCloseTimeout: `${Math.ceil(input.timeoutMs / 1000) + MARGIN_SECONDS}s`, retry: { maximumAttempts: 1 },
  });
  return systemProbeHealthUrl(input);
}
