import type { Config } from '../../shared/platform/config';
import type { ComputeBounds } from '../../shared/compute/contracts';

/** The waits every compute runbook gets from the configuration. */
export const computeBounds = (config: Config): ComputeBounds => ({
  agentWaitSeconds: config.compute.agentWaitSeconds, instanceWaitSeconds: config.compute.instanceWaitSeconds,
});
