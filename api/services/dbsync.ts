import crypto from 'node:crypto';
import type Koa from 'koa';
import { z } from 'zod';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, WorkflowNotFoundError, type CalendarSpec } from '@temporalio/client';
import { AppError, conflict, notFound, validationError } from '../../shared/errors';
import { seal } from '../../shared/crypto';
import { CronError, parseCron } from '../../shared/dbsync/cron';
import { checkRuleExpr } from '../../shared/dbsync/rules';
import { DB_TYPE_INFO, DB_TYPES, RISK_LEVELS, TASK_TYPES, type DbType } from '../../shared/dbsync/types';
import { isUniqueViolation } from '../../db/knex';
import type { Knex } from 'knex';
import { searchAttributeKeys } from '../../shared/operations';
import type { AppDeps } from '../deps';
import type { Principal } from '../auth/principal';
import { dbId, dbIdValue, iso, likePattern, paginateRows } from '../http/schemas';
import { audit } from './audit';
import { OperationService } from './operations';
import type { TestConnectionResult } from '../../activities/dbsync/activities';

// ---------- request schemas ----------

/** A row id that fits PostgreSQL's integer columns (larger ones are a 422, not a database error). */
export const rowIdParams = z.object({ id: dbId });

const sslMode = z.enum(['disable', 'prefer', 'require', 'verify-full']);
const hostName = z.string().min(1, 'is required').max(255).regex(/^[A-Za-z0-9._:-]+$/, 'must be a host name or IP address');
const port = z.coerce.number().int().min(1, 'must be 1-65535').max(65535, 'must be 1-65535');

export const credentialBody = z.object({
  name: z.string().min(1, 'is required').max(100),
  username: z.string().min(1, 'is required').max(128),
  password: z.string().min(1, 'is required').max(1024),
  db_type: z.enum(DB_TYPES).nullable().optional(),
  credential_type: z.string().max(32).default('database'),
  description: z.string().max(1000).nullable().optional(),
  is_active: z.boolean().default(true),
}).strict();
export const credentialUpdate = credentialBody.partial().omit({ credential_type: true }).strict();

export const instanceBody = z.object({
  name: z.string().min(1, 'is required').max(100),
  db_type: z.enum(DB_TYPES),
  host: hostName,
  port: port.optional(),
  database_name: z.string().max(128).nullable().optional(),
  credential_id: dbIdValue,
  description: z.string().max(1000).nullable().optional(),
  environment: z.enum(['production', 'staging', 'development', 'testing']).default('production'),
  tags: z.array(z.string().max(50)).max(20).default([]),
  ssl: sslMode.optional(),
  is_active: z.boolean().default(true),
}).strict();
export const instanceUpdate = instanceBody.partial().strict();

export const listInstancesQuery = z.object({
  search: z.string().max(100).optional(),
  db_type: z.enum(DB_TYPES).optional(),
  environment: z.string().max(32).optional(),
  status: z.enum(['unknown', 'online', 'offline']).optional(),
  is_active: z.enum(['true', 'false']).optional(),
});

export const adhocTestBody = z.object({
  db_type: z.enum(DB_TYPES),
  host: hostName,
  port: port.optional(),
  username: z.string().min(1, 'is required').max(128),
  password: z.string().max(1024).default(''),
  database: z.string().max(128).nullable().optional(),
  ssl: sslMode.default('prefer'),
  timeout: z.number().int().min(1).max(60).optional().describe('seconds'),
});

export const startSyncBody = z.object({
  instance_ids: z.array(dbIdValue).max(1000).optional(),
  db_type: z.enum(DB_TYPES).optional(),
}).strict();

export const classificationBody = z.object({
  code: z.string().min(1, 'is required').max(64).regex(/^[a-z0-9_]+$/, 'may hold a-z, 0-9 and _ only'),
  name: z.string().min(1, 'is required').max(100),
  description: z.string().max(1000).nullable().optional(),
  risk_level: z.enum(RISK_LEVELS).default('low'),
  priority: z.number().int().min(0).max(1000).default(0),
  color: z.string().max(16).nullable().optional(),
  is_active: z.boolean().default(true),
}).strict();
export const classificationUpdate = classificationBody.omit({ code: true }).partial().strict();

export const ruleBody = z.object({
  name: z.string().min(1, 'is required').max(100),
  db_type: z.enum(DB_TYPES).nullable().optional(),
  expression: z.unknown(),
  is_active: z.boolean().default(true),
}).strict();
export const ruleUpdate = ruleBody.partial().strict();

/** An IANA time zone name (what Temporal Schedules accept). */
const timeZone = z.string().max(64).refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone name such as UTC or Asia/Shanghai');

export const jobBody = z.object({
  name: z.string().min(1, 'is required').max(100),
  task_type: z.enum(TASK_TYPES),
  db_type: z.enum(DB_TYPES).nullable().optional(),
  instance_ids: z.array(dbIdValue).max(1000).nullable().optional(),
  schedule: z.string().min(1, 'is required').max(128),
  timezone: timeZone.default('UTC'),
  description: z.string().max(1000).nullable().optional(),
  is_enabled: z.boolean().default(true),
}).strict();
export const jobUpdate = jobBody.partial().strict();

export const listQuery = z.object({
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  size: z.coerce.number().int().min(1).max(100).optional(),
  per_page: z.coerce.number().int().min(1).max(100).optional(),
});
export type ListQuery = z.infer<typeof listQuery>;
const pageOf = (q: ListQuery) => ({ page: q.page, size: q.size ?? q.per_page ?? 20 });

type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function pageRows(query: Knex.QueryBuilder, q: ListQuery) {
  const { page, size } = pageOf(q);
  return paginateRows<Row>(query, page, size);
}

// ---------- presenters ----------

export const presentCredential = (c: Row, usage = 0) => ({
  id: c.id, name: c.name, credential_type: c.credential_type, db_type: c.db_type ?? null, username: c.username,
  password: '********', has_password: true, description: c.description ?? null, is_active: c.is_active, instance_count: usage,
  created_at: iso(c.created_at), updated_at: iso(c.updated_at),
});

export const presentInstance = (i: Row) => ({
  id: i.id, name: i.name, db_type: i.db_type, host: i.host, port: i.port, database_name: i.database_name ?? null,
  credential_id: i.credential_id ?? null, credential_name: i.credential_name ?? null, description: i.description ?? null,
  environment: i.environment, tags: i.tags ?? [], ssl: i.options?.ssl ?? 'prefer', is_active: i.is_active, status: i.status,
  last_connected: iso(i.last_connected), last_error: i.last_error ?? null, server_version: i.server_version ?? null, last_sync_at: iso(i.last_sync_at),
  account_count: i.account_count !== undefined ? Number(i.account_count) : undefined,
  created_at: iso(i.created_at), updated_at: iso(i.updated_at),
});

export const presentSession = (s: Row) => ({
  id: s.id, session_id: s.id, sync_type: s.sync_type, sync_category: s.sync_category, status: s.status,
  total_instances: s.total_instances, successful_instances: s.successful_instances, failed_instances: s.failed_instances,
  cancelled_instances: s.cancelled_instances, created_by: s.created_by ?? null, job_id: s.job_id ?? null, operation_id: s.operation_id ?? null,
  filters: s.filters ?? {}, error: s.error ?? null, started_at: iso(s.started_at), completed_at: iso(s.completed_at),
});

export const presentRecord = (r: Row) => ({
  id: r.id, session_id: r.session_id, instance_id: r.instance_id, instance_name: r.instance_name, db_type: r.db_type, status: r.status,
  items_synced: r.items_synced, items_created: r.items_created, items_updated: r.items_updated, items_deleted: r.items_deleted,
  error_message: r.error_message ?? null, details: r.details ?? {}, started_at: iso(r.started_at), completed_at: iso(r.completed_at),
});

export const presentAccount = (a: Row) => ({
  id: a.id, instance_id: a.instance_id, instance_name: a.instance_name ?? undefined, db_type: a.db_type, account_key: a.account_key,
  username: a.username, host: a.host ?? null, is_superuser: a.is_superuser, is_locked: a.is_locked, can_login: a.can_login,
  capabilities: a.capabilities, roles: a.roles, privileges: a.privileges, attributes: a.attributes, is_active: a.is_active,
  classifications: a.classifications ?? undefined,
  first_seen_at: iso(a.first_seen_at), last_seen_at: iso(a.last_seen_at), last_change_at: iso(a.last_change_at), deactivated_at: iso(a.deactivated_at),
});

export const presentChange = (c: Row) => ({
  id: Number(c.id), instance_id: c.instance_id, account_id: c.account_id ?? null, account_key: c.account_key, change_type: c.change_type,
  diff: c.diff, session_id: c.session_id ?? null, message: c.message ?? null, changed_at: iso(c.changed_at),
});

export const presentClassification = (c: Row) => ({
  id: c.id, code: c.code, name: c.name, description: c.description ?? null, risk_level: c.risk_level, priority: c.priority,
  color: c.color ?? null, is_system: c.is_system, is_active: c.is_active, rule_count: c.rule_count !== undefined ? Number(c.rule_count) : undefined,
  account_count: c.account_count !== undefined ? Number(c.account_count) : undefined, created_at: iso(c.created_at), updated_at: iso(c.updated_at),
});

export const presentRule = (r: Row) => ({
  id: r.id, classification_id: r.classification_id, name: r.name, db_type: r.db_type ?? null, expression: r.expression,
  version: r.version, is_active: r.is_active, created_at: iso(r.created_at), updated_at: iso(r.updated_at),
});

export const presentBatch = (b: Row) => ({
  id: b.id, batch_id: b.id, batch_type: b.batch_type, status: b.status, total_accounts: b.total_accounts, matched_accounts: b.matched_accounts,
  total_matches: b.total_matches, rule_versions: b.rule_versions ?? {}, filters: b.filters ?? {}, created_by: b.created_by ?? null,
  job_id: b.job_id ?? null, operation_id: b.operation_id ?? null, error: b.error ?? null, started_at: iso(b.started_at), completed_at: iso(b.completed_at),
});

export const presentMatch = (m: Row) => ({
  id: Number(m.id), batch_id: m.batch_id, account_id: m.account_id, account_key: m.account_key, username: m.username, instance_id: m.instance_id,
  instance_name: m.instance_name, db_type: m.db_type, classification_id: m.classification_id, classification_code: m.code,
  classification_name: m.classification_name, risk_level: m.risk_level, rule_id: m.rule_id, rule_version: m.rule_version, matched_at: iso(m.matched_at),
});

export const presentJob = (j: Row, live?: { next_run_at: string | null; last_run_at: string | null; paused: boolean; note?: string | null; recent_runs?: number }) => ({
  id: j.id, job_id: j.id, name: j.name, task_type: j.task_type, db_type: j.db_type ?? null, instance_ids: j.instance_ids ?? null,
  schedule: j.schedule, timezone: j.timezone, calendars: j.calendars, description: j.description ?? null,
  is_enabled: j.is_enabled, is_paused: j.is_paused, state: !j.is_enabled ? 'disabled' : j.is_paused ? 'paused' : 'active',
  schedule_id: j.id, next_run_at: live?.next_run_at ?? null, last_run_at: live?.last_run_at ?? null, temporal_paused: live?.paused ?? null,
  created_by: j.created_by ?? null, created_at: iso(j.created_at), updated_at: iso(j.updated_at),
});

// ---------- the service ----------

export class DbsyncService {
  readonly operations: OperationService;
  constructor(private readonly deps: AppDeps) {
    this.operations = new OperationService(deps);
  }

  private get knex() { return this.deps.knex; }

  private audit(ctx: Koa.Context | null, principal: Principal, action: string, message: string, resourceType: string, resourceId: string | number, details: Record<string, unknown> = {}) {
    return audit(this.knex, ctx, principal, { module: 'dbsync', action, message, resourceType, resourceId, details });
  }

  // ----- database types -----
  listTypes() { return DB_TYPES.map((t) => DB_TYPE_INFO[t]); }
  activeTypes() { return DB_TYPES.filter((t) => DB_TYPE_INFO[t].is_active).map((t) => ({ name: t, display_name: DB_TYPE_INFO[t].display_name, default_port: DB_TYPE_INFO[t].default_port })); }
  async formOptions() {
    const credentials = await this.knex('db_credentials').whereNull('deleted_at').where({ is_active: true }).orderBy('name').select('id', 'name', 'db_type', 'username');
    return {
      db_types: DB_TYPES.map((t) => ({ value: t, label: DB_TYPE_INFO[t].display_name, default_port: DB_TYPE_INFO[t].default_port, default_database: DB_TYPE_INFO[t].default_database, fields: DB_TYPE_INFO[t].fields })),
      ports: Object.fromEntries(DB_TYPES.map((t) => [t, DB_TYPE_INFO[t].default_port])),
      default_databases: Object.fromEntries(DB_TYPES.map((t) => [t, DB_TYPE_INFO[t].default_database])),
      environments: ['production', 'staging', 'development', 'testing'],
      ssl_modes: sslMode.options,
      credentials,
    };
  }

  // ----- credentials -----
  async listCredentials(q: ListQuery & { search?: string; db_type?: string }) {
    const query = this.knex('db_credentials as c').whereNull('c.deleted_at').orderBy('c.id')
      .select('c.*', this.knex.raw('(select count(*) from db_instances i where i.credential_id = c.id and i.deleted_at is null)::int as usage'));
    if (q.search) query.where((w) => w.whereILike('c.name', likePattern(q.search!)).orWhereILike('c.username', likePattern(q.search!)));
    if (q.db_type) query.where('c.db_type', q.db_type);
    const { rows, pagination } = await pageRows(query, q);
    return { credentials: rows.map((r) => presentCredential(r, r.usage)), pagination };
  }

  async credential(id: number) {
    const c = await this.knex('db_credentials').where({ id }).whereNull('deleted_at').first();
    if (!c) throw notFound('credential', id);
    return c as Row;
  }

  async getCredential(id: number) {
    const c = await this.credential(id);
    const usage = await this.knex('db_instances').where({ credential_id: id }).whereNull('deleted_at').count<{ count: number }[]>('* as count');
    return presentCredential(c, Number(usage[0].count));
  }

  async createCredential(ctx: Koa.Context, principal: Principal, body: z.infer<typeof credentialBody>) {
    try {
      const [row] = await this.knex('db_credentials').insert({
        name: body.name, credential_type: body.credential_type, db_type: body.db_type ?? null, username: body.username,
        password_sealed: seal(body.password, this.deps.config.masterKey), description: body.description ?? null, is_active: body.is_active, created_by: principal.userId,
      }).returning('*');
      await this.audit(ctx, principal, 'credential_create', `Credential ${row.name} created`, 'db_credential', row.id);
      return presentCredential(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`A credential named ${body.name} exists`, { field: 'name' });
      throw err;
    }
  }

  async updateCredential(ctx: Koa.Context, principal: Principal, id: number, body: z.infer<typeof credentialUpdate>) {
    await this.credential(id);
    const patch: Row = { updated_at: this.knex.fn.now() };
    for (const k of ['name', 'username', 'db_type', 'description', 'is_active'] as const) if (body[k] !== undefined) patch[k] = body[k];
    if (body.password !== undefined) patch.password_sealed = seal(body.password, this.deps.config.masterKey);
    try {
      await this.knex('db_credentials').where({ id }).update(patch);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`A credential named ${body.name} exists`, { field: 'name' });
      throw err;
    }
    await this.audit(ctx, principal, 'credential_update', `Credential ${id} updated`, 'db_credential', id, { fields: Object.keys(body).map((k) => (k === 'password' ? 'password (changed)' : k)) });
    return this.getCredential(id);
  }

  async deleteCredential(ctx: Koa.Context, principal: Principal, id: number) {
    const c = await this.credential(id);
    const used = await this.knex('db_instances').where({ credential_id: id }).whereNull('deleted_at').select('id', 'name');
    if (used.length) throw conflict(`Credential ${c.name} is used by ${used.length} instance(s)`, { instances: used });
    await this.knex('db_credentials').where({ id }).update({ deleted_at: this.knex.fn.now(), is_active: false });
    await this.audit(ctx, principal, 'credential_delete', `Credential ${c.name} deleted`, 'db_credential', id);
    return { id, deleted: true };
  }

  // ----- instances -----
  private instanceQuery() {
    return this.knex('db_instances as i').leftJoin('db_credentials as c', 'c.id', 'i.credential_id').whereNull('i.deleted_at')
      .select('i.*', 'c.name as credential_name',
        this.knex.raw('(select count(*) from db_accounts a where a.instance_id = i.id and a.is_active)::int as account_count'));
  }

  async listInstances(q: ListQuery & z.infer<typeof listInstancesQuery>) {
    const query = this.instanceQuery().orderBy('i.id');
    if (q.search) query.where((w) => w.whereILike('i.name', likePattern(q.search!)).orWhereILike('i.host', likePattern(q.search!)));
    if (q.db_type) query.where('i.db_type', q.db_type);
    if (q.environment) query.where('i.environment', q.environment);
    if (q.status) query.where('i.status', q.status);
    if (q.is_active) query.where('i.is_active', q.is_active === 'true');
    const { rows, pagination } = await pageRows(query, q);
    return { instances: rows.map(presentInstance), pagination };
  }

  async instance(id: number) {
    const row = await this.instanceQuery().where('i.id', id).first();
    if (!row) throw notFound('instance', id);
    return row as Row;
  }

  async getInstance(id: number) {
    const row = await this.instance(id);
    const lastSync = await this.knex('sync_instance_records').where({ instance_id: id }).orderBy('id', 'desc').first();
    const byStatus = await this.knex('db_accounts').where({ instance_id: id }).groupBy('is_active').select('is_active', this.knex.raw('count(*)::int as n'));
    return {
      ...presentInstance(row),
      accounts: { active: byStatus.find((r) => r.is_active)?.n ?? 0, inactive: byStatus.find((r) => !r.is_active)?.n ?? 0 },
      last_sync: lastSync ? presentRecord(lastSync) : null,
    };
  }

  private async checkCredential(id: number | undefined) {
    if (id === undefined) return;
    const c = await this.knex('db_credentials').where({ id }).whereNull('deleted_at').first('id');
    if (!c) throw validationError([{ field: 'credential_id', message: `credential ${id} does not exist` }]);
  }

  async createInstance(ctx: Koa.Context, principal: Principal, body: z.infer<typeof instanceBody>) {
    await this.checkCredential(body.credential_id);
    try {
      const [row] = await this.knex('db_instances').insert({
        name: body.name, db_type: body.db_type, host: body.host, port: body.port ?? DB_TYPE_INFO[body.db_type].default_port,
        database_name: body.database_name ?? DB_TYPE_INFO[body.db_type].default_database, credential_id: body.credential_id,
        description: body.description ?? null, environment: body.environment, tags: JSON.stringify(body.tags),
        options: JSON.stringify({ ssl: body.ssl ?? (body.db_type === 'sqlserver' ? 'require' : body.db_type === 'mysql' ? 'disable' : 'prefer') }),
        is_active: body.is_active, created_by: principal.userId,
      }).returning('id');
      await this.audit(ctx, principal, 'instance_create', `Instance ${body.name} created`, 'db_instance', row.id, { db_type: body.db_type, host: body.host });
      return presentInstance(await this.instance(row.id));
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`An instance named ${body.name} exists`, { field: 'name' });
      throw err;
    }
  }

  async updateInstance(ctx: Koa.Context, principal: Principal, id: number, body: z.infer<typeof instanceUpdate>) {
    const current = await this.instance(id);
    await this.checkCredential(body.credential_id);
    const patch: Row = { updated_at: this.knex.fn.now() };
    for (const k of ['name', 'db_type', 'host', 'port', 'database_name', 'credential_id', 'description', 'environment', 'is_active'] as const) if (body[k] !== undefined) patch[k] = body[k];
    if (body.tags) patch.tags = JSON.stringify(body.tags);
    if (body.ssl) patch.options = JSON.stringify({ ...(current.options ?? {}), ssl: body.ssl });
    try {
      await this.knex('db_instances').where({ id }).update(patch);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`An instance named ${body.name} exists`, { field: 'name' });
      throw err;
    }
    await this.audit(ctx, principal, 'instance_update', `Instance ${current.name} updated`, 'db_instance', id, { fields: Object.keys(body) });
    return presentInstance(await this.instance(id));
  }

  async deleteInstance(ctx: Koa.Context, principal: Principal, id: number) {
    const current = await this.instance(id);
    const suffix = `#deleted-${id}`; // frees the name; the column holds 100 characters
    await this.knex('db_instances').where({ id }).update({ deleted_at: this.knex.fn.now(), is_active: false, name: `${current.name.slice(0, 100 - suffix.length)}${suffix}` });
    await this.audit(ctx, principal, 'instance_delete', `Instance ${current.name} deleted`, 'db_instance', id);
    return { id, deleted: true };
  }

  async instanceStatistics() {
    const k = this.knex;
    const [totals] = await k('db_instances').whereNull('deleted_at').select(
      k.raw('count(*)::int as total'), k.raw('count(*) filter (where is_active)::int as active'),
      k.raw("count(*) filter (where status = 'online')::int as online"), k.raw("count(*) filter (where status = 'offline')::int as offline"));
    const byType = await k('db_instances').whereNull('deleted_at').groupBy('db_type').select('db_type', k.raw('count(*)::int as n'));
    const byEnv = await k('db_instances').whereNull('deleted_at').groupBy('environment').select('environment', k.raw('count(*)::int as n'));
    const [accounts] = await k('db_accounts as a').join('db_instances as i', 'i.id', 'a.instance_id').whereNull('i.deleted_at')
      .select(k.raw('count(*)::int as total'), k.raw('count(*) filter (where a.is_active)::int as active'), k.raw('count(*) filter (where a.is_active and a.is_superuser)::int as superusers'));
    return {
      total_instances: totals.total, active_instances: totals.active, inactive_instances: totals.total - totals.active,
      online_instances: totals.online, offline_instances: totals.offline,
      by_db_type: Object.fromEntries(DB_TYPES.map((t) => [t, byType.find((r) => r.db_type === t)?.n ?? 0])),
      by_environment: Object.fromEntries(byEnv.map((r) => [r.environment, r.n])),
      total_accounts: accounts.total, active_accounts: accounts.active, superuser_accounts: accounts.superusers,
    };
  }

  // ----- test connection (runs on a worker) -----
  private async runTest(args: Record<string, unknown>, timeoutSeconds: number): Promise<TestConnectionResult> {
    const { temporal, config } = this.deps;
    try {
      return await temporal.workflow.execute('testConnectionWorkflow', {
        workflowId: `dbtest-${crypto.randomBytes(8).toString('hex')}`, taskQueue: config.taskQueue, args: [args],
        workflowExecutionTimeout: `${timeoutSeconds + 30}s`,
      }) as TestConnectionResult;
    } catch {
      throw new AppError('SERVICE_UNAVAILABLE', 'The connection test could not run: no worker answered');
    }
  }

  async testInstance(ctx: Koa.Context, principal: Principal, id: number) {
    const inst = await this.instance(id);
    const result = await this.runTest({ instanceId: id }, this.deps.config.dbsync.connectTimeoutMs / 1000);
    await this.audit(ctx, principal, 'instance_test', `Connection test of ${inst.name}: ${result.success ? 'ok' : result.error_type}`, 'db_instance', id, { success: result.success, error_type: result.error_type });
    return { instance_id: id, ...result };
  }

  async testAdhoc(ctx: Koa.Context, principal: Principal, body: z.infer<typeof adhocTestBody>) {
    const timeoutMs = (body.timeout ?? this.deps.config.dbsync.connectTimeoutMs / 1000) * 1000;
    const adhoc = {
      db_type: body.db_type, host: body.host, port: body.port ?? DB_TYPE_INFO[body.db_type].default_port, database: body.database ?? DB_TYPE_INFO[body.db_type].default_database,
      username: body.username, sealedPassword: seal(body.password, this.deps.config.masterKey), ssl: body.ssl,
    };
    const result = await this.runTest({ adhoc, timeoutMs }, timeoutMs / 1000);
    await audit(this.knex, ctx, principal, { module: 'dbsync', action: 'test_connection', message: `Connection test of ${body.db_type} ${body.host}:${adhoc.port}: ${result.success ? 'ok' : result.error_type}` });
    return result;
  }

  // ----- sync sessions -----
  async startSync(ctx: Koa.Context, principal: Principal, body: { instance_ids?: number[]; db_type?: DbType }, single?: number) {
    const idempotencyKey = ctx.get('idempotency-key') || undefined;
    const request = { ...body, single };
    const replay = await this.operations.replay(principal, idempotencyKey, request);
    if (replay) return replay;
    let name: string | null = null;
    if (single) name = (await this.instance(single)).name;
    else if (body.instance_ids?.length) {
      const found = await this.knex('db_instances').whereIn('id', body.instance_ids).whereNull('deleted_at').select('id');
      const missing = body.instance_ids.filter((i) => !found.some((f) => f.id === i));
      if (missing.length) throw validationError([{ field: 'instance_ids', message: `instances ${missing.join(', ')} do not exist` }]);
    }
    const syncType = single ? 'manual_single' : 'manual_batch';
    const started = await this.operations.start({
      type: 'dbsync.accounts',
      resource: single ? { type: 'db_instance', id: single, name } : { type: 'db_account_sync', id: body.db_type ?? (body.instance_ids ? `set-${crypto.randomBytes(4).toString('hex')}` : 'all'), name: 'account sync' },
      principal, idempotencyKey, request, params: { sync_type: syncType, ...body },
      workflow: 'syncSessionWorkflow',
      args: { syncType, instanceIds: single ? [single] : body.instance_ids ?? null, dbType: body.db_type ?? null, createdBy: principal.userId, jobId: null, concurrency: this.deps.config.dbsync.concurrency },
      summary: single ? `Sync accounts of instance ${name}` : `Sync accounts of ${body.instance_ids ? `${body.instance_ids.length} instances` : body.db_type ?? 'all instances'}`,
    });
    await this.knex('sync_sessions').insert({
      id: started.operation.id, sync_type: syncType, status: 'running', created_by: principal.userId, operation_id: started.operation.id,
      filters: JSON.stringify({ instance_ids: single ? [single] : body.instance_ids ?? null, db_type: body.db_type ?? null }),
    }).onConflict('id').ignore();
    if (!started.replayed) await this.audit(ctx, principal, 'sync_start', `Account sync ${started.operation.id} started`, 'sync_session', started.operation.id);
    return started;
  }

  async listSessions(q: ListQuery & { status?: string; sync_type?: string; job_id?: string }) {
    const query = this.knex('sync_sessions').orderBy('started_at', 'desc').orderBy('id');
    if (q.status) query.where({ status: q.status });
    if (q.sync_type) query.where({ sync_type: q.sync_type });
    if (q.job_id) query.where({ job_id: q.job_id });
    const { rows, pagination } = await pageRows(query, q);
    return { sessions: rows.map(presentSession), pagination };
  }

  async session(id: string) {
    const s = await this.knex('sync_sessions').where({ id }).first();
    if (!s) throw notFound('sync session', id);
    return s as Row;
  }

  async getSession(id: string) {
    const s = await this.session(id);
    const records = await this.knex('sync_instance_records').where({ session_id: id }).orderBy('id');
    const totals = records.reduce((t, r) => ({ synced: t.synced + r.items_synced, created: t.created + r.items_created, updated: t.updated + r.items_updated, deleted: t.deleted + r.items_deleted }), { synced: 0, created: 0, updated: 0, deleted: 0 });
    return { ...presentSession(s), items: { synced: totals.synced, created: totals.created, updated: totals.updated, deleted: totals.deleted }, records: records.map(presentRecord) };
  }

  async cancelSession(ctx: Koa.Context, principal: Principal, id: string) {
    const s = await this.session(id);
    if (s.status !== 'running') throw conflict(`Sync session ${id} has already ${s.status}`, { status: s.status });
    try {
      await this.deps.temporal.workflow.getHandle(id).cancel();
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw new AppError('SERVICE_UNAVAILABLE', 'The workflow engine is unavailable');
    }
    await this.audit(ctx, principal, 'sync_cancel', `Cancel of sync session ${id} requested`, 'sync_session', id);
    return { ...presentSession(s), cancel_requested: true };
  }

  async sessionErrors(id: string) {
    await this.session(id);
    const records = await this.knex('sync_instance_records').where({ session_id: id }).whereIn('status', ['failed', 'cancelled']).orderBy('id');
    return {
      session_id: id,
      error_count: records.length,
      error_logs: records.map((r) => ({ instance_id: r.instance_id, instance_name: r.instance_name, db_type: r.db_type, status: r.status, error_message: r.error_message, error_type: r.details?.error_type ?? null, completed_at: iso(r.completed_at) })),
    };
  }

  async syncStatistics() {
    const k = this.knex;
    const [s] = await k('sync_sessions').select(
      k.raw('count(*)::int as total'), k.raw("count(*) filter (where status = 'running')::int as running"),
      k.raw("count(*) filter (where status = 'completed')::int as completed"), k.raw("count(*) filter (where status = 'failed')::int as failed"),
      k.raw("count(*) filter (where status = 'cancelled')::int as cancelled"), k.raw("count(*) filter (where started_at > now() - interval '1 day')::int as last_24h"));
    const [r] = await k('sync_instance_records').select(
      k.raw('coalesce(sum(items_synced),0)::int as synced'), k.raw('coalesce(sum(items_created),0)::int as created'),
      k.raw('coalesce(sum(items_updated),0)::int as updated'), k.raw('coalesce(sum(items_deleted),0)::int as deleted'),
      k.raw("count(*) filter (where status = 'failed')::int as failed_records"));
    const byType = await k('sync_sessions').groupBy('sync_type').select('sync_type', k.raw('count(*)::int as n'));
    return {
      total_sessions: s.total, running_sessions: s.running, completed_sessions: s.completed, failed_sessions: s.failed, cancelled_sessions: s.cancelled,
      sessions_last_24h: s.last_24h, success_rate: s.total ? Math.round((s.completed / s.total) * 1000) / 10 : 0,
      by_sync_type: Object.fromEntries(byType.map((x) => [x.sync_type, x.n])),
      items: { synced: r.synced, created: r.created, updated: r.updated, deleted: r.deleted }, failed_instance_records: r.failed_records,
    };
  }

  // ----- accounts -----
  async listAccounts(q: ListQuery & { instance_id?: number; is_active?: string; classification?: string; search?: string; db_type?: string }) {
    const k = this.knex;
    const query = k('db_accounts as a').join('db_instances as i', 'i.id', 'a.instance_id').whereNull('i.deleted_at').orderBy('a.id')
      .select('a.*', 'i.name as instance_name', k.raw(`coalesce((select json_agg(json_build_object('id', c.id, 'code', c.code, 'name', c.name, 'risk_level', c.risk_level) order by c.priority desc)
        from account_classification_assignments x join account_classifications c on c.id = x.classification_id where x.account_id = a.id), '[]') as classifications`));
    if (q.instance_id) query.where('a.instance_id', q.instance_id);
    if (q.is_active) query.where('a.is_active', q.is_active === 'true');
    if (q.db_type) query.where('a.db_type', q.db_type);
    if (q.search) query.whereILike('a.account_key', likePattern(q.search));
    if (q.classification) query.whereExists(k('account_classification_assignments as x').join('account_classifications as c', 'c.id', 'x.classification_id').whereRaw('x.account_id = a.id').where('c.code', q.classification));
    const { rows, pagination } = await pageRows(query, q);
    return { accounts: rows.map(presentAccount), pagination };
  }

  async getAccount(id: number) {
    const a = await this.knex('db_accounts as a').join('db_instances as i', 'i.id', 'a.instance_id').where('a.id', id).first('a.*', 'i.name as instance_name');
    if (!a) throw notFound('account', id);
    return presentAccount(a);
  }

  async listChanges(q: ListQuery & { instance_id?: number; account_id?: number; change_type?: string; session_id?: string }) {
    const query = this.knex('account_change_log').orderBy('id', 'desc');
    if (q.instance_id) query.where({ instance_id: q.instance_id });
    if (q.account_id) query.where({ account_id: q.account_id });
    if (q.change_type) query.where({ change_type: q.change_type });
    if (q.session_id) query.where({ session_id: q.session_id });
    const { rows, pagination } = await pageRows(query, q);
    return { changes: rows.map(presentChange), pagination };
  }

  // ----- classification -----
  async listClassifications() {
    const k = this.knex;
    const rows = await k('account_classifications as c').orderBy('c.priority', 'desc').orderBy('c.id').select('c.*',
      k.raw('(select count(*) from classification_rules r where r.classification_id = c.id and r.is_active)::int as rule_count'),
      k.raw('(select count(*) from account_classification_assignments x join db_accounts a on a.id = x.account_id where x.classification_id = c.id and a.is_active)::int as account_count'));
    return { classifications: rows.map(presentClassification) };
  }

  async classification(id: number) {
    const c = await this.knex('account_classifications').where({ id }).first();
    if (!c) throw notFound('classification', id);
    return c as Row;
  }

  async getClassification(id: number) {
    const c = await this.classification(id);
    const rules = await this.knex('classification_rules').where({ classification_id: id }).orderBy('id');
    return { ...presentClassification(c), rules: rules.map(presentRule) };
  }

  async createClassification(ctx: Koa.Context, principal: Principal, body: z.infer<typeof classificationBody>) {
    try {
      const [row] = await this.knex('account_classifications').insert({ ...body, is_system: false }).returning('*');
      await this.audit(ctx, principal, 'classification_create', `Classification ${row.code} created`, 'classification', row.id);
      return presentClassification(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`A classification with code ${body.code} exists`, { field: 'code' });
      throw err;
    }
  }

  async updateClassification(ctx: Koa.Context, principal: Principal, id: number, body: z.infer<typeof classificationUpdate>) {
    await this.classification(id);
    const [row] = await this.knex('account_classifications').where({ id }).update({ ...body, updated_at: this.knex.fn.now() }).returning('*');
    await this.audit(ctx, principal, 'classification_update', `Classification ${row.code} updated`, 'classification', id, { fields: Object.keys(body) });
    return presentClassification(row);
  }

  async deleteClassification(ctx: Koa.Context, principal: Principal, id: number) {
    const c = await this.classification(id);
    if (c.is_system) throw conflict(`Classification ${c.code} is a system default; deactivate it instead`);
    await this.knex('account_classifications').where({ id }).delete();
    await this.audit(ctx, principal, 'classification_delete', `Classification ${c.code} deleted`, 'classification', id);
    return { id, deleted: true };
  }

  private checkExpression(expression: unknown) {
    const problem = checkRuleExpr(expression);
    if (problem) throw validationError([{ field: problem.path, message: problem.message }], `Invalid rule expression: ${problem.path} ${problem.message}`);
  }

  async createRule(ctx: Koa.Context, principal: Principal, classificationId: number, body: z.infer<typeof ruleBody>) {
    await this.classification(classificationId);
    this.checkExpression(body.expression);
    const row = await this.knex.transaction(async (trx) => {
      const [r] = await trx('classification_rules').insert({ classification_id: classificationId, name: body.name, db_type: body.db_type ?? null, expression: JSON.stringify(body.expression), is_active: body.is_active, created_by: principal.userId }).returning('*');
      await trx('classification_rule_versions').insert({ rule_id: r.id, version: 1, expression: JSON.stringify(body.expression), created_by: principal.userId });
      return r;
    });
    await this.audit(ctx, principal, 'rule_create', `Rule ${row.name} created`, 'classification_rule', row.id);
    return presentRule(row);
  }

  async rule(id: number) {
    const r = await this.knex('classification_rules').where({ id }).first();
    if (!r) throw notFound('rule', id);
    return r as Row;
  }

  async getRule(id: number) {
    const r = await this.rule(id);
    const versions = await this.knex('classification_rule_versions').where({ rule_id: id }).orderBy('version');
    return { ...presentRule(r), versions: versions.map((v) => ({ version: v.version, expression: v.expression, created_by: v.created_by ?? null, created_at: iso(v.created_at) })) };
  }

  async updateRule(ctx: Koa.Context, principal: Principal, id: number, body: z.infer<typeof ruleUpdate>) {
    const current = await this.rule(id);
    if (body.expression !== undefined) this.checkExpression(body.expression);
    const row = await this.knex.transaction(async (trx) => {
      const patch: Row = { updated_at: trx.fn.now() };
      for (const k of ['name', 'db_type', 'is_active'] as const) if (body[k] !== undefined) patch[k] = body[k];
      if (body.expression !== undefined && JSON.stringify(body.expression) !== JSON.stringify(current.expression)) {
        patch.expression = JSON.stringify(body.expression);
        patch.version = current.version + 1;
        await trx('classification_rule_versions').insert({ rule_id: id, version: current.version + 1, expression: JSON.stringify(body.expression), created_by: principal.userId });
      }
      const [r] = await trx('classification_rules').where({ id }).update(patch).returning('*');
      return r;
    });
    await this.audit(ctx, principal, 'rule_update', `Rule ${row.name} updated (version ${row.version})`, 'classification_rule', id);
    return presentRule(row);
  }

  async deleteRule(ctx: Koa.Context, principal: Principal, id: number) {
    const r = await this.rule(id);
    await this.knex('classification_rules').where({ id }).delete();
    await this.audit(ctx, principal, 'rule_delete', `Rule ${r.name} deleted`, 'classification_rule', id);
    return { id, deleted: true };
  }

  async startClassification(ctx: Koa.Context, principal: Principal, body: { instance_ids?: number[]; db_type?: DbType }) {
    const idempotencyKey = ctx.get('idempotency-key') || undefined;
    const replay = await this.operations.replay(principal, idempotencyKey, body);
    if (replay) return replay;
    const started = await this.operations.start({
      type: 'dbsync.classify', resource: { type: 'db_classification', id: 'accounts', name: 'account classification' }, principal, idempotencyKey, request: body,
      params: { ...body }, workflow: 'classifyAccountsWorkflow',
      args: { batchType: 'manual', instanceIds: body.instance_ids ?? null, dbType: body.db_type ?? null, createdBy: principal.userId, jobId: null },
      summary: 'Classify database accounts',
    });
    await this.knex('classification_batches').insert({ id: started.operation.id, batch_type: 'manual', status: 'running', created_by: principal.userId, operation_id: started.operation.id, filters: JSON.stringify({ instance_ids: body.instance_ids ?? null, db_type: body.db_type ?? null }) }).onConflict('id').ignore();
    return started;
  }

  async listBatches(q: ListQuery & { status?: string; job_id?: string }) {
    const query = this.knex('classification_batches').orderBy('started_at', 'desc').orderBy('id');
    if (q.status) query.where({ status: q.status });
    if (q.job_id) query.where({ job_id: q.job_id });
    const { rows, pagination } = await pageRows(query, q);
    return { batches: rows.map(presentBatch), pagination };
  }

  async getBatch(id: string) {
    const b = await this.knex('classification_batches').where({ id }).first();
    if (!b) throw notFound('classification batch', id);
    const byClass = await this.knex('classification_matches as m').join('account_classifications as c', 'c.id', 'm.classification_id').where('m.batch_id', id)
      .groupBy('c.id', 'c.code', 'c.name', 'c.risk_level').select('c.id', 'c.code', 'c.name', 'c.risk_level', this.knex.raw('count(*)::int as n')).orderBy('c.id');
    return { ...presentBatch(b), by_classification: byClass.map((r) => ({ classification_id: r.id, code: r.code, name: r.name, risk_level: r.risk_level, matches: r.n })) };
  }

  async batchMatches(id: string, q: ListQuery & { classification?: string; instance_id?: number }) {
    const b = await this.knex('classification_batches').where({ id }).first('id');
    if (!b) throw notFound('classification batch', id);
    const query = this.knex('classification_matches as m').join('db_accounts as a', 'a.id', 'm.account_id').join('db_instances as i', 'i.id', 'm.instance_id')
      .join('account_classifications as c', 'c.id', 'm.classification_id').where('m.batch_id', id).orderBy('m.id')
      .select('m.*', 'a.account_key', 'a.username', 'a.db_type', 'i.name as instance_name', 'c.code', 'c.name as classification_name', 'c.risk_level');
    if (q.classification) query.where('c.code', q.classification);
    if (q.instance_id) query.where('m.instance_id', q.instance_id);
    const { rows, pagination } = await pageRows(query, q);
    return { matches: rows.map(presentMatch), pagination };
  }

  // ----- jobs (Temporal Schedules) -----
  private parseSchedule(schedule: string) {
    try {
      return parseCron(schedule);
    } catch (err) {
      if (err instanceof CronError) throw validationError([{ field: `schedule.${err.field}`, message: err.message }], `Invalid cron expression: ${err.message}`);
      throw err;
    }
  }

  private scheduleSpec(calendars: unknown, timezone: string) {
    return { calendars: calendars as CalendarSpec[], timezone };
  }

  /** What each firing starts; runs are findable in the Temporal UI by workflow id prefix and search attributes. */
  private scheduleAction(jobId: string, name: string, taskType: string) {
    return {
      type: 'startWorkflow' as const, workflowType: 'scheduledJobWorkflow', args: [{ jobId }], taskQueue: this.deps.config.taskQueue, workflowId: `${jobId}-run`,
      staticSummary: `Scheduled job ${name} (${taskType})`.slice(0, 190),
      typedSearchAttributes: [
        { key: searchAttributeKeys.operationType, value: `dbsync.job.${taskType}` },
        { key: searchAttributeKeys.resourceType, value: 'job' },
        { key: searchAttributeKeys.resourceId, value: jobId },
      ],
    };
  }

  private temporalDown(err: unknown): never {
    if (err instanceof ScheduleNotFoundError) throw new AppError('CONFLICT', 'The job has no Temporal Schedule; update it to recreate the schedule');
    if (err instanceof AppError) throw err;
    throw new AppError('SERVICE_UNAVAILABLE', `The workflow engine refused the schedule change: ${(err as Error).message}`);
  }

  async listJobs(q: ListQuery & { task_type?: string; state?: string }) {
    const query = this.knex('scheduled_jobs').orderBy('created_at').orderBy('id');
    if (q.task_type) query.where({ task_type: q.task_type });
    if (q.state === 'disabled') query.where({ is_enabled: false });
    if (q.state === 'paused') query.where({ is_enabled: true, is_paused: true });
    if (q.state === 'active') query.where({ is_enabled: true, is_paused: false });
    const { rows, pagination } = await pageRows(query, q);
    return { jobs: rows.map((j) => presentJob(j)), pagination };
  }

  async job(id: string) {
    const j = await this.knex('scheduled_jobs').where({ id }).first();
    if (!j) throw notFound('job', id);
    return j as Row;
  }

  async getJob(id: string) {
    const j = await this.job(id);
    let live;
    try {
      const d = await this.deps.temporal.withDeadline(Date.now() + 2000, () => this.deps.temporal.schedule.getHandle(id).describe());
      live = {
        next_run_at: d.info.nextActionTimes[0]?.toISOString() ?? null,
        last_run_at: d.info.recentActions.at(-1)?.takenAt?.toISOString() ?? null,
        paused: d.state.paused, note: d.state.note ?? null,
      };
    } catch {
      live = undefined;
    }
    return { ...presentJob(j, live), history: (await this.jobHistory(id, { page: 1, size: 10 })).runs };
  }

  async createJob(ctx: Koa.Context, principal: Principal, body: z.infer<typeof jobBody>) {
    const parsed = this.parseSchedule(body.schedule);
    const id = `job-${crypto.randomBytes(6).toString('hex')}`;
    const row = {
      id, name: body.name, task_type: body.task_type, db_type: body.db_type ?? null, instance_ids: body.instance_ids ? JSON.stringify(body.instance_ids) : null,
      schedule: body.schedule.trim(), calendars: JSON.stringify(parsed.calendars), timezone: body.timezone, description: body.description ?? null,
      is_enabled: body.is_enabled, is_paused: false, created_by: principal.userId,
    };
    await this.knex('scheduled_jobs').insert(row);
    try {
      await this.deps.temporal.schedule.create({
        scheduleId: id,
        spec: this.scheduleSpec(parsed.calendars, body.timezone),
        action: this.scheduleAction(id, body.name, body.task_type),
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
        state: { paused: !body.is_enabled, note: body.is_enabled ? `created by ${principal.username}` : 'disabled' },
        memo: { job_name: body.name, task_type: body.task_type },
      });
    } catch (err) {
      await this.knex('scheduled_jobs').where({ id }).delete();
      this.temporalDown(err);
    }
    await this.audit(ctx, principal, 'job_create', `Job ${body.name} created (${body.schedule})`, 'job', id);
    return presentJob(await this.job(id));
  }

  async updateJob(ctx: Koa.Context, principal: Principal, id: string, body: z.infer<typeof jobUpdate>) {
    const current = await this.job(id);
    const schedule = body.schedule?.trim() ?? current.schedule;
    const parsed = this.parseSchedule(schedule);
    const timezone = body.timezone ?? current.timezone;
    const patch: Row = { schedule, calendars: JSON.stringify(parsed.calendars), timezone, updated_at: this.knex.fn.now() };
    for (const k of ['name', 'task_type', 'db_type', 'description', 'is_enabled'] as const) if (body[k] !== undefined) patch[k] = body[k];
    if (body.instance_ids !== undefined) patch.instance_ids = body.instance_ids ? JSON.stringify(body.instance_ids) : null;
    const enabled = body.is_enabled ?? current.is_enabled;
    try {
      const handle = this.deps.temporal.schedule.getHandle(id);
      await handle.update((prev) => ({ ...prev, spec: this.scheduleSpec(parsed.calendars, timezone), action: this.scheduleAction(id, body.name ?? current.name, body.task_type ?? current.task_type), state: { ...prev.state, paused: !enabled || current.is_paused } }));
    } catch (err) {
      this.temporalDown(err);
    }
    await this.knex('scheduled_jobs').where({ id }).update(patch);
    await this.audit(ctx, principal, 'job_update', `Job ${current.name} updated`, 'job', id, { fields: Object.keys(body) });
    return presentJob(await this.job(id));
  }

  async deleteJob(ctx: Koa.Context, principal: Principal, id: string) {
    const current = await this.job(id);
    try {
      await this.deps.temporal.schedule.getHandle(id).delete();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) this.temporalDown(err);
    }
    await this.knex('scheduled_jobs').where({ id }).delete();
    await this.audit(ctx, principal, 'job_delete', `Job ${current.name} deleted`, 'job', id);
    return { id, job_id: id, deleted: true };
  }

  /** enable/disable and pause/resume are both a paused Temporal Schedule; the schedule runs only when enabled and not paused. */
  async setJobState(ctx: Koa.Context, principal: Principal, id: string, change: 'enable' | 'disable' | 'pause' | 'resume') {
    const current = await this.job(id);
    const next = { is_enabled: current.is_enabled as boolean, is_paused: current.is_paused as boolean };
    if (change === 'enable') next.is_enabled = true;
    if (change === 'disable') next.is_enabled = false;
    if (change === 'pause') next.is_paused = true;
    if (change === 'resume') next.is_paused = false;
    const runs = next.is_enabled && !next.is_paused;
    try {
      const handle = this.deps.temporal.schedule.getHandle(id);
      if (runs) await handle.unpause(`${change} by ${principal.username}`);
      else await handle.pause(`${change === 'disable' || !next.is_enabled ? 'disabled' : 'paused'} by ${principal.username}`);
    } catch (err) {
      this.temporalDown(err);
    }
    await this.knex('scheduled_jobs').where({ id }).update({ ...next, updated_at: this.knex.fn.now() });
    await this.audit(ctx, principal, `job_${change}`, `Job ${current.name}: ${change}`, 'job', id);
    return presentJob(await this.job(id));
  }

  async runJobNow(ctx: Koa.Context, principal: Principal, id: string) {
    const current = await this.job(id);
    try {
      await this.deps.temporal.schedule.getHandle(id).trigger(ScheduleOverlapPolicy.ALLOW_ALL);
    } catch (err) {
      this.temporalDown(err);
    }
    await this.audit(ctx, principal, 'job_run', `Job ${current.name} run now`, 'job', id);
    return { job_id: id, triggered: true, triggered_at: new Date().toISOString() };
  }

  async jobHistory(id: string, q: ListQuery) {
    await this.job(id);
    const k = this.knex;
    const union = k.select(k.raw("id, 'sync_session' as kind, status, started_at, completed_at, total_instances as total, successful_instances as succeeded, failed_instances as failed, error")).from('sync_sessions').where({ job_id: id })
      .unionAll(k.select(k.raw("id, 'classification_batch' as kind, status, started_at, completed_at, total_accounts as total, matched_accounts as succeeded, 0 as failed, error")).from('classification_batches').where({ job_id: id }));
    const query = k.from(union.as('h')).orderBy('started_at', 'desc');
    const { rows, pagination } = await pageRows(query, q);
    return {
      job_id: id,
      runs: rows.map((r) => ({
        id: r.id, kind: r.kind, status: r.status, started_at: iso(r.started_at), completed_at: iso(r.completed_at), error: r.error ?? null,
        ...(r.kind === 'sync_session' ? { session_id: r.id, total_instances: r.total, successful_instances: r.succeeded, failed_instances: r.failed } : { batch_id: r.id, total_accounts: r.total, matched_accounts: r.succeeded }),
      })),
      pagination,
    };
  }
}
