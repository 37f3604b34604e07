import type { ActivityDeps } from '../platform/deps';
import { fail } from '../platform/failure';
import { agentOnline, type Nic } from '../../shared/compute/catalogue';
import { revokeAgentCerts } from '../../db/queries/compute/agent-identity';
import { reportedAddresses } from '../../shared/compute/addresses';
import type { EngineInstance } from '../../shared/compute/contracts';

export interface HealthThresholds { unhealthyAfter: number; healthyAfter: number }
export interface HealthVerdict { hostId: number; name: string; health: string; changed: boolean; autoFailover: boolean; generation: number }
/** toHostId null: placement chooses (among `candidates` when given, else by the cluster's strategy). */
export interface PlannedMove { instanceId: number; uuid: string; fromHostId: number; toHostId: number | null; candidates?: number[] | null }

/** States of an instance that a move or failover leaves alone: another operation owns it. */
const BUSY = ['creating', 'deleting', 'deleted'];

/** High availability's database side: health counts, fencing, moves, load-balance and recovery plans. */
export function createHaActivities({ knex, config }: ActivityDeps) {
  const hostsUsable = () => knex('hosts as h').where('h.enabled', true).whereNull('h.deleted_at').whereNot('h.health', 'unhealthy');

  return {
    /** The hosts a health round checks: every enabled one. */
    async availabilityHealthTargets(): Promise<Array<{ id: number; name: string; useAgent: boolean; agentOnline: boolean; lastSeen: string | null }>> {
      const rows = await knex('hosts').where({ enabled: true }).whereNull('deleted_at').orderBy('id').select('id', 'name', 'use_agent', 'agent_last_seen');
      return rows.map((h) => ({
        id: h.id, name: h.name, useAgent: h.use_agent, agentOnline: agentOnline(h.agent_last_seen, config.compute.agentOfflineSeconds),
        lastSeen: h.agent_last_seen ? new Date(h.agent_last_seen).toISOString() : null,
      }));
    },

    /**
     * Counts one check: a host turns unhealthy after `unhealthyAfter` failed checks in a row and healthy again after
     * `healthyAfter` good ones (a new host is healthy at its first good check). The reasons of the last failure stay.
     */
    async availabilityRecordHealth({ hostId, reasons, thresholds }: { hostId: number; reasons: string[]; thresholds: HealthThresholds }): Promise<HealthVerdict> {
      return knex.transaction(async (trx) => {
        const h = await trx('hosts').where({ id: hostId }).forUpdate().first();
        if (!h) throw fail(`host ${hostId} not found`, 'RESOURCE_NOT_FOUND');
        const ok = reasons.length === 0;
        const failures = ok ? 0 : h.health_failures + 1;
        const successes = ok ? h.health_successes + 1 : 0;
        let health: string = h.health;
        if (ok && health !== 'healthy' && (health === 'unknown' || successes >= thresholds.healthyAfter)) health = 'healthy';
        if (!ok && health !== 'unhealthy' && failures >= thresholds.unhealthyAfter) health = 'unhealthy';
        const changed = health !== h.health;
        await trx('hosts').where({ id: hostId }).update({
          health, health_failures: failures, health_successes: successes, health_checked_at: trx.fn.now(),
          ...(ok && health === 'healthy' ? { health_reasons: '[]' } : {}),
          ...(!ok ? { health_reasons: JSON.stringify(reasons) } : {}),
          ...(changed ? { health_changed_at: trx.fn.now() } : {}),
        });
        return { hostId, name: h.name, health, changed, autoFailover: changed && health === 'unhealthy' && h.auto_failover, generation: h.generation };
      });
    },

    /** Fences a host once per operation: its generation goes up, so its old copies of moved instances are stale, and its agent's certificates are revoked. */
    async availabilityFenceHost({ hostId, operationId }: { hostId: number; operationId: string }): Promise<{ name: string; generation: number }> {
      return knex.transaction(async (trx) => {
        const h = await trx('hosts').where({ id: hostId }).forUpdate().first('name', 'generation', 'fenced_by');
        if (!h) throw fail(`host ${hostId} not found`, 'RESOURCE_NOT_FOUND', { resource: 'host', id: String(hostId) });
        if (h.fenced_by === operationId) return { name: h.name, generation: h.generation };
        const [row] = await trx('hosts').where({ id: hostId }).update({ generation: h.generation + 1, fenced_by: operationId, fenced_at: trx.fn.now(), updated_at: trx.fn.now() }).returning(['name', 'generation']);
        // A fenced host is not trusted back by itself: its agent's identity is revoked, and an admin joins it again.
        await revokeAgentCerts(trx, hostId, 'fenced');
        return row;
      });
    },

    /** The live instances recorded on a host (those another operation is creating or deleting are left to it). */
    async availabilityInstancesOn({ hostId }: { hostId: number }): Promise<Array<{ id: number; uuid: string }>> {
      return knex('instances').where({ host_id: hostId }).whereNull('deleted_at').whereNotIn('state', BUSY).orderBy('id').select('id', 'uuid');
    },

    /** The least loaded usable host among `hostIds` (healthy or unknown, enabled, agent online), other than the excluded. */
    async availabilityPickTarget({ hostIds, excludeHostIds }: { hostIds: number[]; excludeHostIds: number[] }): Promise<{ hostId: number }> {
      const rows = (await hostsUsable().whereIn('h.id', hostIds).whereNotIn('h.id', excludeHostIds).orderBy('h.id')
        .select('h.id', 'h.use_agent', 'h.agent_last_seen', 'h.instance_limit', knex.raw('(SELECT COUNT(*)::int FROM instances i WHERE i.host_id = h.id AND i.deleted_at IS NULL) AS count')))
        .filter((h) => (!h.use_agent || agentOnline(h.agent_last_seen, config.compute.agentOfflineSeconds)) && (h.instance_limit === 0 || h.count < h.instance_limit));
      if (!rows.length) throw fail('None of the target hosts is usable (enabled, healthy, agent online, with room)', 'SERVICE_UNAVAILABLE', { reason: 'no_capacity', host_ids: hostIds });
      return { hostId: rows.reduce((a, b) => (b.count < a.count ? b : a)).id };
    },

    /** Marks a move under way (the target's agent will not take the new copy for a stale one); answers whether it is already done. */
    async availabilityBeginMove({ instanceId, fromHostId, toHostId }: { instanceId: number; fromHostId: number; toHostId: number }): Promise<{ state: 'move' | 'done' | 'gone' }> {
      return knex.transaction(async (trx) => {
        const row = await trx('instances').where({ id: instanceId }).forUpdate().first('host_id', 'moving_to_host_id', 'deleted_at');
        if (!row || row.deleted_at) return { state: 'gone' as const };
        if (row.host_id === toHostId && row.moving_to_host_id === null && fromHostId !== toHostId) return { state: 'done' as const };
        if (row.host_id !== fromHostId && row.host_id !== toHostId) return { state: 'gone' as const };
        await trx('instances').where({ id: instanceId }).update({ moving_to_host_id: toHostId, updated_at: trx.fn.now() });
        return { state: 'move' as const };
      });
    },

    async availabilityEndMove({ instanceId }: { instanceId: number }): Promise<void> {
      await knex('instances').where({ id: instanceId }).update({ moving_to_host_id: null });
    },

    /** Switches the record to the new copy: its host, that host's generation, the engine's name and address for it. */
    async availabilitySwitchInstance({ instanceId, toHostId, engine }: { instanceId: number; toHostId: number; engine: EngineInstance }) {
      return knex.transaction(async (trx) => {
        const row = await trx('instances').where({ id: instanceId }).forUpdate().first();
        const host = await trx('hosts').where({ id: toHostId }).first('name', 'generation');
        const nics = ((row.nics ?? []) as Nic[]).map((n, i) => (i === 0 ? { ...n, ip4: engine.ip4 ?? null, mac: engine.mac ?? null } : n));
        if (row.host_id !== toHostId) await trx('ip_allocations').where({ instance_id: instanceId }).delete(); // the old host's pool addresses
        await trx('instances').where({ id: instanceId }).update({
          host_id: toHostId, generation: host.generation, engine_ref: engine.ref, state: engine.state, moving_to_host_id: null,
          nics: JSON.stringify(nics.length ? nics : engine.ip4 ? [{ name: 'eth0', net_mode: 'engine', ip4: engine.ip4, mac: engine.mac }] : []),
          engine_addresses: JSON.stringify(reportedAddresses(engine)), updated_at: trx.fn.now(),
        });
        return { instance_id: instanceId, uuid: row.uuid as string, host: host.name as string, host_id: toHostId, generation: host.generation as number, engine_ref: engine.ref, ip4: engine.ip4 };
      });
    },

    /**
     * One round of load balancing: among usable docker hosts, the most and least loaded; when their instance counts
     * differ by more than `spread`, up to `limit` unpinned instances of the most loaded go to the least loaded.
     */
    async availabilityBalancePlan({ spread, limit, hostIds }: { spread: number; limit: number; hostIds: number[] | null }): Promise<{ counts: Record<string, number>; moves: PlannedMove[] }> {
      const q = hostsUsable().where('h.engine_type', 'docker');
      if (hostIds) q.whereIn('h.id', hostIds);
      const hosts = (await q.orderBy('h.id')
        .select('h.id', 'h.name', 'h.use_agent', 'h.agent_last_seen', knex.raw('(SELECT COUNT(*)::int FROM instances i WHERE i.host_id = h.id AND i.deleted_at IS NULL) AS count')))
        .filter((h) => !h.use_agent || agentOnline(h.agent_last_seen, config.compute.agentOfflineSeconds));
      const counts = Object.fromEntries(hosts.map((h) => [h.name, h.count]));
      if (hosts.length < 2) return { counts, moves: [] };
      const most = hosts.reduce((a, b) => (b.count > a.count ? b : a));
      const least = hosts.reduce((a, b) => (b.count < a.count ? b : a));
      const gap = most.count - least.count;
      if (gap <= spread) return { counts, moves: [] };
      const n = Math.min(limit, Math.max(1, Math.floor(gap / 2)));
      const picked = await knex('instances').where({ host_id: most.id, pinned: false }).whereNull('deleted_at').whereNull('moving_to_host_id')
        .whereIn('state', ['running', 'stopped']).orderBy('id', 'desc').limit(n).select('id', 'uuid');
      return { counts, moves: picked.map((i) => ({ instanceId: i.id, uuid: i.uuid, fromHostId: most.id, toHostId: least.id })) };
    },

    /** Disaster recovery's view: usable hosts (checked against their engines next) and the instances recorded on unusable ones. */
    async availabilityRecoveryPlan({ hostIds }: { hostIds: number[] | null }): Promise<{ usable: number[]; stranded: Array<{ hostId: number; instances: Array<{ id: number; uuid: string }> }> }> {
      const hosts = hostsUsable();
      if (hostIds) hosts.whereIn('h.id', hostIds);
      const usable = (await hosts.select('h.id', 'h.use_agent', 'h.agent_last_seen'))
        .filter((h) => !h.use_agent || agentOnline(h.agent_last_seen, config.compute.agentOfflineSeconds)).map((h) => h.id as number);
      const q = knex('instances').whereNull('deleted_at').whereNotIn('state', BUSY).whereNotIn('host_id', usable.length ? usable : [0]);
      if (hostIds) q.whereIn('host_id', hostIds);
      const rows = await q.orderBy('id').select('id', 'uuid', 'host_id');
      const byHost = new Map<number, Array<{ id: number; uuid: string }>>();
      for (const r of rows) byHost.set(r.host_id, [...(byHost.get(r.host_id) ?? []), { id: r.id, uuid: r.uuid }]);
      return { usable, stranded: [...byHost].map(([hostId, instances]) => ({ hostId, instances })) };
    },

    /** The instances recorded on a usable host, with the state the record wants, for comparing with its engine. */
    async availabilityRecordedOn({ hostId }: { hostId: number }): Promise<Array<{ id: number; uuid: string; ref: string | null; state: string }>> {
      return knex('instances').where({ host_id: hostId }).whereNull('deleted_at').whereNotIn('state', BUSY).orderBy('id').select('id', 'uuid', 'engine_ref as ref', 'state');
    },

    /** Records a replacement: the new image/command, the new container's state and address. */
    async availabilityRecordReplacement({ instanceId, image, command, engine }: { instanceId: number; image: string | null; command: string[] | null; engine: EngineInstance }) {
      const row = await knex('instances').where({ id: instanceId }).first('nics');
      const nics = ((row.nics ?? []) as Nic[]).map((n, i) => (i === 0 ? { ...n, ip4: engine.ip4 ?? n.ip4 ?? null, mac: engine.mac ?? null } : n));
      await knex('instances').where({ id: instanceId }).update({
        image, command: command ? JSON.stringify(command) : null, state: engine.state, nics: JSON.stringify(nics), engine_addresses: JSON.stringify(reportedAddresses(engine)),
        last_error: null, updated_at: knex.fn.now(),
      });
      return { instance_id: instanceId, image, state: engine.state, ip4: engine.ip4 };
    },
  };
}

export type HaActivities = ReturnType<typeof createHaActivities>;
