import type { AppDeps } from '../platform/deps';
import { iso } from '../platform/http/schemas';
import type { Row } from '../compute/bounds';

/** What a host's agent applied lately and what drift it corrected (admins). */
export class HostNetworkService {
  constructor(private readonly deps: AppDeps) {}

  async view(host: Row, limit = 20) {
    const knex = this.deps.knex;
    const count = async (table: string) => Number((await knex(table).where({ host_id: host.id }).whereNot({ state: 'deleting' }).count('* as c'))[0].c);
    const applies = await knex('network_applies').where({ host_id: host.id }).orderBy('id', 'desc').limit(limit);
    return {
      host: host.name,
      counts: { port_forwards: await count('port_forwards'), addresses: await count('instance_addresses'), proxies: await count('reverse_proxies') },
      /** From the latest apply or check: other tables whose forward hook drops by default. */
      warnings: applies[0]?.warnings ?? [],
      applies: applies.map((a) => ({ at: iso(a.at), reason: a.reason, corrected: a.corrected, drift: a.drift ?? null, warnings: a.warnings ?? [], counts: a.counts, duration_ms: a.duration_ms })),
    };
  }
}
