import type { Knex } from 'knex';
import { AppError, conflict, notFound } from '../../shared/platform/errors';
import { canonicalIpv6 } from '../../shared/networking/addresses';
import { canonicalAddress } from '../../shared/compute/addresses';
import type { InstanceView } from '../../db/queries/compute/instances';
import { liveHostRow, type HostRow } from '../../db/queries/compute/hosts';
import { forwardOfInstance, forwardsOfInstance } from '../../db/queries/networking/port-forwards';
import { addressesOfInstance, addressOfInstance } from '../../db/queries/networking/instance-addresses';
import type { AppDeps } from '../platform/deps';
import { isAdmin } from '../platform/auth/principal';
import type { Caller } from '../platform/caller';
import type { OperationService, Started } from '../platform/operations/service';
import { applyNetworkChangeWorkflow } from '../../workflows/networking/runbooks';
import { NETWORK_TABLES, type NetworkResource } from '../../shared/networking/resources';
import type { Row } from '../compute/bounds';
import type { InstanceService } from '../compute/instances';
import { netservicesQuotaOf, netservicesUsageOf, setNetservicesQuota, type NetservicesQuota } from '../../db/queries/netservices/quotas';

/** An instance as the networking services pass it (proxies.ts still types it loosely). */
type InstanceLike = InstanceView | Row;

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

  async host(hostId: number): Promise<HostRow> {
    const h = await liveHostRow(this.knex, hostId);
    if (!h) throw notFound('host', hostId);
    return h;
  }

  /**
   * The instance's own addresses of a family, the only ones its rules may point at: what the engine reports for it
   * (`engine_addresses`: docker's inspect; libvirt and the simulator the pool addresses they were configured with),
   * never what a request put in its NICs. IPv6 in canonical form.
   */
  instanceAddresses(inst: InstanceLike | Pick<InstanceView, 'engine_addresses'>, family: 4 | 6 = 4): string[] {
    return ((inst.engine_addresses ?? []) as string[]).map((a) => canonicalAddress(a)).filter((a): a is string => Boolean(a) && a!.includes(':') === (family === 6));
  }

  internalAddress(inst: InstanceLike | Pick<InstanceView, 'engine_addresses' | 'uuid'>, asked: string | undefined, field: string, family: 4 | 6 = 4): string {
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
    const row = await this.knex('network_quotas').where({ user_id: userId }).first();
    const quota = row ? { nat_ports: row.nat_ports, proxies: row.proxies, addresses: row.addresses } : this.deps.config.networking.defaultQuota;
    const used = Object.fromEntries(await Promise.all((Object.keys(QUOTA_TABLE) as QuotaName[]).map(async (q) => [q, await this.used(this.knex, userId, q)]))) as Record<QuotaName, number>;
    const [services, servicesUsed] = await Promise.all([netservicesQuotaOf(this.knex, userId, this.deps.config.tenancy.netQuota), netservicesUsageOf(this.knex, userId)]);
    return { user_id: userId, quota: { ...quota, ...services }, used: { ...used, ...servicesUsed }, source: row ? 'user' as const : 'default' as const };
  }

  private async used(trx: Knex | Knex.Transaction, userId: number, q: QuotaName): Promise<number> {
    const [{ count }] = await trx(`${NETWORK_TABLES[QUOTA_TABLE[q]]} as r`).join('instances as i', 'i.id', 'r.instance_id')
      .where('i.owner_id', userId).whereNull('i.deleted_at').count('* as count');
    return Number(count);
  }

  async setQuota(userId: number, { wireguard_clients, ipv6_allocations, ...q }: { nat_ports: number; proxies: number; addresses: number } & Partial<NetservicesQuota>) {
    if (!(await this.knex('users').where({ id: userId }).first('id'))) throw notFound('user', userId);
    await this.knex('network_quotas').insert({ user_id: userId, ...q, updated_at: this.knex.fn.now() }).onConflict('user_id').merge();
    await setNetservicesQuota(this.knex, userId, { wireguard_clients, ipv6_allocations });
    return this.quota(userId);
  }

  /**
   * Inserts a desired-state row within the owner's quota (admins are not limited): the owner's user row is locked so two
   * requests cannot both take the last unit. A unique-key clash (port, address, domain) is a 409 naming the field.
   */
  async reserve(caller: Caller, inst: InstanceLike, q: QuotaName, table: string, row: Record<string, unknown>, clash: (constraint: string) => AppError | null): Promise<Row> {
    return this.knex.transaction(async (trx) => {
      // Rows of deleted instances hold their port, address or domain no longer (the agent's next drift check removes their rules).
      await trx.raw(`DELETE FROM ?? AS r USING instances AS i WHERE i.id = r.instance_id AND i.deleted_at IS NOT NULL`, [table]);
      if (!isAdmin(caller.principal) && inst.owner_id) {
        await trx('users').where({ id: inst.owner_id }).forUpdate().first('id');
        const limit = (await trx('network_quotas').where({ user_id: inst.owner_id }).first())?.[q] ?? this.deps.config.networking.defaultQuota[q];
        const used = await this.used(trx, inst.owner_id, q);
        if (used >= limit) throw new AppError('CONFLICT', `Quota exceeded: ${q} (${used} of ${limit} used)`, { quota: q, used, limit });
      }
      try {
        const [created] = await trx(table).insert({ ...row, host_id: inst.host_id, instance_id: inst.id, state: 'pending' }).returning('*');
        return created;
      } catch (err) {
        const e = err as { code?: string; constraint?: string };
        if (e.code === '23505') throw clash(e.constraint ?? '') ?? conflict('Already taken');
        throw err;
      }
    });
  }

  private resource(kind: NetworkResource, inst: InstanceLike, row: Row, name: string) {
    return { type: kind, id: row.id, name, url: `/api/v1/instances/${encodeURIComponent(inst.uuid)}/${PATH[kind]}/${row.id}` };
  }

  /** Starts the operation that applies a reserved row on the host; the row goes again if the operation cannot start. */
  async startAdd(caller: Caller, request: unknown, kind: NetworkResource, inst: InstanceLike, reserve: () => Promise<{ row: Row; name: string }>): Promise<Started> {
    let reserved: Row | null = null;
    try {
      return await this.operations.start(caller, request, async () => {
        const { row, name } = await reserve();
        reserved = row;
        return {
          type: `networking.${kind}.add`, resource: this.resource(kind, inst, row, name), host: inst.host_name, workflow: applyNetworkChangeWorkflow,
          input: { kind, id: row.id, hostId: inst.host_id, action: 'add' as const, agentWaitSeconds: this.deps.config.compute.agentWaitSeconds },
          params: { instance: inst.uuid, ...row }, summary: `Add ${NOUN[kind]} ${name} to ${inst.uuid} on ${inst.host_name}`,
        };
      });
    } catch (err) {
      if (reserved) await this.knex(NETWORK_TABLES[kind]).where({ id: (reserved as Row).id, state: 'pending' }).delete();
      throw err;
    }
  }

  /** A row of this instance, by id. */
  async row(kind: NetworkResource, inst: InstanceLike, id: number): Promise<Row> {
    const r = kind === 'port_forward' ? await forwardOfInstance(this.knex, inst.id, id) : kind === 'address' ? await addressOfInstance(this.knex, inst.id, id)
      : await this.knex(NETWORK_TABLES[kind]).where({ id, instance_id: inst.id }).first();
    if (!r) throw notFound(NOUN[kind], id);
    return r;
  }

  /** Marks the row as leaving the desired state and starts the operation that applies that. */
  async startRemove(caller: Caller, kind: NetworkResource, inst: InstanceLike, row: Row, name: string): Promise<Started> {
    const table = NETWORK_TABLES[kind];
    let marked = false;
    try {
      return await this.operations.start(caller, { remove: kind, id: row.id }, async () => {
        const n = await this.knex(table).where({ id: row.id, state: 'active' }).update({ state: 'deleting', updated_at: this.knex.fn.now() });
        if (!n) throw conflict(`${NOUN[kind]} ${name} is ${row.state === 'pending' ? 'still being added' : 'already being removed'}`, { state: row.state });
        marked = true;
        return {
          type: `networking.${kind}.remove`, resource: this.resource(kind, inst, row, name), host: inst.host_name, workflow: applyNetworkChangeWorkflow,
          input: { kind, id: row.id, hostId: inst.host_id, action: 'remove' as const, agentWaitSeconds: this.deps.config.compute.agentWaitSeconds },
          params: { instance: inst.uuid, id: row.id }, summary: `Remove ${NOUN[kind]} ${name} from ${inst.uuid} on ${inst.host_name}`,
        };
      });
    } catch (err) {
      if (marked) await this.knex(table).where({ id: row.id, state: 'deleting' }).update({ state: 'active' });
      throw err;
    }
  }

  /** The instance's rows in a stable order: `index` is the position the compat routes address them by. */
  async list(kind: NetworkResource, inst: InstanceLike): Promise<Row[]> {
    if (kind === 'port_forward') return forwardsOfInstance(this.knex, inst.id);
    if (kind === 'address') return addressesOfInstance(this.knex, inst.id);
    return this.knex(NETWORK_TABLES[kind]).where({ instance_id: inst.id }).orderBy('id');
  }
}
