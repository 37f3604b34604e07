import type { ActivityDeps } from '../platform/deps';
import { createBgpHostActivities } from './bgp-host';
import { createWireguardHostActivities } from './wireguard-host';
import { notify } from '../../db/notifications';
import { NOTIFY_CHANNELS } from '../../shared/monitoring/live';

/**
 * The agent's own schedule: every `seconds`, what its WireGuard interfaces (`wg show <if> dump`) and BIRD sessions
 * (`birdc show protocols all`) say goes into PostgreSQL, where it survives restarts of anything; a WireGuard peer set
 * that differs from the desired one is applied again. Each round is announced (NOTIFY) for the live channels.
 */
export function startNetservicesLoop(deps: ActivityDeps, hostName: string, seconds: number): () => void {
  const { netservicesWireguardCollect } = createWireguardHostActivities(deps);
  const { netservicesBgpCollect } = createBgpHostActivities(deps);
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void Promise.all([
      netservicesWireguardCollect({ hostName }).catch((err) => deps.logger.warn({ err: (err as Error).message }, 'wireguard stats collection failed')),
      netservicesBgpCollect({ hostName }).catch((err) => deps.logger.warn({ err: (err as Error).message }, 'bgp status collection failed')),
    ]).then(() => notify(deps.knex, NOTIFY_CHANNELS.netservices, { event: 'status', host: hostName }))
      .catch((err) => deps.logger.debug({ err: (err as Error).message }, 'announcing netservices status failed'))
      .finally(() => { busy = false; });
  }, seconds * 1000);
  return () => clearInterval(timer);
}
