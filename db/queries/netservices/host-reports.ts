import type { Knex } from 'knex';
import type { WgPeer } from '../../../shared/netservices/wireguard';
import { sessionProtocol } from '../../../shared/netservices/bird';

/** The peers a WireGuard server's interface should have: enabled, unexpired clients, each with its addresses. */
export async function desiredPeers(knex: Knex, serverId: number): Promise<WgPeer[]> {
  const rows: Array<{ public_key: string; ipv4_address: string | null; ipv6_address: string | null }> = await knex('wg_clients')
    .where({ server_id: serverId, enabled: true }).where((q) => q.whereNull('expires_at').orWhere('expires_at', '>', knex.fn.now()))
    .orderBy('id').select('public_key', 'ipv4_address', 'ipv6_address');
  return rows.map((c) => ({
    publicKey: c.public_key,
    allowedIps: [c.ipv4_address, c.ipv6_address].filter((a): a is string => Boolean(a)).map((a) => (a.includes('/') ? a : `${a}/${a.includes(':') ? 128 : 32}`)),
  }));
}

/** What a host's agent reads for the platform: its running WireGuard servers' interfaces, its BGP sessions' protocols. */
export async function netservicesTargets(knex: Knex, hostId: number) {
  const servers: Array<{ id: number; interface: string }> = await knex('wg_servers').where({ host_id: hostId, desired_state: 'running' }).orderBy('id').select('id', 'interface');
  const sessions: Array<{ id: number }> = await knex('bgp_sessions').where({ host_id: hostId }).orderBy('id').select('id');
  return {
    wireguard: servers.map((s) => ({ server_id: s.id, interface: s.interface })),
    bgp: sessions.map((s) => ({ session_id: s.id, protocol: sessionProtocol(s.id) })),
  };
}

export interface WgServerReport {
  server_id: number;
  peers: Array<{ public_key: string; latest_handshake: string | null; transfer_rx: number; transfer_tx: number; endpoint: string | null }>;
}
export interface BgpSessionReport {
  session_id: number; status: string; info: string | null; last_error: string | null; state_since: string | null;
  routes_received: number | null; routes_advertised: number | null;
}

/** The servers and sessions among `report`'s that are not on host `hostId` (another host's, or none at all). */
export async function foreignNetservices(knex: Knex, hostId: number, serverIds: number[], sessionIds: number[]) {
  const own = async (table: string, ids: number[]) => new Set((await knex(table).whereIn('id', ids).where({ host_id: hostId }).select('id')).map((r: { id: number }) => r.id));
  const [servers, sessions] = await Promise.all([own('wg_servers', serverIds), own('bgp_sessions', sessionIds)]);
  return { servers: serverIds.filter((id) => !servers.has(id)), sessions: sessionIds.filter((id) => !sessions.has(id)) };
}

/**
 * A host's WireGuard and BIRD figures into PostgreSQL (servers and sessions checked to be the host's first): latest
 * handshake and bytes per client, each session's state, routes and last error. Answers the servers whose peer set on
 * the host differs from the desired one (an expired client, an apply cut short): the agent applies those again.
 */
export async function recordNetservicesReport(knex: Knex, wireguard: WgServerReport[], bgp: BgpSessionReport[]): Promise<number[]> {
  const at = new Date();
  const drift: number[] = [];
  for (const s of wireguard) {
    for (const p of s.peers) {
      await knex('wg_clients').where({ server_id: s.server_id, public_key: p.public_key }).update({
        last_handshake: p.latest_handshake, bytes_received: p.transfer_rx, bytes_sent: p.transfer_tx, endpoint: p.endpoint, stats_at: at,
      });
    }
    await knex('wg_servers').where({ id: s.server_id }).update({ stats_at: at });
    const want = (await desiredPeers(knex, s.server_id)).map((p) => p.publicKey).sort().join();
    if (s.peers.map((p) => p.public_key).sort().join() !== want) drift.push(s.server_id);
  }
  for (const s of bgp) {
    await knex('bgp_sessions').where({ id: s.session_id }).update({
      status: s.status, info: s.info, last_error: s.last_error, state_since: s.state_since, routes_received: s.routes_received, routes_advertised: s.routes_advertised, last_update: at,
    });
  }
  return drift;
}
