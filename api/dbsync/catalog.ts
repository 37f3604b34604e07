import dns from 'node:dns/promises';
import net from 'node:net';
import { z } from 'zod';
import { conflict, notFound, validationError, uniqueOr409 } from '../../shared/platform/errors';
import { seal } from '../../shared/platform/crypto';
import { DB_TYPE_INFO, DB_TYPES } from '../../shared/dbsync/types';
import { isPublicAddress } from '../../shared/webhooks/events';
import type { Viewer } from '../../db/queries/platform/scope';
import {
  credentialUsage, findCredential, insertCredential, listCredentialsQuery, softDeleteCredential, updateCredential, type CredentialPatch, type CredentialRow,
} from '../../db/queries/dbsync/credentials';
import {
  findInstance, insertInstance, instanceCounts, instanceSummary, instancesQuery, softDeleteInstance, sslOf, updateInstance, type InstanceListRow, type InstancePatch,
} from '../../db/queries/dbsync/instances';
import { visibleAccounts } from '../../db/queries/dbsync/accounts';
import type { AppDeps } from '../platform/deps';
import { likePattern } from '../platform/http/schemas';
import { audit } from '../platform/audit';
import type { Caller } from '../platform/caller';
import { viewerOf } from '../platform/auth/principal';
import { runConnectionTest } from './connection-test';

import { DbsyncBase } from './base';
import {
  adhocTestBody, credentialBody, credentialUpdate, instanceBody, instanceUpdate,
  listInstancesQuery, pageRows, sslMode, type ListQuery, type Row } from './schemas';
import { presentCredential, presentInstance, presentRecord } from './presenters';

/** How long the API waits for a name to resolve before an ad-hoc test (the worker's own connect timeout is separate). */
const RESOLVE_TIMEOUT_MS = 5000;

/**
 * Database types, credentials (sealed), instances and connection tests. Every row is its creator's: a non-admin sees
 * and changes only their own (another's is a 404), an admin all. A stored password goes only to the host, port and TLS
 * mode its credential was attached for (db_instances.credential_host/port/ssl), and only for its owner's instances.
 */
export class CatalogService extends DbsyncBase {
  constructor(deps: AppDeps) {
    super(deps);
  }

  // ----- database types -----
  listTypes() { return DB_TYPES.map((t) => DB_TYPE_INFO[t]); }
  activeTypes() { return DB_TYPES.filter((t) => DB_TYPE_INFO[t].is_active).map((t) => ({ name: t, display_name: DB_TYPE_INFO[t].display_name, default_port: DB_TYPE_INFO[t].default_port })); }
  async formOptions(viewer: Viewer) {
    const credentials = (await listCredentialsQuery(this.knex, viewer, { activeOnly: true }).clearOrder().orderBy('c.name')).map((c: CredentialRow) => ({ id: c.id, name: c.name, db_type: c.db_type, username: c.username }));
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
  async listCredentials(viewer: Viewer, q: ListQuery & { search?: string; db_type?: string }) {
    const query = listCredentialsQuery(this.knex, viewer, { search: q.search ? likePattern(q.search) : undefined, db_type: q.db_type });
    const { rows, pagination } = await pageRows(query, q);
    return { credentials: rows.map((r) => presentCredential(r, r.usage)), pagination };
  }

  async credential(viewer: Viewer, id: number): Promise<CredentialRow> {
    const c = await findCredential(this.knex, viewer, id);
    if (!c) throw notFound('credential', id);
    return c;
  }

  async getCredential(viewer: Viewer, id: number) {
    const c = await this.credential(viewer, id);
    return presentCredential(c as unknown as Row, (await credentialUsage(this.knex, id)).length);
  }

  async createCredential(caller: Caller, body: z.infer<typeof credentialBody>) {
    return uniqueOr409(async () => {
      const row = await insertCredential(this.knex, {
        name: body.name, credential_type: body.credential_type, db_type: body.db_type ?? null, username: body.username,
        password_sealed: seal(body.password, this.deps.config.masterKey), description: body.description ?? null, is_active: body.is_active, created_by: caller.principal.userId,
      });
      await this.audit(caller, 'credential_create', `Credential ${row.name} created`, 'db_credential', row.id);
      return presentCredential(row as unknown as Row);
    }, `You have a credential named ${body.name}`, 'name');
  }

  async updateCredential(caller: Caller, id: number, body: z.infer<typeof credentialUpdate>) {
    const viewer = viewerOf(caller.principal);
    await this.credential(viewer, id);
    const patch: CredentialPatch = {};
    for (const k of ['name', 'username', 'db_type', 'description', 'is_active'] as const) if (body[k] !== undefined) (patch as Row)[k] = body[k];
    if (body.password !== undefined) patch.password_sealed = seal(body.password, this.deps.config.masterKey);
    await uniqueOr409(async () => {
      if (!await updateCredential(this.knex, viewer, id, patch)) throw notFound('credential', id);
    }, `You have a credential named ${body.name}`, 'name');
    await this.audit(caller, 'credential_update', `Credential ${id} updated`, 'db_credential', id, { fields: Object.keys(body).map((k) => (k === 'password' ? 'password (changed)' : k)) });
    return this.getCredential(viewer, id);
  }

  async deleteCredential(caller: Caller, id: number) {
    const viewer = viewerOf(caller.principal);
    const c = await this.credential(viewer, id);
    const used = await credentialUsage(this.knex, id);
    if (used.length) throw conflict(`Credential ${c.name} is used by ${used.length} instance(s)`, { instances: used });
    if (!await softDeleteCredential(this.knex, viewer, id)) throw notFound('credential', id);
    await this.audit(caller, 'credential_delete', `Credential ${c.name} deleted`, 'db_credential', id);
    return { id, deleted: true };
  }

  // ----- instances -----
  async listInstances(viewer: Viewer, q: ListQuery & z.infer<typeof listInstancesQuery>) {
    const query = instancesQuery(this.knex, viewer).orderBy('i.id');
    if (q.search) query.where((w) => w.whereILike('i.name', likePattern(q.search!)).orWhereILike('i.host', likePattern(q.search!)));
    if (q.db_type) query.where('i.db_type', q.db_type);
    if (q.environment) query.where('i.environment', q.environment);
    if (q.status) query.where('i.status', q.status);
    if (q.is_active) query.where('i.is_active', q.is_active === 'true');
    const { rows, pagination } = await pageRows(query, q);
    return { instances: rows.map(presentInstance), pagination };
  }

  async instance(viewer: Viewer, id: number): Promise<InstanceListRow> {
    const row = await findInstance(this.knex, viewer, id);
    if (!row) throw notFound('instance', id);
    return row;
  }

  async getInstance(viewer: Viewer, id: number) {
    const row = await this.instance(viewer, id);
    const { lastSync, active, inactive } = await instanceSummary(this.knex, id);
    return {
      ...presentInstance(row as unknown as Row),
      accounts: { active, inactive },
      last_sync: lastSync ? presentRecord(lastSync) : null,
    };
  }

  /**
   * A credential an instance may use: one the instance's owner owns (another user's is a 404, whoever asks, an admin
   * included: a credential is used only by its owner's instances).
   */
  private async checkCredential(viewer: Viewer, ownerId: number | null, id: number | null | undefined) {
    if (id === undefined || id === null) return;
    const c = await findCredential(this.knex, viewer, id);
    if (!c || (c.created_by ?? null) !== ownerId) throw notFound('credential', id);
  }

  async createInstance(caller: Caller, body: z.infer<typeof instanceBody>) {
    const viewer = viewerOf(caller.principal);
    await this.checkCredential(viewer, caller.principal.userId, body.credential_id);
    const port = body.port ?? DB_TYPE_INFO[body.db_type].default_port;
    const ssl = body.ssl ?? (body.db_type === 'sqlserver' ? 'require' : body.db_type === 'mysql' ? 'disable' : 'prefer');
    return uniqueOr409(async () => {
      const id = await insertInstance(this.knex, {
        name: body.name, db_type: body.db_type, host: body.host, port,
        database_name: body.database_name ?? DB_TYPE_INFO[body.db_type].default_database, credential_id: body.credential_id ?? null,
        // The credential is bound to where it is saved now.
        credential_host: body.credential_id ? body.host : null, credential_port: body.credential_id ? port : null, credential_ssl: body.credential_id ? ssl : null,
        description: body.description ?? null, environment: body.environment, tags: JSON.stringify(body.tags),
        options: JSON.stringify({ ssl }), is_active: body.is_active, created_by: caller.principal.userId,
      });
      await this.audit(caller, 'instance_create', `Instance ${body.name} created`, 'db_instance', id, { db_type: body.db_type, host: body.host });
      return presentInstance(await this.instance(viewer, id) as unknown as Row);
    }, `You have an instance named ${body.name}`, 'name');
  }

  /**
   * Changing the host, port or TLS mode detaches the credential (its password was saved for the old address) unless
   * the same request attaches one, which binds it to the new address: only the instance's owner (or an admin) can
   * reach this, and only with a credential of the instance's owner.
   */
  async updateInstance(caller: Caller, id: number, body: z.infer<typeof instanceUpdate>) {
    const viewer = viewerOf(caller.principal);
    const current = await this.instance(viewer, id);
    await this.checkCredential(viewer, current.created_by ?? null, body.credential_id);
    const patch: InstancePatch = {};
    for (const k of ['name', 'db_type', 'host', 'port', 'database_name', 'credential_id', 'description', 'environment', 'is_active'] as const) if (body[k] !== undefined) (patch as Row)[k] = body[k];
    if (body.tags) patch.tags = JSON.stringify(body.tags);
    if (body.ssl) patch.options = JSON.stringify({ ...(current.options ?? {}), ssl: body.ssl });
    const next = { host: body.host ?? current.host, port: body.port ?? current.port, ssl: body.ssl ?? sslOf(current) };
    const moved = next.host !== current.host || next.port !== current.port || next.ssl !== sslOf(current);
    const attaching = body.credential_id !== undefined && body.credential_id !== null;
    if (attaching) Object.assign(patch, { credential_host: next.host, credential_port: next.port, credential_ssl: next.ssl });
    else if (moved || body.credential_id === null) Object.assign(patch, { credential_id: null, credential_host: null, credential_port: null, credential_ssl: null });
    await uniqueOr409(async () => {
      if (!await updateInstance(this.knex, viewer, id, patch)) throw notFound('instance', id);
    }, `You have an instance named ${body.name}`, 'name');
    await this.audit(caller, 'instance_update', `Instance ${current.name} updated`, 'db_instance', id, {
      fields: Object.keys(body), ...(moved && !attaching && current.credential_id ? { credential_detached: current.credential_id } : {}),
    });
    return presentInstance(await this.instance(viewer, id) as unknown as Row);
  }

  async deleteInstance(caller: Caller, id: number) {
    const viewer = viewerOf(caller.principal);
    const current = await this.instance(viewer, id);
    const suffix = `#deleted-${id}`; // frees the name; the column holds 100 characters
    if (!await softDeleteInstance(this.knex, viewer, id, `${current.name.slice(0, 100 - suffix.length)}${suffix}`)) throw notFound('instance', id);
    await this.audit(caller, 'instance_delete', `Instance ${current.name} deleted`, 'db_instance', id);
    return { id, deleted: true };
  }

  async instanceStatistics(viewer: Viewer) {
    const k = this.knex;
    const { totals, byType, byEnv } = await instanceCounts(k, viewer);
    const [accounts] = await visibleAccounts(k, viewer)
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
    const inst = await this.instance(viewerOf(caller.principal), id);
    const result = await runConnectionTest(this.deps, { instanceId: id }, this.deps.config.dbsync.connectTimeoutMs / 1000, `${inst.host}:${inst.port}`);
    await this.audit(caller, 'instance_test', `Connection test of ${inst.name}: ${result.success ? 'ok' : result.error_type}`, 'db_instance', id, { success: result.success, error_type: result.error_type });
    return { instance_id: id, ...result };
  }

  /**
   * Where a non-admin's ad-hoc test may go: a public address. The name is resolved here and the worker connects to
   * the address checked (no second lookup to rebind); a name that does not resolve answers as the worker would.
   */
  private async publicTarget(host: string): Promise<{ address: string } | { unresolved: string }> {
    const literal = host.replace(/^\[|\]$/g, '');
    let addresses: string[];
    if (net.isIP(literal)) addresses = [literal];
    else {
      try {
        const found = await Promise.race([
          dns.lookup(literal, { all: true, verbatim: true }),
          new Promise<never>((_, reject) => { setTimeout(() => reject(Object.assign(new Error(`no answer within ${RESOLVE_TIMEOUT_MS} ms`), { code: 'ETIMEOUT' })), RESOLVE_TIMEOUT_MS).unref(); }),
        ]);
        addresses = found.map((a) => a.address);
      } catch (err) {
        return { unresolved: `DNS lookup failed (${host}): ${(err as Error).message}` };
      }
    }
    const blocked = addresses.find((a) => !isPublicAddress(a));
    if (blocked !== undefined || !addresses.length) {
      throw validationError([{ field: 'host', message: `${host} ${literal === blocked ? 'is' : `resolves to ${blocked}, which is`} not a public address (loopback, private and link-local targets are for admins)` }]);
    }
    return { address: addresses[0] };
  }

  async testAdhoc(caller: Caller, body: z.infer<typeof adhocTestBody>) {
    const timeoutMs = (body.timeout ?? this.deps.config.dbsync.connectTimeoutMs / 1000) * 1000;
    const port = body.port ?? DB_TYPE_INFO[body.db_type].default_port;
    let address: string | undefined;
    if (!viewerOf(caller.principal).admin) {
      const target = await this.publicTarget(body.host);
      if ('unresolved' in target) return { success: false, error_type: 'dns', message: target.unresolved, server_version: null, latency_ms: 0 };
      address = target.address;
    }
    const adhoc = {
      db_type: body.db_type, host: body.host, port, database: body.database ?? DB_TYPE_INFO[body.db_type].default_database,
      username: body.username, sealedPassword: seal(body.password, this.deps.config.masterKey), ssl: body.ssl, ...(address ? { address } : {}),
    };
    const result = await runConnectionTest(this.deps, { adhoc, timeoutMs }, timeoutMs / 1000, `${body.host}:${adhoc.port}`);
    await audit(this.knex, caller, { module: 'dbsync', action: 'test_connection', message: `Connection test of ${body.db_type} ${body.host}:${adhoc.port}: ${result.success ? 'ok' : result.error_type}` });
    return result;
  }
}

