import { AppError, conflict, validationError } from '../../shared/platform/errors';
import { agentOnline, ENGINES, type EngineType } from '../../shared/compute/catalogue';
import { seal } from '../../shared/platform/crypto';
import type { AppDeps } from '../platform/deps';
import { isAdmin, type Principal } from '../platform/auth/principal';
import type { Caller } from '../platform/caller';
import { iso, likePattern, paginateRows } from '../platform/http/schemas';
import { audit } from '../platform/audit';
import type { OperationService } from '../platform/operations/service';
import { scanHostWorkflow } from '../../workflows/compute/runbooks';
import type { CreateHostBody, UpdateHostBody } from './schemas';
import type { EngineReads } from './engine-reads';
import { computeBounds } from './bounds';
import {
  deleteHost, hostById, hostByName as findHostNamed, hostNameTaken, insertHost, liveHosts, updateHost, type HostListRow, type HostWrite,
} from '../../db/queries/compute/hosts';
import { found } from '../../db/queries/platform/found';
import { activeOperation } from '../platform/operations/settle';
import { agentVersionProblem } from '../../shared/compute/agent-version';
import { VERSION } from '../../shared/platform/version';

/** Engine probes a health check runs at once. */
const HEALTH_PROBES_AT_ONCE = 8;

export const hostResource = (h: { id: number; name: string }) => ({ type: 'host', id: h.id, name: h.name, url: `/api/v1/hosts/${h.id}` });

/** Engines and hosts: the catalogue, host records (secrets sealed), live host status and scans. */
export class HostService {
  constructor(private readonly deps: AppDeps, private readonly operations: OperationService, private readonly engineReads: EngineReads) {}

  private get knex() { return this.deps.knex; }

  engines() {
    return Object.values(ENGINES).map(({ aliases, ...e }) => ({ ...e, aliases }));
  }

  private agentOnline(h: Pick<HostListRow, 'agent_last_seen'>) {
    return agentOnline(h.agent_last_seen, this.deps.config.compute.agentOfflineSeconds);
  }

  presentHost(h: HostListRow, admin: boolean) {
    const base = {
      id: h.id, name: h.name, engine_type: h.engine_type, enabled: h.enabled, public_addresses: h.public_addresses ?? [], plans: h.plans ?? [],
      instance_limit: h.instance_limit, use_agent: h.use_agent,
      agent: {
        task_queue: `host:${h.name}`, online: this.agentOnline(h), last_seen: iso(h.agent_last_seen), version: h.agent_version ?? null,
        version_problem: h.use_agent && h.agent_version ? agentVersionProblem(h.agent_version, this.deps.config.compute.agentIdentity.minVersion, VERSION) : null,
      },
      instances: Number(h.instance_count ?? 0), status: h.status ?? null, status_at: iso(h.status_at), created_at: iso(h.created_at), updated_at: iso(h.updated_at),
    };
    if (!admin) return base;
    return {
      ...base, address: h.address, username: h.username, has_password: Boolean(h.password_sealed), has_private_key: Boolean(h.private_key_sealed), has_tls_key: Boolean(h.tls_key_sealed),
      system_path: h.system_path, images_path: h.images_path, launch_path: h.launch_path, nat_port_start: h.nat_port_start, nat_port_end: h.nat_port_end,
      ip_pools: h.ip_pools ?? [], options: h.options ?? {}, weight: h.weight, allowed_registries: h.allowed_registries ?? null,
    };
  }

  private hostQuery() {
    return liveHosts(this.knex);
  }

  async listHosts(principal: Principal, q: { page: number; size: number; search?: string; engine_type?: string; enabled?: boolean }) {
    const query = this.hostQuery().orderBy('h.id');
    if (q.search) query.whereILike('h.name', likePattern(q.search));
    if (q.engine_type) query.where('h.engine_type', q.engine_type);
    if (q.enabled !== undefined) query.where('h.enabled', q.enabled);
    const { rows, pagination } = await paginateRows<HostListRow>(query, q.page, q.size);
    return { hosts: rows.map((h) => this.presentHost(h, isAdmin(principal))), pagination };
  }

  hostRow(id: number): Promise<HostListRow> {
    return found(hostById(this.knex, id), 'host', id);
  }

  async findHostByName(name: string): Promise<HostListRow | undefined> {
    return findHostNamed(this.knex, name);
  }

  hostByName(name: string): Promise<HostListRow> {
    return found(this.findHostByName(name), 'host', name);
  }

  private sealed(v: string | null | undefined) {
    return v ? seal(v, this.deps.config.masterKey) : v === null || v === '' ? null : undefined;
  }

  private hostColumns(b: Partial<CreateHostBody>): HostWrite {
    const cols: Record<keyof HostWrite, unknown> = {
      address: b.address, username: b.username, engine_type: b.engine_type, system_path: b.system_path, images_path: b.images_path, launch_path: b.launch_path,
      nat_port_start: b.nat_port_start, nat_port_end: b.nat_port_end,
      public_addresses: b.public_addresses && JSON.stringify(b.public_addresses), ip_pools: b.ip_pools && JSON.stringify(b.ip_pools),
      plans: b.plans && JSON.stringify(b.plans), options: b.options && JSON.stringify(b.options),
      allowed_registries: b.allowed_registries === null ? null : b.allowed_registries && JSON.stringify([...new Set(b.allowed_registries)]),
      instance_limit: b.instance_limit, weight: b.weight, enabled: b.enabled, use_agent: b.use_agent,
      password_sealed: this.sealed(b.password), private_key_sealed: this.sealed(b.private_key), tls_key_sealed: this.sealed(b.tls_key),
    };
    return Object.fromEntries(Object.entries(cols).filter(([, v]) => v !== undefined)) as HostWrite;
  }

  /** An engine that is not available here is refused before anything is stored. */
  checkEngine(type: EngineType | undefined) {
    if (!type) return;
    const info = ENGINES[type];
    if (!info.enabled) throw validationError([{ field: 'engine_type', message: info.reason ?? 'not available' }], `Engine ${type} is not available: ${info.reason}`);
  }

  async createHost(caller: Caller, b: CreateHostBody) {
    this.checkEngine(b.engine_type);
    if (await hostNameTaken(this.knex, b.name)) throw conflict(`A host named ${b.name} already exists`, { field: 'name' });
    const id = await insertHost(this.knex, b.name, this.hostColumns(b));
    await audit(this.knex, caller, { module: 'compute', action: 'host_create', message: `Host ${b.name} added (${b.engine_type})`, resourceType: 'host', resourceId: id });
    return this.presentHost(await this.hostRow(id), true);
  }

  async updateHost(caller: Caller, id: number, b: UpdateHostBody) {
    const host = await this.hostRow(id);
    this.checkEngine(b.engine_type);
    if (b.engine_type && b.engine_type !== host.engine_type && Number(host.instance_count) > 0) throw conflict(`Host ${host.name} has instances; its engine type cannot change`);
    await updateHost(this.knex, id, this.hostColumns(b));
    await audit(this.knex, caller, { module: 'compute', action: 'host_update', message: `Host ${host.name} updated`, resourceType: 'host', resourceId: id, details: { fields: Object.keys(b) } });
    return this.presentHost(await this.hostRow(id), true);
  }

  async deleteHost(caller: Caller, id: number) {
    const host = await this.hostRow(id);
    if (Number(host.instance_count) > 0) throw conflict(`Host ${host.name} still has ${host.instance_count} instances; delete them first`, { instances: Number(host.instance_count) });
    const active = await activeOperation(this.deps.temporal, { host: host.name });
    if (active) throw conflict(`Operation ${active.id} is running on host ${host.name}`, { operation_id: active.id });
    await deleteHost(this.knex, id, host.name);
    await audit(this.knex, caller, { module: 'compute', action: 'host_delete', message: `Host ${host.name} deleted`, resourceType: 'host', resourceId: id });
    return { id, name: host.name, deleted: true };
  }

  async setHostEnabled(caller: Caller, id: number, enabled: boolean) {
    const host = await this.hostRow(id);
    await updateHost(this.knex, id, { enabled });
    await audit(this.knex, caller, { module: 'compute', action: enabled ? 'host_enable' : 'host_disable', message: `Host ${host.name} ${enabled ? 'enabled' : 'disabled'}`, resourceType: 'host', resourceId: id });
    return this.presentHost(await this.hostRow(id), isAdmin(caller.principal));
  }

  /** Live host figures: the agent's last report for agent hosts, else one bounded read from the engine. */
  async hostStatus(id: number) {
    const host = await this.hostRow(id);
    if (host.use_agent) {
      if (!this.agentOnline(host)) {
        throw new AppError('SERVICE_UNAVAILABLE', `The agent of host ${host.name} is offline (last heartbeat ${iso(host.agent_last_seen) ?? 'never'})`, { host: host.name, last_status: host.status ?? null, status_at: iso(host.status_at) });
      }
      return { host: host.name, live: true, source: 'agent', status: host.status, at: iso(host.status_at) };
    }
    const status = await this.engineReads.read(host.id, 'host_stats');
    return { host: host.name, live: true, source: 'engine', status: status as Record<string, unknown>, at: new Date().toISOString() };
  }

  /**
   * Whether a host answers now: an agent host by its heartbeat, any other by one bounded engine read (which also refreshes
   * its stored status). A disabled host is not contacted.
   */
  async reachability(host: HostListRow): Promise<'online' | 'offline' | 'disabled'> {
    if (!host.enabled) return 'disabled';
    if (host.use_agent) return this.agentOnline(host) ? 'online' : 'offline';
    return this.engineReads.read(host.id, 'host_stats').then(() => 'online' as const, () => 'offline' as const);
  }

  /** Every enabled host probed (a few at a time): healthy when all answer. */
  async serversHealth() {
    const hosts: HostListRow[] = await this.hostQuery().where('h.enabled', true).orderBy('h.id');
    const states = new Array<string>(hosts.length);
    let next = 0;
    const lane = async () => { for (let i = next++; i < hosts.length; i = next++) states[i] = await this.reachability(hosts[i]); };
    await Promise.all(Array.from({ length: Math.min(HEALTH_PROBES_AT_ONCE, hosts.length) }, lane));
    const offline = hosts.filter((_h, i) => states[i] !== 'online').map((h) => h.name as string);
    return { status: offline.length ? 'degraded' : 'healthy', servers: hosts.length, online: hosts.length - offline.length, offline };
  }

  async scanHost(caller: Caller, host: HostListRow) {
    return this.operations.start(caller, { scan: host.id }, () => ({
      type: 'host.scan', resource: hostResource(host), host: host.name, workflow: scanHostWorkflow,
      input: { hostId: host.id, ...computeBounds(this.deps.config) }, summary: `Scan host ${host.name} for instances`,
    }));
  }
}
