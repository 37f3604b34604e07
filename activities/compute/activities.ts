import type { Knex } from 'knex';
import {
  agentServes, choosePlacement, ENGINES, intToIpv4, ipv4ToInt, maskOf, poolRange, type EngineType, type InstanceState, type IpPool, type Nic, type PlacementStrategy } from '../../shared/compute/catalogue';
import { randomToken, seal } from '../../shared/platform/crypto';
import type { ActivityDeps } from '../platform/deps';
import { fail, heartbeating } from '../platform/failure';
import { faultPoint } from '../platform/fault-injection';
import type { EngineActivities } from './engine-calls';
import type { InstanceCreateSteps } from './create-steps';
import { instanceRequestProblem, quotaFor, usageOf } from '../../db/queries/compute/rules';
import { reportedAddresses } from '../../shared/compute/addresses';
import { instanceWithHost, type InstanceRow } from '../../db/queries/compute/instances';
import { liveHostRow, type HostRow as StoreHostRow } from '../../db/queries/compute/hosts';
import type { Problem } from '../../shared/platform/errors';
import type { EngineInstance, HostRoute, InstanceRequest, InstanceSnapshot, InstanceSpec } from '../../shared/compute/contracts';

const failWith = (p: Problem) => fail(p.message, p.code, { ...(p.field ? { field: p.field } : {}), ...(p.details ?? {}) });

function specOf(row: InstanceRow): InstanceSpec {
  return {
    uuid: row.uuid, name: row.name, image: row.image, osName: row.os_name, command: row.command ?? null,
    cpu: row.cpu, ramMb: row.ram_mb, diskGb: row.disk_gb, nics: row.nics ?? [], ports: row.ports ?? [], owner: row.owner_id ?? null, sshKeys: row.ssh_keys ?? [],
    ...(row.files?.length ? { files: row.files as unknown as InstanceSpec['files'] } : {}),
  };
}

export function createComputeActivities({ knex, config }: ActivityDeps) {
  const hostRow = async (hostId: number): Promise<StoreHostRow> => {
    const host = await liveHostRow(knex, hostId);
    if (!host) throw fail(`host ${hostId} not found`, 'RESOURCE_NOT_FOUND', { resource: 'host', id: String(hostId) });
    return host;
  };

  /** Checks the owner may still get another instance of this size (and the host another instance), under locks. */
  async function checkCapacity(trx: Knex.Transaction, ownerId: number | null, hostId: number, add: { cpu: number; ram_mb: number; disk_gb: number; instances: number }, exceptInstanceId?: number) {
    if (ownerId !== null) {
      await trx.raw('SELECT pg_advisory_xact_lock(7301, ?)', [ownerId]);
      const owner = await trx('users').where({ id: ownerId }).whereNull('deleted_at').first('role', 'is_active');
      if (!owner || !owner.is_active) throw fail(`owner ${ownerId} is not an active user`, 'VALIDATION_ERROR', { field: 'owner_id' });
      if (owner.role !== 'admin') {
        const quota = await quotaFor(trx, ownerId, config.compute.defaultQuota);
        const used = await usageOf(trx, ownerId, exceptInstanceId);
        const over = (['cpu', 'ram_mb', 'disk_gb', 'instances'] as const).filter((k) => used[k] + add[k] > quota[k]);
        if (over.length) {
          throw fail(`Quota exceeded (${over.join(', ')}): in use ${over.map((k) => `${k}=${used[k]}`).join(', ')}, requested +${over.map((k) => `${k}=${add[k]}`).join(', ')}, quota ${over.map((k) => `${k}=${quota[k]}`).join(', ')}`,
            'CONFLICT', { reason: 'quota_exceeded', exceeded: over, quota, used, requested: add });
        }
      }
    }
    if (add.instances > 0) {
      await trx.raw('SELECT pg_advisory_xact_lock(7302, ?)', [hostId]);
      const host = await trx('hosts').where({ id: hostId }).first('name', 'instance_limit', 'enabled');
      if (!host?.enabled) throw fail(`host ${host?.name ?? hostId} is disabled`, 'CONFLICT');
      if (host.instance_limit > 0) {
        const [{ count }] = await trx('instances').whereNull('deleted_at').where({ host_id: hostId }).count<{ count: number }[]>('* as count');
        if (Number(count) + 1 > host.instance_limit) throw fail(`host ${host.name} has reached its instance limit (${host.instance_limit})`, 'CONFLICT', { reason: 'host_full' });
      }
    }
  }

  return {
    /** Where the engine calls for a host run: the main worker, or the host's agent (and whether it is heartbeating). */
    async computeHostRoute({ hostId }: { hostId: number }): Promise<HostRoute> {
      const host = await hostRow(hostId);
      const lastSeen = host.agent_last_seen ? new Date(host.agent_last_seen) : null;
      return {
        id: host.id, name: host.name, engineType: host.engine_type, useAgent: Boolean(host.use_agent),
        agentOnline: agentServes(host, config.compute.agentOfflineSeconds, config.compute.agentIdentity.minVersion),
        agentLastSeen: lastSeen?.toISOString() ?? null,
      };
    },

    /** `operationId`: a row this operation reserved already (a re-run of the step after a lost result) is no conflict. */
    async validateInstanceCreate({ request, operationId }: { request: InstanceRequest; operationId?: string }): Promise<{ ok: true }> {
      const problem = await instanceRequestProblem(knex, request, operationId, config.tenancy);
      if (problem) throw failWith(problem);
      return { ok: true };
    },

    /**
     * Chooses a host by the cluster's load-balancer strategy among enabled hosts with room (and a live agent where one is
     * used) that the health check has not found unhealthy; `excludeHostIds`: hosts an instance is being moved away from.
     */
    async placeInstance({ engineType, excludeHostIds = [] }: { engineType: EngineType | null; needsImage?: boolean; excludeHostIds?: number[] }): Promise<{ hostId: number; hostName: string; strategy: PlacementStrategy }> {
      const setting = await knex('cluster_settings').where({ key: 'load_balancer' }).first();
      const lb = (setting?.value ?? {}) as { strategy?: PlacementStrategy; node_weights?: Record<string, number> };
      const strategy = lb.strategy ?? 'round_robin';
      const enabledEngines = Object.values(ENGINES).filter((e) => e.enabled).map((e) => e.type);
      const q = knex('hosts as h').where('h.enabled', true).whereNull('h.deleted_at').whereNot('h.health', 'unhealthy').whereNotIn('h.id', excludeHostIds)
        .whereIn('h.engine_type', engineType ? [engineType] : enabledEngines)
        .select('h.id', 'h.name', 'h.engine_type', 'h.instance_limit', 'h.weight', 'h.use_agent', 'h.agent_last_seen', 'h.agent_version',
          knex.raw('(SELECT COUNT(*)::int FROM instances i WHERE i.host_id = h.id AND i.deleted_at IS NULL) AS count'))
        .orderBy('h.id');
      const candidates = (await q).filter((h) => (h.instance_limit === 0 || h.count < h.instance_limit)
        && (!h.use_agent || agentServes(h, config.compute.agentOfflineSeconds, config.compute.agentIdentity.minVersion)));
      if (!candidates.length) throw fail(`No enabled, healthy host${engineType ? ` of engine ${engineType}` : ''} has room for another instance`, 'SERVICE_UNAVAILABLE', { reason: 'no_capacity' });
      const chosen = await knex.transaction(async (trx) => {
        await trx.raw('SELECT pg_advisory_xact_lock(7303, 0)');
        const cursorRow = await trx('cluster_settings').where({ key: 'round_robin_cursor' }).first();
        const last = Number((cursorRow?.value as { host_id?: number } | undefined)?.host_id ?? 0);
        const next = choosePlacement(strategy, candidates, { lastHostId: last, weights: lb.node_weights ?? {} });
        if (strategy === 'round_robin') {
          await trx('cluster_settings').insert({ key: 'round_robin_cursor', value: JSON.stringify({ host_id: next.id }) })
            .onConflict('key').merge({ value: JSON.stringify({ host_id: next.id }), updated_at: trx.fn.now() });
        }
        return next;
      });
      return { hostId: chosen.id, hostName: chosen.name, strategy };
    },

    /** Quota and host capacity are reserved by inserting the instance row (state creating) under locks. Repeatable per operation. */
    async reserveInstance({ operationId, hostId, request, agentToken }: { operationId: string; hostId: number; request: InstanceRequest; agentToken?: string }): Promise<InstanceSnapshot> {
      return knex.transaction(async (trx) => {
        let row = await trx('instances').where({ create_operation_id: operationId }).first();
        if (!row) {
          // Another attempt of this same step (a local activity re-run beside a slow first one) may have made the row
          // meanwhile; if it commits while this one waits in the capacity check, the insert's unique index refuses this
          // attempt and the retry finds the row.
          const taken = await trx('instances').whereNull('deleted_at').where({ uuid: request.uuid }).first('create_operation_id');
          if (taken && taken.create_operation_id !== operationId) throw fail(`An instance with uuid ${request.uuid} already exists`, 'CONFLICT', { field: 'uuid' });
          if (taken) row = await trx('instances').where({ create_operation_id: operationId }).first();
          else await checkCapacity(trx, request.ownerId, hostId, { cpu: request.cpu, ram_mb: request.ramMb, disk_gb: request.diskGb, instances: 1 });
          if (!taken) [row] = await trx('instances').insert({
            uuid: request.uuid, host_id: hostId, name: request.name, os_name: request.osName, image: request.image,
            command: request.command ? JSON.stringify(request.command) : null, cpu: request.cpu, ram_mb: request.ramMb, disk_gb: request.diskGb,
            nics: JSON.stringify(request.nics), ports: JSON.stringify(request.ports ?? []), files: JSON.stringify(request.files ?? []), ssh_keys: JSON.stringify(request.sshKeys ?? []), owner_id: request.ownerId, state: 'creating', origin: 'created', create_operation_id: operationId,
            agent_token_sealed: seal(agentToken ?? randomToken(24), config.masterKey),
            generation: trx('hosts').where({ id: hostId }).select('generation'),
          }).returning('*');
        }
        const host = await trx('hosts').where({ id: hostId }).first('name');
        return { id: row.id, uuid: row.uuid, name: row.name, hostId, hostName: host.name, ref: row.engine_ref, state: row.state, ownerId: row.owner_id, spec: specOf(row) };
      });
    },

    /** Undo of reserveInstance: the instance never came to be, so its row (and with it the quota) goes. */
    async releaseInstance({ operationId }: { operationId: string }): Promise<void> {
      const row = await knex('instances').where({ create_operation_id: operationId }).first('id');
      if (!row) return;
      await knex('ip_allocations').where({ instance_id: row.id }).delete();
      await knex('instances').where({ id: row.id }).delete();
    },

    /** Takes an address from the host's IP pools for each NIC that has none (and reserves given ones that lie in a pool). */
    async reserveInstanceIps({ operationId, instanceId }: { operationId: string; instanceId: number }): Promise<Nic[]> {
      return knex.transaction(async (trx) => {
        const inst = await trx('instances').where({ id: instanceId }).first();
        const host = await trx('hosts').where({ id: inst.host_id }).first('ip_pools', 'name');
        const pools = (host.ip_pools ?? []) as IpPool[];
        const nics: Nic[] = (inst.nics as Nic[]).length ? inst.nics : (pools.length ? [{ name: 'eth0', net_mode: 'nat' }] : []);
        if (!pools.length) return nics;
        await trx.raw('SELECT pg_advisory_xact_lock(7304, ?)', [inst.host_id]);
        const taken = new Set((await trx('ip_allocations').where({ host_id: inst.host_id }).select('address', 'instance_id')).filter((r) => r.instance_id !== instanceId).map((r) => r.address));
        const mine = await trx('ip_allocations').where({ host_id: inst.host_id, instance_id: instanceId }).select('address');
        const mineSet = new Set(mine.map((r) => r.address));
        for (const nic of nics) {
          if (nic.ip4) {
            const n = ipv4ToInt(nic.ip4);
            const pool = pools.find((p) => { const r = poolRange(p); return r && n !== null && n >= r.first && n <= r.last; });
            if (!pool) continue; // outside every pool: recorded as given, not managed here
            if (taken.has(nic.ip4)) throw fail(`IP ${nic.ip4} is already in use on host ${host.name}`, 'CONFLICT', { field: 'nics.ip4' });
            if (!mineSet.has(nic.ip4)) await trx('ip_allocations').insert({ host_id: inst.host_id, address: nic.ip4, instance_id: instanceId, reserved_by: operationId });
            mineSet.add(nic.ip4);
            nic.gateway ??= pool.gateway ?? null; nic.mask ??= maskOf(pool); nic.dns ??= pool.dns ?? [];
            continue;
          }
          let assigned: string | null = null;
          for (const pool of pools) {
            const r = poolRange(pool);
            if (!r) continue;
            for (let a = r.first; a <= r.last && !assigned; a++) {
              const ip = intToIpv4(a);
              if (ip === pool.gateway || taken.has(ip) || mineSet.has(ip)) continue;
              assigned = ip;
              nic.gateway ??= pool.gateway ?? null; nic.mask ??= maskOf(pool); nic.dns ??= pool.dns ?? [];
            }
            if (assigned) break;
          }
          if (!assigned) throw fail(`Host ${host.name} has no free address left in its IP pools`, 'CONFLICT', { reason: 'ip_pool_exhausted' });
          await trx('ip_allocations').insert({ host_id: inst.host_id, address: assigned, instance_id: instanceId, reserved_by: operationId });
          mineSet.add(assigned);
          nic.ip4 = assigned;
        }
        await trx('instances').where({ id: instanceId }).update({ nics: JSON.stringify(nics), updated_at: trx.fn.now() });
        return nics;
      });
    },

    async releaseInstanceIps({ instanceId }: { instanceId: number }): Promise<void> {
      await knex('ip_allocations').where({ instance_id: instanceId }).delete();
    },

    async loadInstance({ instanceId }: { instanceId: number }): Promise<InstanceSnapshot> {
      const row = await instanceWithHost(knex, instanceId);
      if (!row || row.deleted_at) throw fail(`instance ${instanceId} not found`, 'RESOURCE_NOT_FOUND', { resource: 'instance', id: String(instanceId) });
      return { id: row.id, uuid: row.uuid, name: row.name, hostId: row.host_id, hostName: row.host_name, ref: row.engine_ref, state: row.state, ownerId: row.owner_id, spec: specOf(row) };
    },

    /**
     * Sets the state (and what the engine reported) and returns the instance as recorded. `fromHostId`: the host whose
     * engine reported them; when the instance lives on another host now (a failover or a move fenced that one), the
     * report is of a stale copy and nothing is recorded.
     */
    async recordInstance({ instanceId, state, engine, error, fromHostId }: { instanceId: number; state: InstanceState; engine?: EngineInstance | null; error?: { code: string; message: string } | null; fromHostId?: number }) {
      const row = await knex('instances').where({ id: instanceId }).first();
      if (!row) throw fail(`instance ${instanceId} not found`, 'RESOURCE_NOT_FOUND');
      const stale = fromHostId !== undefined && row.host_id !== fromHostId && row.moving_to_host_id !== fromHostId;
      if (!stale) {
        const patch: Record<string, unknown> = { state, updated_at: knex.fn.now() };
        if (engine) {
          patch.engine_ref = engine.ref;
          const nics = ((row.nics ?? []) as Nic[]).map((n) => ({ ...n }));
          if (!nics.length && (engine.ip4 || engine.mac)) nics.push({ name: 'eth0', net_mode: 'engine' });
          if (nics[0]) {
            nics[0].ip4 ??= engine.ip4;
            nics[0].mac ??= engine.mac;
          }
          patch.nics = JSON.stringify(nics);
          // What the engine reports, apart from what was asked: the only addresses networking rules may target.
          patch.engine_addresses = JSON.stringify(reportedAddresses(engine));
        }
        if (error !== undefined) patch.last_error = error ? JSON.stringify(error) : null;
        await knex('instances').where({ id: instanceId }).update(patch);
      }
      const after = (await instanceWithHost(knex, instanceId))!;
      return {
        instance_id: after.id as number, uuid: after.uuid as string, name: after.name as string, host: after.host_name as string, state: after.state as string,
        engine_ref: after.engine_ref as string | null, nics: after.nics as Nic[],
      };
    },

    /** Marks the start of a change (deleting, updating…) and returns the instance as it was, for the undo. */
    async beginInstanceChange({ instanceId, state }: { instanceId: number; state: InstanceState }): Promise<InstanceSnapshot> {
      const row = await instanceWithHost(knex, instanceId);
      if (!row || row.deleted_at) throw fail(`instance ${instanceId} not found`, 'RESOURCE_NOT_FOUND', { resource: 'instance', id: String(instanceId) });
      // A retried activity must report the state from before its own first attempt.
      const before: InstanceState = row.state === state ? ((row.last_error?.previous_state as InstanceState) ?? 'unknown') : row.state;
      await knex('instances').where({ id: instanceId }).update({ state, last_error: JSON.stringify({ previous_state: before }), updated_at: knex.fn.now() });
      return { id: row.id, uuid: row.uuid, name: row.name, hostId: row.host_id, hostName: row.host_name, ref: row.engine_ref, state: before, ownerId: row.owner_id, spec: specOf(row) };
    },

    async finishInstanceDelete({ instanceId }: { instanceId: number }): Promise<{ deleted: true; released_ips: string[] }> {
      return knex.transaction(async (trx) => {
        const ips = await trx('ip_allocations').where({ instance_id: instanceId }).delete().returning('address');
        await trx('instances').where({ id: instanceId }).whereNull('deleted_at').update({ state: 'deleted', deleted_at: trx.fn.now(), updated_at: trx.fn.now() });
        return { deleted: true as const, released_ips: ips.map((r: { address: string }) => r.address) };
      });
    },

    /** Applies new sizes/name/image to the row after a quota check for the growth; returns the previous values for the undo. */
    async applyInstanceUpdate({ instanceId, changes }: { instanceId: number; changes: Partial<Pick<InstanceRequest, 'name' | 'cpu' | 'ramMb' | 'diskGb' | 'image' | 'osName'>> }) {
      return knex.transaction(async (trx) => {
        const row = await trx('instances').where({ id: instanceId }).whereNull('deleted_at').forUpdate().first();
        if (!row) throw fail(`instance ${instanceId} not found`, 'RESOURCE_NOT_FOUND');
        const before = { name: row.name, cpu: row.cpu, ramMb: row.ram_mb, diskGb: row.disk_gb, image: row.image, osName: row.os_name };
        const after = { ...before, ...Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined && v !== null)) };
        await checkCapacity(trx, row.owner_id, row.host_id, { cpu: after.cpu, ram_mb: after.ramMb, disk_gb: after.diskGb, instances: 0 }, instanceId);
        await trx('instances').where({ id: instanceId }).update({ name: after.name, cpu: after.cpu, ram_mb: after.ramMb, disk_gb: after.diskGb, image: after.image, os_name: after.osName, updated_at: trx.fn.now() });
        return { before, after };
      });
    },

    async restoreInstanceFields({ instanceId, fields }: { instanceId: number; fields: { name: string; cpu: number; ramMb: number; diskGb: number; image: string | null; osName: string | null } }) {
      await knex('instances').where({ id: instanceId }).update({ name: fields.name, cpu: fields.cpu, ram_mb: fields.ramMb, disk_gb: fields.diskGb, image: fields.image, os_name: fields.osName, updated_at: knex.fn.now() });
    },

    async storeInstancePassword({ instanceId, passwordSealed }: { instanceId: number; passwordSealed: string }) {
      await knex('instances').where({ id: instanceId }).update({ password_sealed: passwordSealed, updated_at: knex.fn.now() });
    },

    /**
     * Scan: imports instances found on the engine, refreshes known ones, marks recorded ones the engine no longer has as missing.
     * One transaction under a per-host lock: a scan killed half-way leaves nothing, and two scans of a host never import twice.
     */
    async importScan({ hostId, found }: { hostId: number; found: EngineInstance[] }) {
      return heartbeating(() => knex.transaction(async (trx) => {
        await trx.raw('SELECT pg_advisory_xact_lock(7305, ?)', [hostId]);
        const rows = await trx('instances').whereNull('deleted_at').where({ host_id: hostId }).select('id', 'uuid', 'engine_ref', 'state', 'engine_addresses');
        const byRef = new Map(rows.filter((r) => r.engine_ref).map((r) => [r.engine_ref as string, r]));
        const byUuid = new Map(rows.map((r) => [r.uuid as string, r]));
        const seen = new Set<number>();
        const imported: string[] = [], updated: string[] = [], missing: string[] = [];
        for (const f of found) {
          const row = byRef.get(f.ref) ?? byUuid.get(f.uuid);
          if (row) {
            seen.add(row.id);
            const addresses = reportedAddresses(f);
            if (row.state !== f.state || row.engine_ref !== f.ref || JSON.stringify(row.engine_addresses ?? []) !== JSON.stringify(addresses)) {
              await trx('instances').where({ id: row.id }).update({ state: f.state, engine_ref: f.ref, engine_addresses: JSON.stringify(addresses), updated_at: trx.fn.now() });
              if (row.state !== f.state || row.engine_ref !== f.ref) updated.push(row.uuid);
            }
            continue;
          }
          const clash = await trx('instances').whereNull('deleted_at').where({ uuid: f.uuid }).first('id');
          const uuid = clash ? `${f.uuid}@${hostId}` : f.uuid;
          // An owner the engine recorded (VM metadata) is kept when that user still exists.
          const owner = f.owner ? await trx('users').where({ id: f.owner }).whereNull('deleted_at').first('id') : null;
          await trx('instances').insert({
            uuid, host_id: hostId, name: f.name, image: f.image, os_name: f.image, cpu: f.cpu ?? 1, ram_mb: f.ramMb ?? 0, disk_gb: f.diskGb ?? 0,
            nics: JSON.stringify(f.ip4 || f.mac ? [{ name: 'eth0', ip4: f.ip4, mac: f.mac }] : []), engine_addresses: JSON.stringify(reportedAddresses(f)), owner_id: owner ? owner.id : null, state: f.state, engine_ref: f.ref,
            origin: 'scanned', agent_token_sealed: seal(randomToken(24), config.masterKey),
          });
          imported.push(uuid);
          await faultPoint('importScan.partial');
        }
        for (const r of rows) {
          if (seen.has(r.id) || ['creating', 'deleting', 'missing'].includes(r.state)) continue;
          await trx('instances').where({ id: r.id }).update({ state: 'missing', updated_at: trx.fn.now() });
          missing.push(r.uuid);
        }
        return { found: found.length, imported, updated, missing };
      }));
    },

    async storeHostStatus({ hostId, status }: { hostId: number; status: Record<string, unknown> }) {
      await knex('hosts').where({ id: hostId }).update({ status: JSON.stringify(status), status_at: knex.fn.now() });
    },
  };
}

export type ComputeActivities = ReturnType<typeof createComputeActivities> & EngineActivities & InstanceCreateSteps;
