import type { AppDeps } from '../platform/deps';
import { iso } from '../platform/http/schemas';
import type { HostRow } from '../../db/queries/compute/hosts';
import { hostRowCounts } from '../../db/queries/networking/network-rows';
import { recentNetworkApplies } from '../../db/queries/networking/network-applies';

/** What a host's agent applied lately and what drift it corrected (admins). */
export class HostNetworkService {
  constructor(private readonly deps: AppDeps) {}

  async view(host: Pick<HostRow, 'id' | 'name'>, limit = 20) {
    const applies = await recentNetworkApplies(this.deps.knex, host.id, limit);
    return {
      host: host.name,
      counts: await hostRowCounts(this.deps.knex, host.id),
      /** From the latest apply or check: other tables whose forward hook drops by default. */
      warnings: applies[0]?.warnings ?? [],
      applies: applies.map((a) => ({ at: iso(a.at), reason: a.reason, corrected: a.corrected, drift: a.drift ?? null, warnings: a.warnings ?? [], counts: a.counts, duration_ms: a.duration_ms })),
    };
  }
}
