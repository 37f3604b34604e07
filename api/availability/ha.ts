import { conflict, notFound, problemError } from '../../shared/platform/errors';
import { hostRegistryProblem } from '../../db/queries/compute/rules';
import { liveHostRow, missingHosts, type HostRow } from '../../db/queries/compute/hosts';
import { findVisibleInstance, findVisibleInstanceNamed, setInstancePinned, type InstanceView } from '../../db/queries/compute/instances';
import { ADMIN_VIEWER } from '../../db/queries/platform/scope';
import { found } from '../../db/queries/platform/found';
import type { AppDeps } from '../platform/deps';
import type { Caller } from '../platform/caller';
import { audit } from '../platform/audit';
import type { OperationService } from '../platform/operations/service';
import { computeBounds } from '../compute/bounds';
import { hostResource } from '../compute/hosts';
import type { EngineReads } from '../compute/engine-reads';
import type { InstanceStats } from '../../shared/compute/contracts';
import { disasterRecoveryWorkflow, hostFailoverWorkflow, loadBalanceWorkflow, replaceContainerWorkflow } from '../../workflows/availability/ha';

/** Moving instances between hosts: failover, load balancing, replacement, disaster recovery; each an operation. */
export class HaService {
  constructor(private readonly deps: AppDeps, private readonly operations: OperationService, private readonly engineReads: EngineReads) {}

  private get knex() { return this.deps.knex; }

  private bounds() {
    return { ...computeBounds(this.deps.config), movesAtOnce: this.deps.config.availability.movesAtOnce };
  }

  hostRow(id: number): Promise<HostRow> {
    return found(liveHostRow(this.knex, id), 'host', id);
  }

  /** Any live instance (these are admin actions) by id, or (seed 000) by its container name: uuid or display name. */
  instanceRow(ref: number | string): Promise<InstanceView> {
    const read = typeof ref === 'number' ? findVisibleInstance(this.knex, ADMIN_VIEWER, ref) : findVisibleInstanceNamed(this.knex, ADMIN_VIEWER, ref);
    return found(read, 'container', ref);
  }

  private async checkHosts(ids: number[] | undefined, field: string) {
    if (!ids?.length) return;
    const missing = await missingHosts(this.knex, ids);
    if (missing.length) throw notFound('host', `${missing.join(',')} (${field})`);
  }

  async failover(caller: Caller, hostId: number, targetHostIds?: number[]) {
    const host = await this.hostRow(hostId);
    await this.checkHosts(targetHostIds, 'target_host_ids');
    return this.operations.start(caller, { failover: hostId, targetHostIds }, () => ({
      type: 'host.failover', resource: hostResource(host), host: host.name, workflow: hostFailoverWorkflow,
      input: { hostId, targetHostIds: targetHostIds ?? null, ...this.bounds() }, summary: `Failover of host ${host.name}: fence it, recreate its instances on healthy hosts`,
    }));
  }

  async loadBalance(caller: Caller, b: { spread?: number; max_moves?: number; host_ids?: number[] }) {
    const spread = b.spread ?? this.deps.config.availability.balanceSpread;
    const maxMoves = b.max_moves ?? 50;
    await this.checkHosts(b.host_ids, 'host_ids');
    return this.operations.start(caller, { load_balance: { spread, maxMoves, hostIds: b.host_ids } }, () => ({
      type: 'cluster.load_balance', resource: { type: 'cluster', id: 'load-balance', name: 'load balance', url: '/api/v1/availability/health' },
      workflow: loadBalanceWorkflow, input: { spread, maxMoves, hostIds: b.host_ids ?? null, ...this.bounds() }, summary: `Load balance: instance counts within ${spread}, at most ${maxMoves} moves`,
    }));
  }

  async replace(caller: Caller, inst: InstanceView, b: { image?: string; command?: string[] }) {
    if (inst.engine_type !== 'docker') throw conflict(`Instance ${inst.uuid} is not a container (host engine ${inst.engine_type})`, { field: 'container_id' });
    const registry = await hostRegistryProblem(this.deps.knex, inst.host_id, b.image, this.deps.config.tenancy);
    if (registry) throw problemError(registry);
    return this.operations.start(caller, { replace: inst.id, ...b }, () => ({
      type: 'instance.replace', resource: { type: 'instance', id: inst.id, name: inst.name, url: `/api/v1/instances/${inst.id}` }, host: inst.host_name,
      workflow: replaceContainerWorkflow, input: { instanceId: inst.id, image: b.image ?? null, command: b.command ?? null, ...computeBounds(this.deps.config) },
      summary: `Replace container ${inst.uuid}${b.image ? ` with ${b.image}` : ''}`,
    }));
  }

  async disasterRecovery(caller: Caller, hostIds?: number[]) {
    await this.checkHosts(hostIds, 'host_ids');
    return this.operations.start(caller, { disaster_recovery: hostIds ?? 'all' }, () => ({
      type: 'cluster.disaster_recovery', resource: { type: 'cluster', id: 'disaster-recovery', name: 'disaster recovery', url: '/api/v1/availability/health' },
      workflow: disasterRecoveryWorkflow, input: { hostIds: hostIds ?? null, ...this.bounds() }, summary: 'Disaster recovery: every recorded instance brought back on the usable hosts',
    }));
  }

  async setPinned(caller: Caller, inst: InstanceView, pinned: boolean) {
    await setInstancePinned(this.knex, inst.id, pinned);
    await audit(this.knex, caller, { module: 'availability', action: pinned ? 'instance_pin' : 'instance_unpin', message: `Instance ${inst.uuid} ${pinned ? 'pinned' : 'unpinned'}`, resourceType: 'instance', resourceId: inst.id });
    return { instance_id: inst.id, uuid: inst.uuid, pinned };
  }

  /** Bytes in and out of a container since it started, from one bounded stats read of its engine. */
  async traffic(inst: InstanceView) {
    if (!inst.engine_ref) throw conflict(`Instance ${inst.uuid} has no engine instance yet`);
    const stats = await this.engineReads.read(inst.host_id, 'stats', inst.engine_ref) as InstanceStats;
    return { container_id: inst.id, container_name: inst.uuid, host: inst.host_name, traffic: { in: stats.net_rx_bytes ?? 0, out: stats.net_tx_bytes ?? 0 }, at: new Date().toISOString() };
  }
}
