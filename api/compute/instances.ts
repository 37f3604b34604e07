import crypto from 'node:crypto';
import type { z } from 'zod';
import { AppError, conflict, forbidden, notFound, problemError, validationError } from '../../shared/platform/errors';
import { agentOnline, type EngineType, type PowerAction } from '../../shared/compute/catalogue';
import { randomToken, safeEqual, seal, sha256, unseal } from '../../shared/platform/crypto';
import type { InstanceRequest } from '../../shared/compute/contracts';
import { hostRegistryProblem, instanceRequestProblem } from '../../db/queries/compute/rules';
import { gatewayForHost } from '../../db/queries/compute/console-gateways';
import { findVisibleContainer, findVisibleInstance, liveInstancesByUuid, visibleInstances, type InstanceView } from '../../db/queries/compute/instances';
import type { AppDeps } from '../platform/deps';
import { isAdmin, viewerOf, type Principal } from '../platform/auth/principal';
import type { Caller } from '../platform/caller';
import { iso, likePattern, paginateRows } from '../platform/http/schemas';
import { audit } from '../platform/audit';
import type { OperationService, OperationWorkflow, WorkflowInput } from '../platform/operations/service';
import { createInstanceWorkflow, deleteInstanceWorkflow, passwordInstanceWorkflow, powerInstanceWorkflow, updateInstanceWorkflow } from '../../workflows/compute/runbooks';
import { type ComputeBounds } from '../../shared/compute/contracts';
import type { CreateInstanceBody, listInstancesQuery, UpdateInstanceBody, usageReport } from './schemas';
import type { EngineReads } from './engine-reads';
import type { HostService } from './hosts';
import { computeBounds } from './bounds';
import { nativeNicField, nicAddressErrors, type NicField } from './nic-addresses';

/** An instance's URL takes its uuid as well as its id; operations name it by uuid. */
export const instanceResource = (i: { uuid: string; name: string }) => ({ type: 'instance', id: i.uuid, name: i.name, url: `/api/v1/instances/${encodeURIComponent(i.uuid)}` });

/** Instances: what users see and own, and the operations that change them. */
/** Engines whose console the console gateway serves, and the recorded states in which they open one. */
const GATEWAY_CONSOLES: Partial<Record<EngineType, { type: 'terminal' | 'vnc'; states: string[] }>> = {
  docker: { type: 'terminal', states: ['running'] },
  libvirt_qemu: { type: 'vnc', states: ['running', 'suspended'] },
};

export class InstanceService {
  constructor(private readonly deps: AppDeps, private readonly operations: OperationService, private readonly hosts: HostService, private readonly engineReads: EngineReads) {}

  private get knex() { return this.deps.knex; }

  presentInstance(r: InstanceView) {
    return {
      id: r.id, uuid: r.uuid, name: r.name, host: { id: r.host_id, name: r.host_name, engine_type: r.engine_type }, os_name: r.os_name, image: r.image, command: r.command ?? null,
      cpu: r.cpu, ram_mb: r.ram_mb, disk_gb: r.disk_gb, nics: r.nics ?? [], owner_id: r.owner_id, owners: r.owner_name ? [r.owner_name] : [],
      state: r.state, origin: r.origin, engine_ref: r.engine_ref, has_password: Boolean(r.password_sealed), ssh_keys: r.ssh_keys ?? [], usage: r.usage ?? null, usage_at: iso(r.usage_at),
      last_error: r.last_error && !r.last_error.previous_state ? r.last_error : null, created_at: iso(r.created_at), updated_at: iso(r.updated_at),
    };
  }

  /** Users see their own instances only; admins all (the store's one owner scope). */
  private visible(principal: Principal) {
    return visibleInstances(this.knex, viewerOf(principal));
  }

  async listInstances(principal: Principal, q: z.infer<typeof listInstancesQuery> & { page: number; size: number }, engineType?: EngineType) {
    const query = this.visible(principal).orderBy('i.id');
    if (q.host_id) query.where('i.host_id', q.host_id);
    if (q.state) query.where('i.state', q.state);
    if (q.owner_id && isAdmin(principal)) query.where('i.owner_id', q.owner_id);
    if (q.search) query.where((w) => w.whereILike('i.name', likePattern(q.search!)).orWhereILike('i.uuid', likePattern(q.search!)));
    if (engineType) query.where('h.engine_type', engineType);
    const { rows, pagination } = await paginateRows<InstanceView>(query, q.page, q.size);
    return { instances: rows.map((r) => this.presentInstance(r)), pagination };
  }

  /** An instance by its id or its uuid (operations name instances by uuid). */
  async instanceRow(principal: Principal, id: number | string): Promise<InstanceView> {
    const r = await findVisibleInstance(this.knex, viewerOf(principal), id);
    if (!r) throw notFound('instance', id);
    return r;
  }

  async instanceByUuid(principal: Principal, uuid: string, hostId?: number): Promise<InstanceView> {
    const r = await findVisibleInstance(this.knex, viewerOf(principal), uuid, hostId);
    if (!r) throw notFound('instance', uuid);
    return r;
  }

  /** Seed 000 names containers by name: the uuid or the display name of an instance on a docker host. */
  async containerByName(principal: Principal, name: string): Promise<InstanceView> {
    const r = await findVisibleContainer(this.knex, viewerOf(principal), name);
    if (!r) throw notFound('container', name);
    return r;
  }

  /** `nicField`: how the request names a NIC's fields (seed 001 names them differently), for the 422. */
  async createInstance(caller: Caller, b: CreateInstanceBody, fixedHostId?: number, nicField: NicField = nativeNicField) {
    const { principal } = caller;
    const request = { ...b, password: b.password ? '[sealed]' : undefined, host_id: fixedHostId ?? b.host_id };
    return this.operations.start(caller, request, async () => {
      let host: Awaited<ReturnType<HostService['hostRow']>> | null = null;
      if (fixedHostId ?? b.host_id) host = await this.hosts.hostRow((fixedHostId ?? b.host_id)!);
      else if (b.host) host = await this.hosts.hostByName(b.host);
      if (b.owner_id && b.owner_id !== principal.userId && !isAdmin(principal)) throw forbidden('Only an admin may create an instance for another user');
      const ownerId = b.owner_id ?? principal.userId;
      // Addresses and MACs come from the platform (the host's pools, the engine), never from a tenant's request.
      const addressErrors = await nicAddressErrors(this.knex, viewerOf(principal), ownerId, host, b.nics ?? [], nicField);
      if (addressErrors.length) throw validationError(addressErrors, `${addressErrors[0].field} ${addressErrors[0].message}`);
      const uuid = b.uuid ?? `vm-${crypto.randomBytes(5).toString('hex')}`;
      const req: InstanceRequest = {
        uuid, name: b.name, hostId: host?.id ?? null, engineType: b.engine_type ?? null, ownerId,
        osName: b.os_name ?? null, image: b.image ?? null, command: b.command ?? null, cpu: b.cpu, ramMb: b.ram_mb, diskGb: b.disk_gb,
        nics: (b.nics ?? []).map((n) => ({ ...n })), sshKeys: b.ssh_keys ?? [],
      };
      const problem = await instanceRequestProblem(this.knex, req, undefined, this.deps.config.tenancy);
      if (problem) throw problemError(problem);
      return {
        type: 'instance.create', resource: instanceResource({ uuid, name: b.name }), host: host?.name ?? null, workflow: createInstanceWorkflow,
        input: { request: req, passwordSealed: b.password ? seal(b.password, this.deps.config.masterKey) : null, ...computeBounds(this.deps.config) },
        params: { uuid, name: b.name, host: host?.name ?? null, cpu: b.cpu, ram_mb: b.ram_mb, disk_gb: b.disk_gb, image: b.image ?? null },
        summary: `Create instance ${uuid} (${b.cpu} CPU, ${b.ram_mb} MB)${host ? ` on ${host.name}` : ' by placement'}`,
      };
    });
  }

  /** An operation on one existing instance: the workflow gets the instance's id and the compute bounds besides `input`. */
  private instanceOp<W extends OperationWorkflow>(caller: Caller, inst: InstanceView, o: { type: string; workflow: W; input: Omit<WorkflowInput<W>, 'instanceId' | keyof ComputeBounds>; request?: Record<string, unknown>; summary: string }) {
    const request = { instance: inst.id, ...(o.request ?? {}) };
    return this.operations.start(caller, request, () => ({
      type: o.type, resource: instanceResource(inst), host: inst.host_name, workflow: o.workflow,
      input: { instanceId: inst.id, ...computeBounds(this.deps.config), ...o.input } as WorkflowInput<W>,
      params: { instance_id: inst.id, ...(o.request ?? {}) }, summary: o.summary,
    }));
  }

  async deleteInstance(caller: Caller, inst: InstanceView) {
    return this.instanceOp(caller, inst, { type: 'instance.delete', workflow: deleteInstanceWorkflow, input: {}, summary: `Delete instance ${inst.uuid} on ${inst.host_name}` });
  }

  async powerInstance(caller: Caller, inst: InstanceView, action: PowerAction) {
    if (!inst.engine_ref) throw conflict(`Instance ${inst.uuid} is ${inst.state} and has no engine instance yet`);
    return this.instanceOp(caller, inst, { type: 'instance.power', workflow: powerInstanceWorkflow, input: { action }, request: { action }, summary: `${action} instance ${inst.uuid} on ${inst.host_name}` });
  }

  async updateInstance(caller: Caller, inst: InstanceView, b: UpdateInstanceBody) {
    const registry = await hostRegistryProblem(this.knex, inst.host_id, b.image, this.deps.config.tenancy);
    if (registry) throw problemError(registry);
    const changes = { name: b.name, cpu: b.cpu, ramMb: b.ram_mb, diskGb: b.disk_gb, image: b.image, osName: b.os_name };
    return this.instanceOp(caller, inst, { type: 'instance.update', workflow: updateInstanceWorkflow, input: { changes }, request: b, summary: `Update instance ${inst.uuid}: ${Object.keys(b).join(', ')}` });
  }

  async setInstancePassword(caller: Caller, inst: InstanceView, password: string) {
    if (!inst.engine_ref) throw conflict(`Instance ${inst.uuid} has no engine instance yet`);
    return this.instanceOp(caller, inst, {
      type: 'instance.password', workflow: passwordInstanceWorkflow, input: { passwordSealed: seal(password, this.deps.config.masterKey) },
      request: { password: '[sealed]' }, summary: `Set the OS password of instance ${inst.uuid}`,
    });
  }

  async instanceStatus(inst: InstanceView) {
    let engine: unknown = null;
    let stats: unknown = null;
    if (inst.engine_ref) {
      engine = await this.engineReads.read(inst.host_id, 'status', inst.engine_ref);
      if (engine && (engine as { state?: string }).state === 'running') stats = await this.engineReads.read(inst.host_id, 'stats', inst.engine_ref).catch(() => null);
    }
    return {
      id: inst.id, uuid: inst.uuid, recorded_state: inst.state, state: (engine as { state?: string } | null)?.state ?? (inst.engine_ref ? 'missing' : inst.state),
      engine: engine as Record<string, unknown> | null, stats: stats as Record<string, unknown> | null, usage: inst.usage ?? null, usage_at: iso(inst.usage_at),
    };
  }

  /**
   * Where a console is served, without asking a worker: a gateway that said recently it serves the host, for an instance
   * recorded in a state its engine opens a console in (the gateway asks the engine itself when the client connects, and
   * refuses a stopped one with 409). Null sends the request the long way, an engine read through a workflow.
   */
  private async gatewayConsole(inst: InstanceView): Promise<{ type: string; url: string; expires_at: null } | null> {
    const kind = GATEWAY_CONSOLES[inst.engine_type as EngineType];
    if (!kind?.states.includes(inst.state)) return null;
    const host = await gatewayForHost(this.knex, inst.host_id, this.deps.config.taskQueue);
    if (!host?.url || (host.use_agent && !agentOnline(host.agent_last_seen, this.deps.config.compute.agentOfflineSeconds))) return null;
    return { type: kind.type, url: host.url, expires_at: null };
  }

  /** The engine's console URL, or for a terminal or VNC screen the gateway's address with a single-use ticket (stored hashed). */
  async console(caller: Caller, inst: InstanceView): Promise<{ type: string; url: string; web_url?: string; expires_at: string | null }> {
    if (!inst.engine_ref) throw conflict(`Instance ${inst.uuid} has no engine instance yet`);
    const access = (await this.gatewayConsole(inst)) ?? await this.engineReads.read(inst.host_id, 'console', inst.engine_ref) as { type: string; url: string; expires_at: string | null };
    if (access.type !== 'terminal' && access.type !== 'vnc') return access;
    const ticket = randomToken(32);
    const expiresAt = new Date(Date.now() + this.deps.config.console.ticketSeconds * 1000);
    await this.knex('console_sessions').insert({
      ticket_hash: sha256(ticket), user_id: caller.principal.userId, instance_id: inst.id, host_id: inst.host_id, engine_ref: inst.engine_ref, gateway: access.url, expires_at: expiresAt,
    });
    await audit(this.knex, caller, { module: 'compute', action: 'console', message: `Console ticket for instance ${inst.uuid}`, resourceType: 'instance', resourceId: inst.id });
    const url = new URL(access.url);
    url.searchParams.set('ticket', ticket);
    const page = access.type === 'vnc' ? '/console/vnc' : '/console';
    return { type: access.type, url: url.toString(), web_url: `${page}#${encodeURIComponent(url.toString())}`, expires_at: expiresAt.toISOString() };
  }

  agentToken(inst: InstanceView) {
    if (!inst.agent_token_sealed) throw notFound('agent token of instance', inst.id);
    return { uuid: inst.uuid, token: unseal(inst.agent_token_sealed, this.deps.config.masterKey), upload: '/api/client/upload' };
  }

  /** Usage from the instance's own agent, authenticated by its per-instance token. Never answers secrets. */
  async recordUsage(headerToken: string | undefined, body: z.infer<typeof usageReport>) {
    const token = body.token ?? headerToken;
    const fail = () => new AppError('INVALID_CREDENTIALS', 'A valid per-instance token is required (body "token" or X-Instance-Token)');
    if (!token) throw fail();
    const rows = await liveInstancesByUuid(this.knex, body.vm_uuid);
    const row = rows.find((r) => r.agent_token_sealed && safeEqual(unseal(r.agent_token_sealed, this.deps.config.masterKey), token));
    if (!row) throw fail();
    const { token: _t, vm_uuid: _v, ...usage } = body;
    await this.knex('instances').where({ id: row.id }).update({ usage: JSON.stringify(usage), usage_at: this.knex.fn.now() });
    return { vm_uuid: body.vm_uuid, received_at: new Date().toISOString() };
  }
}
