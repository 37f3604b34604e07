import { ActivityFailure, ApplicationFailure, proxyActivities, TimeoutFailure, type ActivityOptions } from '@temporalio/workflow';
import type { HostRoute } from '../../shared/compute/contracts';
import { hostTaskQueue } from '../../shared/compute/catalogue';

/**
 * Activities of type T run on a host's agent (task queue host:<name>). An agent that has not heartbeaten recently, or
 * does not pick the task up within `agentWaitSeconds`, fails the call with SERVICE_UNAVAILABLE (nothing hangs).
 */
export function onHostAgent<T extends object>(route: HostRoute, agentWaitSeconds: number, options: ActivityOptions): T {
  const offline = () => ApplicationFailure.nonRetryable(
    `The agent of host ${route.name} is offline (task queue ${hostTaskQueue(route.name)}; last heartbeat ${route.agentLastSeen ?? 'never'}); nothing was sent to the host`,
    'SERVICE_UNAVAILABLE', { host: route.name, last_heartbeat: route.agentLastSeen, waited_seconds: agentWaitSeconds },
  );
  if (!route.agentOnline) {
    return new Proxy({} as T, { get: () => async () => { throw offline(); } });
  }
  const remote = proxyActivities<Record<string, (a: unknown) => Promise<unknown>>>({ ...options, taskQueue: hostTaskQueue(route.name), scheduleToStartTimeout: `${agentWaitSeconds}s` });
  return new Proxy({} as T, {
    get: (_t, name: string) => async (args: unknown) => {
      try {
        return await remote[name](args);
      } catch (err) {
        if (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure) throw offline();
        throw err;
      }
    },
  });
}
