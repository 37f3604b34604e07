import { z } from 'zod';
import { conflict, notFound, validationError, uniqueOr409 } from '../../shared/platform/errors';
import { seal } from '../../shared/platform/crypto';
import { DB_TYPE_INFO, DB_TYPES } from '../../shared/dbsync/types';
import type { AppDeps } from '../platform/deps';
import {    likePattern } from '../platform/http/schemas';
import { audit } from '../platform/audit';
import type { Caller } from '../platform/caller';
import { runConnectionTest } from './connection-test';

import { DbsyncBase } from './base';
import {
  adhocTestBody,   credentialBody, credentialUpdate, instanceBody, instanceUpdate,  
  listInstancesQuery, pageRows, sslMode,   type ListQuery, type Row } from './schemas';
import {
      presentCredential, presentInstance,   presentRecord } from './presenters';

/** Database types, credentials (sealed), instances and connection tests. */
export class CatalogService extends DbsyncBase {
  constructor(deps: AppDeps) {
    super(deps);
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

  async createCredential(caller: Caller, body: z.infer<typeof credentialBody>) {
    return uniqueOr409(async () => {
      const [row] = await this.knex('db_credentials').insert({
        name: body.name, credential_type: body.credential_type, db_type: body.db_type ?? null, username: body.username,
        password_sealed: seal(body.password, this.deps.config.masterKey), description: body.description ?? null, is_active: body.is_active, created_by: caller.principal.userId,
      }).returning('*');
      await this.audit(caller, 'credential_create', `Credential ${row.name} created`, 'db_credential', row.id);
      return presentCredential(row);
    }, `A credential named ${body.name} exists`, 'name');
  }

  async updateCredential(caller: Caller, id: number, body: z.infer<typeof credentialUpdate>) {
    await this.credential(id);
    const patch: Row = { updated_at: this.knex.fn.now() };
    for (const k of ['name', 'username', 'db_type', 'description', 'is_active'] as const) if (body[k] !== undefined) patch[k] = body[k];
    if (body.password !== undefined) patch.password_sealed = seal(body.password, this.deps.config.masterKey);
    await uniqueOr409(async () => {
      await this.knex('db_credentials').where({ id }).update(patch);
    }, `A credential named ${body.name} exists`, 'name');
    await this.audit(caller, 'credential_update', `Credential ${id} updated`, 'db_credential', id, { fields: Object.keys(body).map((k) => (k === 'password' ? 'password (changed)' : k)) });
    return this.getCredential(id);
  }

  async deleteCredential(caller: Caller, id: number) {
    const c = await this.credential(id);
    const used = await this.knex('db_instances').where({ credential_id: id }).whereNull('deleted_at').select('id', 'name');
    if (used.length) throw conflict(`Credential ${c.name} is used by ${used.length} instance(s)`, { instances: used });
    await this.knex('db_credentials').where({ id }).update({ deleted_at: this.knex.fn.now(), is_active: false });
    await this.audit(caller, 'credential_delete', `Credential ${c.name} deleted`, 'db_credential', id);
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

  async createInstance(caller: Caller, body: z.infer<typeof instanceBody>) {
    await this.checkCredential(body.credential_id);
    return uniqueOr409(async () => {
      const [row] = await this.knex('db_instances').insert({
        name: body.name, db_type: body.db_type, host: body.host, port: body.port ?? DB_TYPE_INFO[body.db_type].default_port,
        database_name: body.database_name ?? DB_TYPE_INFO[body.db_type].default_database, credential_id: body.credential_id,
        description: body.description ?? null, environment: body.environment, tags: JSON.stringify(body.tags),
        options: JSON.stringify({ ssl: body.ssl ?? (body.db_type === 'sqlserver' ? 'require' : body.db_type === 'mysql' ? 'disable' : 'prefer') }),
        is_active: body.is_active, created_by: caller.principal.userId,
      }).returning('id');
      await this.audit(caller, 'instance_create', `Instance ${body.name} created`, 'db_instance', row.id, { db_type: body.db_type, host: body.host });
      return presentInstance(await this.instance(row.id));
    }, `An instance named ${body.name} exists`, 'name');
  }

  async updateInstance(caller: Caller, id: number, body: z.infer<typeof instanceUpdate>) {
    const current = await this.instance(id);
    await this.checkCredential(body.credential_id);
    const patch: Row = { updated_at: this.knex.fn.now() };
    for (const k of ['name', 'db_type', 'host', 'port', 'database_name', 'credential_id', 'description', 'environment', 'is_active'] as const) if (body[k] !== undefined) patch[k] = body[k];
    if (body.tags) patch.tags = JSON.stringify(body.tags);
    if (body.ssl) patch.options = JSON.stringify({ ...(current.options ?? {}), ssl: body.ssl });
    await uniqueOr409(async () => {
      await this.knex('db_instances').where({ id }).update(patch);
    }, `An instance named ${body.name} exists`, 'name');
    await this.audit(caller, 'instance_update', `Instance ${current.name} updated`, 'db_instance', id, { fields: Object.keys(body) });
    return presentInstance(await this.instance(id));
  }

  async deleteInstance(caller: Caller, id: number) {
    const current = await this.instance(id);
    const suffix = `#deleted-${id}`; // frees the name; the column holds 100 characters
    await this.knex('db_instances').where({ id }).update({ deleted_at: this.knex.fn.now(), is_active: false, name: `${current.name.slice(0, 100 - suffix.length)}${suffix}` });
    await this.audit(caller, 'instance_delete', `Instance ${current.name} deleted`, 'db_instance', id);
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
  async testInstance(caller: Caller, id: number) {
    const inst = await this.instance(id);
    const result = await runConnectionTest(this.deps, { instanceId: id }, this.deps.config.dbsync.connectTimeoutMs / 1000, `${inst.host}:${inst.port}`);
    await this.audit(caller, 'instance_test', `Connection test of ${inst.name}: ${result.success ? 'ok' : result.error_type}`, 'db_instance', id, { success: result.success, error_type: result.error_type });
    return { instance_id: id, ...result };
  }

  async testAdhoc(caller: Caller, body: z.infer<typeof adhocTestBody>) {
    const timeoutMs = (body.timeout ?? this.deps.config.dbsync.connectTimeoutMs / 1000) * 1000;
    const adhoc = {
      db_type: body.db_type, host: body.host, port: body.port ?? DB_TYPE_INFO[body.db_type].default_port, database: body.database ?? DB_TYPE_INFO[body.db_type].default_database,
      username: body.username, sealedPassword: seal(body.password, this.deps.config.masterKey), ssl: body.ssl,
    };
    const result = await runConnectionTest(this.deps, { adhoc, timeoutMs }, timeoutMs / 1000, `${body.host}:${adhoc.port}`);
    await audit(this.knex, caller, { module: 'dbsync', action: 'test_connection', message: `Connection test of ${body.db_type} ${body.host}:${adhoc.port}: ${result.success ? 'ok' : result.error_type}` });
    return result;
  }
}
