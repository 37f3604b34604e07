import { AppError, conflict, notFound } from '../../shared/platform/errors';
import { canonicalIpv6 } from '../../shared/networking/addresses';
import { canonicalAddress } from '../../shared/compute/addresses';
import type { InstanceView } from '../../db/queries/compute/instances';
import { liveHostRow, type HostRow } from '../../db/queries/compute/hosts';
import {
  dropPendingRow, dropRowsOfDeletedInstances, insertPendingRow, markRowDeleting, restoreDeletingRow, rowOfInstance, rowsOfInstance, rowsOwnedBy,
  type NetworkRows,
} from '../../db/queries/networking/network-rows';
import { networkQuotaOf, saveNetworkQuota } from '../../db/queries/networking/network-quotas';
import { lockUser, userExists } from '../../db/queries/users/users';
import { found } from '../../db/queries/platform/found';
import type { AppDeps } from '../platform/deps';
import { isAdmin } from '../platform/auth/principal';
import type { Caller } from '../platform/caller';
import type { OperationService, Started } from '../platform/operations/service';
import { applyNetworkChangeWorkflow } from '../../workflows/networking/runbooks';
import type { NetworkResource } from '../../shared/networking/resources';
import type { InstanceService } from '../compute/instances';
import { netservicesQuotaOf, netservicesUsageOf, setNetservicesQuota, type NetservicesQuota } from '../../db/queries/netservices/quotas';

export type QuotaName = 'nat_ports' | 'proxies' | 'addresses';
const QUOTA_TABLE: Record<QuotaName, NetworkResource> = { nat_ports: 'port_forward', proxies: 'proxy', addresses: 'address' };
const NOUN: Record<NetworkResource, string> = { port_forward: 'port forward', address: 'address', proxy: 'proxy' };
const PATH: Record<NetworkResource, string> = { port_forward: 'port-forwards', address: 'addresses', proxy: 'proxies' };

/** What every network resource shares: the instance it belongs to, quotas, and the add/remove operations. */
export class NetworkChanges {
  constructor(readonly deps: AppDeps, private readonly operations: OperationService, readonly instances: InstanceService) {}

  get knex() { return this.deps.knex; }

  /** The caller's instance (another user's is a 404), and its host. */
  async instance(caller: Caller, id: number | string): Promise<InstanceView> {
    const inst = await this.instances.instanceRow(caller.principal, id);
    if (['deleting', 'deleted'].includes(inst.state)) throw conflict(`Instance ${inst.uuid} is being deleted`);
    return inst;
  }

  host(hostId: number): Promise<HostRow> {
    return found(liveHostRow(this.knex, hostId), 'host', hostId);
  }

  /**
   * The instance's own addresses of a family, the only ones its rules may point at: what the engine reports for it
   * (`engine_addresses`: docker's inspect; libvirt and the simulator the pool addresses they were configured with),
   * never what a request put in its NICs. IPv6 in canonical form.
   */
  instanceAddresses(inst: Pick<InstanceView, 'engine_addresses'>, family: 4 | 6 = 4): string[] {
    return (inst.engine_addresses ?? []).map((a) => canonicalAddress(a)).filter((a): a is string => Boolean(a) && a!.includes(':') === (family === 6));
  }

  internalAddress(inst: Pick<InstanceView, 'engine_addresses' | 'uuid'>, asked: string | undefined, field: string, family: 4 | 6 = 4): string {
    const own = this.instanceAddresses(inst, family);
    if (asked) {
      const wanted = family === 6 ? canonicalIpv6(asked) : asked;
      if (!wanted || !own.includes(wanted)) throw new AppError('VALIDATION_ERROR', `${field} must be one of the instance's IPv${family} addresses (${own.join(', ') || 'none'})`, { field, errors: [{ field, message: 'is not an address of this instance' }] });
      return wanted;
    }
    if (!own.length) throw new AppError('VALIDATION_ERROR', `Instance ${inst.uuid} has no IPv${family} address`, { field, errors: [{ field, message: `the instance has no IPv${family} address` }] });
    return own[0];
  }

  async quota(userId: number) {
    const row = await networkQuotaOf(this.knex, userId);
    const quota = row ?? this.deps.config.networking.defaultQuota;
    const used = Object.fromEntries(await Promise.all((Object.keys(QUOTA_TABLE) as QuotaName[]).map(async (q) => [q, await rowsOwnedBy(this.knex, QUOTA_TABLE[q], userId)]))) as Record<QuotaName, number>;
    const [services, servicesUsed] = await Promise.all([netservicesQuotaOf(this.knex, userId, this.deps.config.tenancy.netQuota), netservicesUsageOf(this.knex, userId)]);
    return { user_id: userId, quota: { ...quota, ...services }, used: { ...used, ...servicesUsed }, source: row ? 'user' as const : 'default' as const };
  }

  async setQuota(userId: number, { wireguard_clients, ipv6_allocations, ...q }: { nat_ports: number; proxies: number; addresses: number } & Partial<NetservicesQuota>) {
    if (!(await userExists(this.knex, userId))) throw notFound('user', userId);
    await saveNetworkQuota(this.knex, userId, q);
    await setNetservicesQuota(this.knex, userId, { wireguard_clients, ipv6_allocations });
    return this.quota(userId);
  }

  /**
   * Inserts a desired-state row within the owner's quota (admins are not limited): the owner's user row is locked so two
   * requests cannot both take the last unit. A unique-key clash (port, address, domain) is a 409 naming the field.
   */
  async reserve<K extends NetworkResource>(caller: Caller, inst: InstanceView, q: QuotaName, kind: K, row: Record<string, unknown>, clash: (constraint: string) => AppError | null): Promise<NetworkRows[K]> {
    return this.knex.transaction(async (trx) => {
      await dropRowsOfDeletedInstances(trx, kind);
      if (!isAdmin(caller.principal) && inst.owner_id) {
        await lockUser(trx, inst.owner_id);
        const limit = (await networkQuotaOf(trx, inst.owner_id))?.[q] ?? this.deps.config.networking.defaultQuota[q];
        const used = await rowsOwnedBy(trx, QUOTA_TABLE[q], inst.owner_id);
        if (used >= limit) throw new AppError('CONFLICT', `Quota exceeded: ${q} (${used} of ${limit} used)`, { quota: q, used, limit });
      }
      try {
        return await insertPendingRow(trx, kind, inst, row);
      } catch (err) {
        const e = err as { code?: string; constraint?: string };
        if (e.code === '23505') throw clash(e.constraint ?? '') ?? conflict('Already taken');
        throw err;
      }
    });
  }

  private resource(kind: NetworkResource, inst: InstanceView, row: { id: number }, name: string) {
    return { type: kind, id: row.id, name, url: `/api/v1/instances/${encodeURIComponent(inst.uuid)}/${PATH[kind]}/${row.id}` };
  }

  /** Starts the operation that applies a reserved row on the host; the row goes again if the operation cannot start. */
  async startAdd<K extends NetworkResource>(caller: Caller, request: unknown, kind: K, inst: InstanceView, reserve: () => Promise<{ row: NetworkRows[K]; name: string }>): Promise<Started> {
    let reserved: NetworkRows[K] | null = null;
    try {
      return await this.operations.start(caller, request, async () => {
        const { row, name } = await reserve();
        reserved = row;
        return {
          type: `networking.${kind}.add`, resource: this.resource(kind, inst, row, name), host: inst.host_name, workflow: applyNetworkChangeWorkflow,
          input: { kind, id: row.id, hostId: inst.host_id, action: 'add' as const, agentWaitSeconds: this.deps.config.compute.agentWaitSeconds },
          params: { instance: inst.uuid, ...Object.fromEntries(Object.entries(row)) }, summary: `Add ${NOUN[kind]} ${name} to ${inst.uuid} on ${inst.host_name}`,
        };
      });
    } catch (err) {
      if (reserved) await dropPendingRow(this.knex, kind, (reserved as NetworkRows[K]).id);
      throw err;
    }
  }

  /** A row of this instance, by id. */
  row<K extends NetworkResource>(kind: K, inst: InstanceView, id: number): Promise<NetworkRows[K]> {
    return found(rowOfInstance(this.knex, kind, inst.id, id), NOUN[kind], id);
  }

  /** Marks the row as leaving the desired state and starts the operation that applies that. */
  async startRemove(caller: Caller, kind: NetworkResource, inst: InstanceView, row: NetworkRows[NetworkResource], name: string): Promise<Started> {
    let marked = false;
    try {
      return await this.operations.start(caller, { remove: kind, id: row.id }, async () => {
        if (!(await markRowDeleting(this.knex, kind, row.id))) throw conflict(`${NOUN[kind]} ${name} is ${row.state === 'pending' ? 'still being added' : 'already being removed'}`, { state: row.state });
        marked = true;
        return {
          type: `networking.${kind}.remove`, resource: this.resource(kind, inst, row, name), host: inst.host_name, workflow: applyNetworkChangeWorkflow,
          input: { kind, id: row.id, hostId: inst.host_id, action: 'remove' as const, agentWaitSeconds: this.deps.config.compute.agentWaitSeconds },
          params: { instance: inst.uuid, id: row.id }, summary: `Remove ${NOUN[kind]} ${name} from ${inst.uuid} on ${inst.host_name}`,
        };
      });
    } catch (err) {
      if (marked) await restoreDeletingRow(this.knex, kind, row.id);
      throw err;
    }
  }

  /** The instance's rows in a stable order: `index` is the position the compat routes address them by. */
  list<K extends NetworkResource>(kind: K, inst: InstanceView): Promise<Array<NetworkRows[K]>> {
    return rowsOfInstance(this.knex, kind, inst.id);
  }
}
