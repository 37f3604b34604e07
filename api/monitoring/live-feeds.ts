import type { AppDeps } from '../platform/deps';
import type { Principal } from '../platform/auth/principal';
import { isNetworkManager } from '../netservices/access';
import { BgpService } from '../netservices/bgp';
import { OperationService } from '../platform/operations/service';
import { latestSamples, systemStatus } from '../../db/queries/monitoring/samples';
import { freshSeconds } from '../../shared/monitoring/metrics';

interface WgServer { id: number; name: string; interface: string; host: string | null; status: string }
interface WgUsage { server_id: number; user_id: number | null; clients: number; bytes_received: number; bytes_sent: number }

export interface WireguardSnapshot { servers: WgServer[]; usage: WgUsage[] }

/** What the live channels send on connect and on each change, read from PostgreSQL as the REST answers read it. */
export function liveFeeds(deps: AppDeps) {
  const { knex } = deps;
  const bgp = new BgpService(deps, new OperationService(deps));
  return {
    /** The latest fresh sample of every host, as system_status messages. */
    async system() {
      return (await latestSamples(knex, 'host', freshSeconds(deps.config.monitoring.sampleSeconds)))
        .map((r) => ({ data: systemStatus(r.host, r.values), timestamp: new Date(r.at).toISOString() }));
    },

    async bgp() {
      const rows = await knex('bgp_sessions').orderBy('id');
      return {
        sessions: rows.map((r) => {
          const s = bgp.presentSession(r);
          return { id: s.id, name: s.name, neighbor: s.neighbor, remote_as: s.remote_as, status: s.status, uptime: s.uptime, routes_received: s.routes_received, routes_advertised: s.routes_advertised };
        }),
      };
    },

    async wireguard(): Promise<WireguardSnapshot> {
      const servers = await knex('wg_servers as s').leftJoin('hosts as h', 'h.id', 's.host_id').orderBy('s.id')
        .select('s.id', 's.name', 's.interface', 'h.name as host', 's.status') as WgServer[];
      const usage = (await knex('wg_clients').groupBy('server_id', 'user_id')
        .select('server_id', 'user_id', knex.raw('count(*)::int as clients'), knex.raw('sum(bytes_received)::float8 as bytes_received'), knex.raw('sum(bytes_sent)::float8 as bytes_sent'))) as WgUsage[];
      return { servers, usage };
    },
  };
}

/** Seed 003's wireguard_status for one principal: managers see every server; a user sees the servers of their own clients, counted over those clients only. */
export function wireguardView(snapshot: WireguardSnapshot, p: Principal) {
  const all = isNetworkManager(p);
  const servers = snapshot.servers.flatMap((s) => {
    const rows = snapshot.usage.filter((u) => u.server_id === s.id && (all || u.user_id === p.userId));
    if (!all && rows.length === 0) return [];
    const sum = (k: 'clients' | 'bytes_received' | 'bytes_sent') => rows.reduce((n, u) => n + Number(u[k]), 0);
    return [{ ...s, clients_count: sum('clients'), bytes_received: sum('bytes_received'), bytes_sent: sum('bytes_sent') }];
  });
  return { servers };
}
