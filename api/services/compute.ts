import type Koa from 'koa';
import crypto from 'node:crypto';
import { z } from 'zod';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import { AppError, conflict, forbidden, notFound, validationError } from '../../shared/errors';
import {
  ENGINES, ENGINE_TYPES, INSTANCE_STATES, PLACEMENT_STRATEGIES, POWER_ACTIONS, resolveEngineType, type EngineType, type PlacementStrategy, type PowerAction,
} from '../../shared/compute';
import { randomToken, safeEqual, seal, sha256, unseal } from '../../shared/crypto';
import type { InstanceRequest } from '../../activities/compute';
import { quotaFor, usageOf } from '../../activities/compute';
import type { AppDeps } from '../deps';
import { isAdmin, type Principal } from '../auth/principal';
import { dbId, dbIdValue, iso, likePattern, paginateRows } from '../http/schemas';
import { audit } from './audit';
import { answerCodeOf, type OperationService } from './operations';

// ---------- schemas ----------

const ipv4 = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}$/, 'must be an IPv4 address');
export const nicSchema = z.object({
  name: z.string().min(1).max(32).default('eth0'),
  net_mode: z.string().max(32).optional(),
  mac: z.string().regex(/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/, 'must be a MAC address').nullish(),
  ip4: ipv4.nullish(),
  ip6: z.string().max(64).nullish(),
  gateway: ipv4.nullish(),
  mask: ipv4.nullish(),
  dns: z.array(z.string().max(64)).max(4).optional(),
});
export const ipPoolSchema = z.object({
  name: z.string().max(64).optional(),
  cidr: z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, 'must be a.b.c.d/nn').optional(),
  start: ipv4.optional(),
  end: ipv4.optional(),
  gateway: ipv4.optional(),
  mask: ipv4.optional(),
  dns: z.array(z.string().max(64)).max(4).optional(),
}).refine((p) => p.cidr || (p.start && p.end), 'give cidr, or start and end');

const engineType = z.string().min(1).max(32).transform((v, ctx) => {
  const t = resolveEngineType(v);
  if (!t) {
    ctx.addIssue({ code: 'custom', message: `unknown engine type; one of ${ENGINE_TYPES.join(', ')}` });
    return z.NEVER;
  }
  return t;
});
const hostName = z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash and underscore');

export const hostFields = {
  address: z.string().min(1).max(255),
  username: z.string().max(64).nullish(),
  password: z.string().max(1024).nullish(),
  private_key: z.string().max(16384).nullish(),
  tls_key: z.string().max(16384).nullish(),
  system_path: z.string().max(255).nullish(),
  images_path: z.string().max(255).nullish(),
  launch_path: z.string().max(255).nullish(),
  nat_port_start: z.number().int().min(1).max(65535).nullish(),
  nat_port_end: z.number().int().min(1).max(65535).nullish(),
  public_addresses: z.array(z.string().max(255)).max(64).optional(),
  ip_pools: z.array(ipPoolSchema).max(32).optional(),
  plans: z.array(z.record(z.string(), z.unknown())).max(64).optional(),
  options: z.record(z.string(), z.unknown()).optional(),
  instance_limit: z.number().int().min(0).max(100000).optional(),
  weight: z.number().int().min(1).max(1000).optional(),
  enabled: z.boolean().optional(),
  use_agent: z.boolean().optional(),
};
const portRange = (b: { nat_port_start?: number | null; nat_port_end?: number | null }) => !(b.nat_port_start && b.nat_port_end && b.nat_port_start > b.nat_port_end);
export const createHostBody = z.object({ name: hostName, engine_type: engineType, ...hostFields }).refine(portRange, { message: 'nat_port_start must not exceed nat_port_end', path: ['nat_port_start'] });
export const updateHostBody = z.object({ engine_type: engineType.optional(), ...hostFields, address: hostFields.address.optional() }).refine(portRange, { message: 'nat_port_start must not exceed nat_port_end', path: ['nat_port_start'] });
export type CreateHostBody = z.infer<typeof createHostBody>;
export type UpdateHostBody = z.infer<typeof updateHostBody>;

export const hostSchema = z.object({
  id: z.number(), name: z.string(), engine_type: z.string(), enabled: z.boolean(),
  address: z.string().optional(), username: z.string().nullable().optional(), has_password: z.boolean().optional(), has_private_key: z.boolean().optional(), has_tls_key: z.boolean().optional(),
  system_path: z.string().nullable().optional(), images_path: z.string().nullable().optional(), launch_path: z.string().nullable().optional(),
  nat_port_start: z.number().nullable().optional(), nat_port_end: z.number().nullable().optional(),
  public_addresses: z.array(z.string()), ip_pools: z.array(z.record(z.string(), z.unknown())).optional(), plans: z.array(z.record(z.string(), z.unknown())),
  options: z.record(z.string(), z.unknown()).optional(), instance_limit: z.number(), weight: z.number().optional(), use_agent: z.boolean(),
  agent: z.object({ task_queue: z.string(), online: z.boolean(), last_seen: z.string().nullable(), version: z.string().nullable() }),
  instances: z.number(), status: z.record(z.string(), z.unknown()).nullable(), status_at: z.string().nullable(),
  created_at: z.string().nullable(), updated_at: z.string().nullable(),
});

export const instanceSchema = z.object({
  id: z.number(), uuid: z.string(), name: z.string(), host: z.object({ id: z.number(), name: z.string(), engine_type: z.string() }),
  os_name: z.string().nullable(), image: z.string().nullable(), command: z.array(z.string()).nullable(),
  cpu: z.number(), ram_mb: z.number(), disk_gb: z.number(), nics: z.array(z.record(z.string(), z.unknown())),
  owner_id: z.number().nullable(), owners: z.array(z.string()), state: z.string(), origin: z.string(), engine_ref: z.string().nullable(),
  has_password: z.boolean(), usage: z.record(z.string(), z.unknown()).nullable(), usage_at: z.string().nullable(),
  last_error: z.record(z.string(), z.unknown()).nullable(), created_at: z.string().nullable(), updated_at: z.string().nullable(),
});

const uuidField = z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, dot, dash and underscore');
export const createInstanceBody = z.object({
  uuid: uuidField.optional(),
  name: z.string().min(1).max(128),
  host_id: dbIdValue.optional(),
  host: z.string().max(64).optional(),
  engine_type: engineType.optional(),
  os_name: z.string().max(255).optional(),
  image: z.string().min(1).max(255).regex(/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/, 'must be an image reference').optional(),
  command: z.array(z.string().max(1024)).max(64).optional(),
  cpu: z.number().int().min(1).max(256).default(1),
  ram_mb: z.number().int().min(16).max(4194304).default(512),
  disk_gb: z.number().int().min(0).max(65536).default(10),
  nics: z.array(nicSchema).max(8).optional(),
  password: z.string().min(6).max(128).optional(),
  owner_id: dbIdValue.optional(),
});
export type CreateInstanceBody = z.infer<typeof createInstanceBody>;
export const updateInstanceBody = z.object({
  name: z.string().min(1).max(128).optional(),
  cpu: z.number().int().min(1).max(256).optional(),
  ram_mb: z.number().int().min(16).max(4194304).optional(),
  disk_gb: z.number().int().min(0).max(65536).optional(),
  image: createInstanceBody.shape.image,
  os_name: z.string().max(255).optional(),
}).refine((b) => Object.values(b).some((v) => v !== undefined), 'give at least one field to change');
export type UpdateInstanceBody = z.infer<typeof updateInstanceBody>;
export const powerBody = z.object({ action: z.enum(POWER_ACTIONS) });
export const passwordBody = z.object({ password: z.string().min(6).max(128).regex(/^[^\n:]*$/, 'may not contain newlines or colons') });
export const listInstancesQuery = z.object({
  host_id: dbId.optional(),
  state: z.enum(INSTANCE_STATES).optional(),
  owner_id: dbId.optional(),
  search: z.string().max(128).optional(),
});
export const usageReport = z.object({
  vm_uuid: z.string().min(1).max(64),
  token: z.string().max(256).optional(),
  cpu_usage: z.number().min(0).max(100000).optional(),
  mem_usage: z.number().min(0).optional(),
  disk_usage: z.number().min(0).optional(),
}).passthrough();
export const quotaBody = z.object({ cpu: z.number().int().min(0), ram_mb: z.number().int().min(0), disk_gb: z.number().int().min(0), instances: z.number().int().min(0) });
export const lbBody = z.object({ strategy: z.enum(PLACEMENT_STRATEGIES).optional(), node_weights: z.record(z.string(), z.number().positive().max(1000)).optional() });

// ---------- rows and views ----------

type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const TIMEOUT_MARGIN_SECONDS = 15;

/** Maps a failed engine read (or operation) to the API's error codes. */
function readError(err: unknown): AppError {
  let cause: unknown = err;
  while (cause instanceof TemporalFailure && !(cause instanceof ApplicationFailure) && cause.cause) cause = cause.cause;
  if (err instanceof WorkflowFailedError && err.cause) {
    cause = err.cause;
    while (cause instanceof TemporalFailure && !(cause instanceof ApplicationFailure) && cause.cause) cause = cause.cause;
  }
  if (cause instanceof ApplicationFailure) {
    const code = cause.type ?? 'ENGINE_ERROR';
    if (code === 'SERVICE_UNAVAILABLE') return new AppError('SERVICE_UNAVAILABLE', cause.message, (cause.details?.[0] as Record<string, unknown>) ?? {});
    // The same codes as failed operations answer; a read fails only in the engine, so nothing here is a 500 of ours.
    const answer = answerCodeOf(code) === 'INTERNAL_ERROR' ? 'SERVICE_UNAVAILABLE' : answerCodeOf(code);
    return new AppError(answer, cause.message, answer === code ? {} : { reason: code });
  }
  return new AppError('SERVICE_UNAVAILABLE', `The engine could not be reached: ${(cause as Error)?.message ?? 'unknown error'}`);
}

export class ComputeService {
  constructor(private readonly deps: AppDeps, private readonly operations: OperationService) {}

  private get knex() { return this.deps.knex; }
  private get bounds() { return { agentWaitSeconds: this.deps.config.compute.agentWaitSeconds, instanceWaitSeconds: this.deps.config.compute.instanceWaitSeconds }; }

  // ---- engines ----
  engines() {
    return Object.values(ENGINES).map(({ aliases, ...e }) => ({ ...e, aliases }));
  }

  // ---- hosts ----
  private agentOnline(h: Row) {
    return Boolean(h.agent_last_seen && Date.now() - new Date(h.agent_last_seen).getTime() < this.deps.config.compute.agentOfflineSeconds * 1000);
  }

  presentHost(h: Row, admin: boolean) {
    const base = {
      id: h.id, name: h.name, engine_type: h.engine_type, enabled: h.enabled, public_addresses: h.public_addresses ?? [], plans: h.plans ?? [],
      instance_limit: h.instance_limit, use_agent: h.use_agent,
      agent: { task_queue: `host:${h.name}`, online: this.agentOnline(h), last_seen: iso(h.agent_last_seen), version: h.agent_version ?? null },
      instances: Number(h.instance_count ?? 0), status: h.status ?? null, status_at: iso(h.status_at), created_at: iso(h.created_at), updated_at: iso(h.updated_at),
    };
    if (!admin) return base;
    return {
      ...base, address: h.address, username: h.username, has_password: Boolean(h.password_sealed), has_private_key: Boolean(h.private_key_sealed), has_tls_key: Boolean(h.tls_key_sealed),
      system_path: h.system_path, images_path: h.images_path, launch_path: h.launch_path, nat_port_start: h.nat_port_start, nat_port_end: h.nat_port_end,
      ip_pools: h.ip_pools ?? [], options: h.options ?? {}, weight: h.weight,
    };
  }

  private hostQuery() {
    return this.knex('hosts as h').whereNull('h.deleted_at').select('h.*', this.knex.raw('(SELECT COUNT(*)::int FROM instances i WHERE i.host_id = h.id AND i.deleted_at IS NULL) AS instance_count'));
  }

  async listHosts(principal: Principal, q: { page: number; size: number; search?: string; engine_type?: string; enabled?: boolean }) {
    const query = this.hostQuery().orderBy('h.id');
    if (q.search) query.whereILike('h.name', likePattern(q.search));
    if (q.engine_type) query.where('h.engine_type', q.engine_type);
    if (q.enabled !== undefined) query.where('h.enabled', q.enabled);
    const { rows, pagination } = await paginateRows<Row>(query, q.page, q.size);
    return { hosts: rows.map((h) => this.presentHost(h, isAdmin(principal))), pagination };
  }

  async hostRow(id: number): Promise<Row> {
    const h = await this.hostQuery().where('h.id', id).first();
    if (!h) throw notFound('host', id);
    return h;
  }

  async findHostByName(name: string): Promise<Row | undefined> {
    return this.hostQuery().where('h.name', name).first();
  }

  async hostByName(name: string): Promise<Row> {
    const h = await this.findHostByName(name);
    if (!h) throw notFound('host', name);
    return h;
  }

  private sealed(v: string | null | undefined) {
    return v ? seal(v, this.deps.config.masterKey) : v === null || v === '' ? null : undefined;
  }

  private hostColumns(b: Partial<CreateHostBody>) {
    const cols: Row = {
      address: b.address, username: b.username, engine_type: b.engine_type, system_path: b.system_path, images_path: b.images_path, launch_path: b.launch_path,
      nat_port_start: b.nat_port_start, nat_port_end: b.nat_port_end,
      public_addresses: b.public_addresses && JSON.stringify(b.public_addresses), ip_pools: b.ip_pools && JSON.stringify(b.ip_pools),
      plans: b.plans && JSON.stringify(b.plans), options: b.options && JSON.stringify(b.options),
      instance_limit: b.instance_limit, weight: b.weight, enabled: b.enabled, use_agent: b.use_agent,
      password_sealed: this.sealed(b.password), private_key_sealed: this.sealed(b.private_key), tls_key_sealed: this.sealed(b.tls_key),
    };
    return Object.fromEntries(Object.entries(cols).filter(([, v]) => v !== undefined));
  }

  private checkEngine(type: EngineType | undefined) {
    if (!type) return;
    const info = ENGINES[type];
    if (!info.enabled) throw validationError([{ field: 'engine_type', message: info.reason ?? 'not available' }], `Engine ${type} is not available: ${info.reason}`);
  }

  async createHost(ctx: Koa.Context, principal: Principal, b: CreateHostBody) {
    this.checkEngine(b.engine_type);
    if (await this.knex('hosts').where({ name: b.name }).first('id')) throw conflict(`A host named ${b.name} already exists`, { field: 'name' });
    const [row] = await this.knex('hosts').insert({ name: b.name, ...this.hostColumns(b) }).returning('id');
    await audit(this.knex, ctx, principal, { module: 'compute', action: 'host_create', message: `Host ${b.name} added (${b.engine_type})`, resourceType: 'host', resourceId: row.id });
    return this.presentHost(await this.hostRow(row.id), true);
  }

  async updateHost(ctx: Koa.Context, principal: Principal, id: number, b: UpdateHostBody) {
    const host = await this.hostRow(id);
    this.checkEngine(b.engine_type);
    if (b.engine_type && b.engine_type !== host.engine_type && Number(host.instance_count) > 0) throw conflict(`Host ${host.name} has instances; its engine type cannot change`);
    const cols = this.hostColumns(b);
    await this.knex('hosts').where({ id }).update({ ...cols, updated_at: this.knex.fn.now() });
    await audit(this.knex, ctx, principal, { module: 'compute', action: 'host_update', message: `Host ${host.name} updated`, resourceType: 'host', resourceId: id, details: { fields: Object.keys(b) } });
    return this.presentHost(await this.hostRow(id), true);
  }

  async deleteHost(ctx: Koa.Context, principal: Principal, id: number) {
    const host = await this.hostRow(id);
    if (Number(host.instance_count) > 0) throw conflict(`Host ${host.name} still has ${host.instance_count} instances; delete them first`, { instances: Number(host.instance_count) });
    const active = await this.knex('operations').where({ host: host.name }).whereIn('status', ['pending', 'running']).first('id');
    if (active) throw conflict(`Operation ${active.id} is running on host ${host.name}`, { operation_id: active.id });
    await this.knex.transaction(async (trx) => {
      await trx('ip_allocations').where({ host_id: id }).delete();
      const left = await trx('instances').where({ host_id: id }).first('id');
      const suffix = `~deleted~${id}`; // frees the name; the column holds 64 characters
      if (left) await trx('hosts').where({ id }).update({ enabled: false, name: `${host.name.slice(0, 64 - suffix.length)}${suffix}`, deleted_at: trx.fn.now(), updated_at: trx.fn.now() });
      else await trx('hosts').where({ id }).delete();
    });
    await audit(this.knex, ctx, principal, { module: 'compute', action: 'host_delete', message: `Host ${host.name} deleted`, resourceType: 'host', resourceId: id });
    return { id, name: host.name, deleted: true };
  }

  async setHostEnabled(ctx: Koa.Context, principal: Principal, id: number, enabled: boolean) {
    const host = await this.hostRow(id);
    await this.knex('hosts').where({ id }).update({ enabled, updated_at: this.knex.fn.now() });
    await audit(this.knex, ctx, principal, { module: 'compute', action: enabled ? 'host_enable' : 'host_disable', message: `Host ${host.name} ${enabled ? 'enabled' : 'disabled'}`, resourceType: 'host', resourceId: id });
    return this.presentHost(await this.hostRow(id), isAdmin(principal));
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
    const status = await this.engineRead(host.id, 'host_stats');
    return { host: host.name, live: true, source: 'engine', status: status as Record<string, unknown>, at: new Date().toISOString() };
  }

  /** One bounded engine read through a short workflow (the API never calls an engine itself). */
  async engineRead(hostId: number, kind: 'host_stats' | 'status' | 'stats' | 'console', ref?: string): Promise<unknown> {
    const bounds = this.bounds;
    try {
      return await this.deps.temporal.workflow.execute('engineReadWorkflow', {
        workflowId: `engine-read-${kind}-${hostId}-${crypto.randomBytes(6).toString('hex')}`,
        taskQueue: this.deps.config.taskQueue,
        args: [{ hostId, kind, ref, ...bounds, agentWaitSeconds: Math.min(bounds.agentWaitSeconds, 10) }],
        workflowExecutionTimeout: `${Math.min(bounds.agentWaitSeconds, 10) + TIMEOUT_MARGIN_SECONDS}s`,
      });
    } catch (err) {
      throw readError(err);
    }
  }

  // ---- instances ----
  presentInstance(r: Row) {
    return {
      id: r.id, uuid: r.uuid, name: r.name, host: { id: r.host_id, name: r.host_name, engine_type: r.engine_type }, os_name: r.os_name, image: r.image, command: r.command ?? null,
      cpu: r.cpu, ram_mb: r.ram_mb, disk_gb: r.disk_gb, nics: r.nics ?? [], owner_id: r.owner_id, owners: r.owner_name ? [r.owner_name] : [],
      state: r.state, origin: r.origin, engine_ref: r.engine_ref, has_password: Boolean(r.password_sealed), usage: r.usage ?? null, usage_at: iso(r.usage_at),
      last_error: r.last_error && !r.last_error.previous_state ? r.last_error : null, created_at: iso(r.created_at), updated_at: iso(r.updated_at),
    };
  }

  private instanceQuery() {
    return this.knex('instances as i').join('hosts as h', 'h.id', 'i.host_id').leftJoin('users as u', 'u.id', 'i.owner_id')
      .whereNull('i.deleted_at').select('i.*', 'h.name as host_name', 'h.engine_type', 'u.username as owner_name');
  }

  /** Users see their own instances only; admins all. */
  private visible(principal: Principal) {
    const q = this.instanceQuery();
    if (!isAdmin(principal)) q.where('i.owner_id', principal.userId ?? -1);
    return q;
  }

  async listInstances(principal: Principal, q: z.infer<typeof listInstancesQuery> & { page: number; size: number }, engineType?: EngineType) {
    const query = this.visible(principal).orderBy('i.id');
    if (q.host_id) query.where('i.host_id', q.host_id);
    if (q.state) query.where('i.state', q.state);
    if (q.owner_id && isAdmin(principal)) query.where('i.owner_id', q.owner_id);
    if (q.search) query.where((w) => w.whereILike('i.name', likePattern(q.search!)).orWhereILike('i.uuid', likePattern(q.search!)));
    if (engineType) query.where('h.engine_type', engineType);
    const { rows, pagination } = await paginateRows<Row>(query, q.page, q.size);
    return { instances: rows.map((r) => this.presentInstance(r)), pagination };
  }

  async instanceRow(principal: Principal, id: number): Promise<Row> {
    const r = await this.visible(principal).where('i.id', id).first();
    if (!r) throw notFound('instance', id);
    return r;
  }

  async instanceByUuid(principal: Principal, uuid: string, hostId?: number): Promise<Row> {
    const q = this.visible(principal).where('i.uuid', uuid);
    if (hostId) q.where('i.host_id', hostId);
    const r = await q.first();
    if (!r) throw notFound('instance', uuid);
    return r;
  }

  /** Seed 000 names containers by name: the uuid or the display name of an instance on a docker host. */
  async containerByName(principal: Principal, name: string): Promise<Row> {
    const r = await this.visible(principal).where('h.engine_type', 'docker').where((w) => w.where('i.uuid', name).orWhere('i.name', name)).orderBy('i.id').first();
    if (!r) throw notFound('container', name);
    return r;
  }

  private idempotencyKey(ctx: Koa.Context) {
    return ctx.get('idempotency-key') || undefined;
  }

  private async start(ctx: Koa.Context, principal: Principal, o: { type: string; resource: { type: string; id: string | number; name: string }; host: string | null; workflow: string; args: object; request: unknown; params?: Record<string, unknown>; summary: string }) {
    const idempotencyKey = this.idempotencyKey(ctx);
    const replay = await this.operations.replay(principal, idempotencyKey, o.request);
    if (replay) return replay;
    return this.operations.start({ ...o, principal, idempotencyKey, args: { ...o.args, ...this.bounds } });
  }

  async createInstance(ctx: Koa.Context, principal: Principal, b: CreateInstanceBody, fixedHostId?: number) {
    const request = { ...b, password: b.password ? '[sealed]' : undefined, host_id: fixedHostId ?? b.host_id };
    const replay = await this.operations.replay(principal, this.idempotencyKey(ctx), request);
    if (replay) return replay;
    let host: Row | null = null;
    if (fixedHostId ?? b.host_id) host = await this.hostRow((fixedHostId ?? b.host_id)!);
    else if (b.host) host = await this.hostByName(b.host);
    if (host && !host.enabled) throw conflict(`Host ${host.name} is disabled`);
    if (host) this.checkEngine(host.engine_type);
    if (host?.engine_type === 'docker' && !b.image) throw validationError([{ field: 'image', message: 'is required on docker hosts' }]);
    if (b.owner_id && b.owner_id !== principal.userId && !isAdmin(principal)) throw forbidden('Only an admin may create an instance for another user');
    const uuid = b.uuid ?? `vm-${crypto.randomBytes(5).toString('hex')}`;
    if (await this.knex('instances').whereNull('deleted_at').where({ uuid }).first('id')) throw conflict(`An instance with uuid ${uuid} already exists`, { field: 'uuid' });
    const req: InstanceRequest = {
      uuid, name: b.name, hostId: host?.id ?? null, engineType: b.engine_type ?? null, ownerId: b.owner_id ?? principal.userId,
      osName: b.os_name ?? null, image: b.image ?? null, command: b.command ?? null, cpu: b.cpu, ramMb: b.ram_mb, diskGb: b.disk_gb,
      nics: (b.nics ?? []).map((n) => ({ ...n })),
    };
    return this.start(ctx, principal, {
      type: 'instance.create', resource: { type: 'instance', id: uuid, name: b.name }, host: host?.name ?? null, workflow: 'createInstanceWorkflow',
      args: { request: req, passwordSealed: b.password ? seal(b.password, this.deps.config.masterKey) : null }, request,
      params: { uuid, name: b.name, host: host?.name ?? null, cpu: b.cpu, ram_mb: b.ram_mb, disk_gb: b.disk_gb, image: b.image ?? null },
      summary: `Create instance ${uuid} (${b.cpu} CPU, ${b.ram_mb} MB)${host ? ` on ${host.name}` : ' by placement'}`,
    });
  }

  private instanceOp(ctx: Koa.Context, principal: Principal, inst: Row, type: string, workflow: string, args: object, request: unknown, summary: string) {
    return this.start(ctx, principal, {
      type, resource: { type: 'instance', id: inst.uuid, name: inst.name }, host: inst.host_name, workflow,
      args: { instanceId: inst.id, ...args }, request: { instance: inst.id, ...(request as object) }, params: { instance_id: inst.id, ...(request as object) }, summary,
    });
  }

  async deleteInstance(ctx: Koa.Context, principal: Principal, inst: Row) {
    return this.instanceOp(ctx, principal, inst, 'instance.delete', 'deleteInstanceWorkflow', {}, {}, `Delete instance ${inst.uuid} on ${inst.host_name}`);
  }

  async powerInstance(ctx: Koa.Context, principal: Principal, inst: Row, action: PowerAction) {
    if (!inst.engine_ref) throw conflict(`Instance ${inst.uuid} is ${inst.state} and has no engine instance yet`);
    return this.instanceOp(ctx, principal, inst, 'instance.power', 'powerInstanceWorkflow', { action }, { action }, `${action} instance ${inst.uuid} on ${inst.host_name}`);
  }

  async updateInstance(ctx: Koa.Context, principal: Principal, inst: Row, b: UpdateInstanceBody) {
    const changes = { name: b.name, cpu: b.cpu, ramMb: b.ram_mb, diskGb: b.disk_gb, image: b.image, osName: b.os_name };
    return this.instanceOp(ctx, principal, inst, 'instance.update', 'updateInstanceWorkflow', { changes }, b, `Update instance ${inst.uuid}: ${Object.keys(b).join(', ')}`);
  }

  async setInstancePassword(ctx: Koa.Context, principal: Principal, inst: Row, password: string) {
    if (!inst.engine_ref) throw conflict(`Instance ${inst.uuid} has no engine instance yet`);
    return this.instanceOp(ctx, principal, inst, 'instance.password', 'passwordInstanceWorkflow', { passwordSealed: seal(password, this.deps.config.masterKey) },
      { password: '[sealed]' }, `Set the OS password of instance ${inst.uuid}`);
  }

  async scanHost(ctx: Koa.Context, principal: Principal, host: Row) {
    return this.start(ctx, principal, {
      type: 'host.scan', resource: { type: 'host', id: host.id, name: host.name }, host: host.name, workflow: 'scanHostWorkflow',
      args: { hostId: host.id }, request: { scan: host.id }, summary: `Scan host ${host.name} for instances`,
    });
  }

  async instanceStatus(inst: Row) {
    let engine: unknown = null;
    let stats: unknown = null;
    if (inst.engine_ref) {
      engine = await this.engineRead(inst.host_id, 'status', inst.engine_ref);
      if (engine && (engine as { state?: string }).state === 'running') stats = await this.engineRead(inst.host_id, 'stats', inst.engine_ref).catch(() => null);
    }
    return {
      id: inst.id, uuid: inst.uuid, recorded_state: inst.state, state: (engine as { state?: string } | null)?.state ?? (inst.engine_ref ? 'missing' : inst.state),
      engine: engine as Record<string, unknown> | null, stats: stats as Record<string, unknown> | null, usage: inst.usage ?? null, usage_at: iso(inst.usage_at),
    };
  }

  /** The engine's console URL, or for a terminal the gateway's address with a single-use ticket (stored hashed). */
  async console(ctx: Koa.Context, principal: Principal, inst: Row): Promise<{ type: string; url: string; web_url?: string; expires_at: string | null }> {
    if (!inst.engine_ref) throw conflict(`Instance ${inst.uuid} has no engine instance yet`);
    const access = await this.engineRead(inst.host_id, 'console', inst.engine_ref) as { type: string; url: string; expires_at: string | null };
    if (access.type !== 'terminal') return access;
    const ticket = randomToken(32);
    const expiresAt = new Date(Date.now() + this.deps.config.console.ticketSeconds * 1000);
    await this.knex('console_sessions').insert({
      ticket_hash: sha256(ticket), user_id: principal.userId, instance_id: inst.id, host_id: inst.host_id, engine_ref: inst.engine_ref, gateway: access.url, expires_at: expiresAt,
    });
    await audit(this.knex, ctx, principal, { module: 'compute', action: 'console', message: `Console ticket for instance ${inst.uuid}`, resourceType: 'instance', resourceId: inst.id });
    const url = new URL(access.url);
    url.searchParams.set('ticket', ticket);
    ctx.set('Cache-Control', 'no-store');
    return { type: 'terminal', url: url.toString(), web_url: `/console#${encodeURIComponent(url.toString())}`, expires_at: expiresAt.toISOString() };
  }

  agentToken(inst: Row) {
    if (!inst.agent_token_sealed) throw notFound('agent token of instance', inst.id);
    return { uuid: inst.uuid, token: unseal(inst.agent_token_sealed, this.deps.config.masterKey), upload: '/api/client/upload' };
  }

  /** Usage from the instance's own agent, authenticated by its per-instance token. Never answers secrets. */
  async recordUsage(ctx: Koa.Context, body: z.infer<typeof usageReport>) {
    const token = body.token ?? (ctx.get('x-instance-token') || ctx.get('authorization').replace(/^Bearer\s+/i, '') || undefined);
    const fail = () => new AppError('INVALID_CREDENTIALS', 'A valid per-instance token is required (body "token" or X-Instance-Token)');
    if (!token) throw fail();
    const rows = await this.knex('instances').whereNull('deleted_at').where({ uuid: body.vm_uuid }).select('id', 'agent_token_sealed');
    const row = rows.find((r) => r.agent_token_sealed && safeEqual(unseal(r.agent_token_sealed, this.deps.config.masterKey), token));
    if (!row) throw fail();
    const { token: _t, vm_uuid: _v, ...usage } = body;
    await this.knex('instances').where({ id: row.id }).update({ usage: JSON.stringify(usage), usage_at: this.knex.fn.now() });
    return { vm_uuid: body.vm_uuid, received_at: new Date().toISOString() };
  }

  // ---- quotas and placement ----
  async quota(principal: Principal, userId: number) {
    if (!isAdmin(principal) && principal.userId !== userId) throw notFound('user', userId);
    const user = await this.knex('users').where({ id: userId }).whereNull('deleted_at').first('id', 'role');
    if (!user) throw notFound('user', userId);
    const quota = await quotaFor(this.knex, userId, this.deps.config.compute.defaultQuota);
    const custom = Boolean(await this.knex('user_quotas').where({ user_id: userId }).first('user_id'));
    return { user_id: userId, quota, used: await usageOf(this.knex, userId), source: custom ? 'user' : 'default', enforced: user.role !== 'admin' };
  }

  async setQuota(ctx: Koa.Context, principal: Principal, userId: number, q: z.infer<typeof quotaBody>) {
    if (!(await this.knex('users').where({ id: userId }).whereNull('deleted_at').first('id'))) throw notFound('user', userId);
    await this.knex('user_quotas').insert({ user_id: userId, ...q }).onConflict('user_id').merge({ ...q, updated_at: this.knex.fn.now() });
    await audit(this.knex, ctx, principal, { module: 'compute', action: 'quota_set', message: `Quota of user ${userId} set`, resourceType: 'user', resourceId: userId, details: q });
    return this.quota(principal, userId);
  }

  async loadBalancer() {
    const row = await this.knex('cluster_settings').where({ key: 'load_balancer' }).first();
    const v = (row?.value ?? {}) as { strategy?: PlacementStrategy; node_weights?: Record<string, number> };
    return { strategy: v.strategy ?? 'round_robin', node_weights: v.node_weights ?? {}, available_strategies: [...PLACEMENT_STRATEGIES] };
  }

  async setLoadBalancer(ctx: Koa.Context, principal: Principal, b: z.infer<typeof lbBody>) {
    const current = await this.loadBalancer();
    const value = { strategy: b.strategy ?? current.strategy, node_weights: b.node_weights ?? current.node_weights };
    await this.knex('cluster_settings').insert({ key: 'load_balancer', value: JSON.stringify(value) }).onConflict('key').merge({ value: JSON.stringify(value), updated_at: this.knex.fn.now() });
    await audit(this.knex, ctx, principal, { module: 'compute', action: 'load_balancer_set', message: `Load-balancer strategy ${value.strategy}`, details: value });
    return this.loadBalancer();
  }
}
