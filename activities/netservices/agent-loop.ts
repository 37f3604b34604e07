import type { Logger } from '../../shared/platform/logger';
import type { AgentApi } from '../compute/agent-api';
import { readBgp } from './bgp-host';
import { readWireguard } from './wireguard-host';

/**
 * The agent's own schedule: every `seconds`, what its WireGuard interfaces (`wg show <if> dump`) and BIRD sessions
 * (`birdc show protocols all`) say goes to the platform through the agent's API identity, which keeps it in PostgreSQL
 * and announces it on the live channels. A WireGuard server whose peer set differs from the desired one is applied
 * again with `reapply` (which still reads the desired state itself; without it, the drift is only logged).
 */
export function startNetservicesLoop(
  api: AgentApi, logger: Logger, opts: { seconds: number; birdSocket: string; reapply?: (serverId: number) => Promise<unknown> },
): () => void {
  const warn = (what: string) => (err: unknown) => {
    logger.warn({ err: (err as Error).message }, what);
    return [];
  };
  const round = async () => {
    const targets = await api.netservicesTargets();
    if (!targets.wireguard.length && !targets.bgp.length) return;
    const [wireguard, bgp] = await Promise.all([
      readWireguard(targets.wireguard).catch(warn('wireguard stats collection failed')),
      readBgp(targets.bgp, opts.birdSocket).catch(warn('bgp status collection failed')),
    ]);
    const { wireguard_drift: drift } = await api.netservicesReport({ wireguard, bgp });
    for (const serverId of drift) {
      if (!opts.reapply) logger.warn({ serverId }, 'the WireGuard peers differ from the desired ones; re-applying needs this agent\'s database access');
      else await opts.reapply(serverId).catch(warn(`re-applying WireGuard server ${serverId} failed`));
    }
  };
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    round().catch(warn('reporting network services failed')).finally(() => { busy = false; });
  }, opts.seconds * 1000);
  return () => clearInterval(timer);
}
