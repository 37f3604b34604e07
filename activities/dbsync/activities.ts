import { ApplicationFailure, Context } from '@temporalio/activity';

import { unseal } from '../../shared/platform/crypto';
import { evaluateRule, type RuleExpr } from '../../shared/dbsync/rules';
import type { DbType, RemoteAccount } from '../../shared/dbsync/types';
import type { ActivityDeps } from '../platform/deps';
import { DbConnectError, testConnection, type ConnectionInfo } from './drivers';
import { readAccounts } from './account-readers';
import { connectionTarget, markInstance, sslOf, syncableInstances } from '../../db/queries/dbsync/instances';
import { classifiableAccounts } from '../../db/queries/dbsync/accounts';
import { activeRules, ruleAppliesTo } from '../../db/queries/dbsync/classifications';
import { jobById } from '../../db/queries/dbsync/jobs';
import { viewerForUser } from '../../db/queries/dbsync/owners';

export interface AdhocTarget {
  db_type: DbType;
  host: string;
  port: number;
  database: string | null;
  username: string;
  /** Sealed with the master key by the API: never clear text in workflow histories. */
  sealedPassword: string;
  /** The address the API resolved and checked (a non-admin's test): connect there, with no second lookup. */
  address?: string;
  ssl: ConnectionInfo['ssl'];
}

export interface TestConnectionResult {
  success: boolean;
  error_type: string | null;
  message: string;
  server_version: string | null;
  latency_ms: number;
}

export interface SyncRecordResult {
  instanceId: number;
  status: 'completed' | 'failed';
  items_synced: number;
  items_created: number;
  items_updated: number;
  items_deleted: number;
  error: string | null;
}

const heartbeat = (d?: unknown) => { try { Context.current().heartbeat(d); } catch { /* not in an activity */ } };

type Snapshot = Pick<RemoteAccount, 'is_superuser' | 'is_locked' | 'can_login' | 'capabilities' | 'roles' | 'privileges' | 'attributes' | 'username' | 'host'>;
const PRIV_FIELDS = ['is_superuser', 'capabilities', 'roles', 'privileges'] as const;
const OTHER_FIELDS = ['is_locked', 'can_login', 'attributes', 'username', 'host'] as const;
/** JSON with sorted keys: jsonb does not keep key order, so comparisons must not depend on it. */
function canon(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (typeof v === 'object') return `{${Object.keys(v as object).sort().map((k) => `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/** Field-level diff between the stored snapshot and the remote one: {field: {old, new}}; privileges also as added/removed lists. */
export function diffAccount(before: Snapshot, after: Snapshot, fields: readonly (keyof Snapshot)[]) {
  const diff: Record<string, unknown> = {};
  for (const f of fields) {
    if (canon(before[f]) === canon(after[f])) continue;
    if (Array.isArray(before[f]) && Array.isArray(after[f])) {
      const b = (before[f] as unknown[]).map(canon);
      const a = (after[f] as unknown[]).map(canon);
      diff[f] = { added: a.filter((x) => !b.includes(x)).map((x) => JSON.parse(x)), removed: b.filter((x) => !a.includes(x)).map((x) => JSON.parse(x)) };
    } else diff[f] = { old: before[f], new: after[f] };
  }
  return diff;
}

export function createDbsyncActivities({ knex, config, logger }: ActivityDeps) {
  /**
   * What to connect to for an instance: refused (before any connection) unless its credential is its owner's and
   * still bound to the instance's host, port and TLS mode (db/queries/dbsync/instances.ts connectionTarget).
   */
  async function connectionInfo(instanceId: number): Promise<{ info: ConnectionInfo; name: string }> {
    const target = await connectionTarget(knex, instanceId);
    if (!target) throw ApplicationFailure.nonRetryable(`database instance ${instanceId} not found`, 'RESOURCE_NOT_FOUND');
    if (!target.ok) throw new DbConnectError('auth', target.problem);
    const { instance: inst, credential: cred } = target;
    return {
      name: inst.name,
      info: {
        db_type: inst.db_type as DbType, host: inst.host, port: inst.port, database: inst.database_name, username: cred.username,
        password: unseal(cred.password_sealed, config.masterKey), ssl: sslOf(inst) as ConnectionInfo['ssl'],
        timeoutMs: config.dbsync.connectTimeoutMs,
      },
    };
  }

  return {
    async dbTestConnection(input: { instanceId?: number; adhoc?: AdhocTarget; timeoutMs?: number }): Promise<TestConnectionResult> {
      const started = Date.now();
      let info: ConnectionInfo;
      try {
        if (input.instanceId) {
          try {
            info = (await connectionInfo(input.instanceId)).info;
          } catch (err) {
            if (err instanceof DbConnectError) await markInstance(knex, input.instanceId, false, null, err.message);
            throw err;
          }
        }
        else {
          const a = input.adhoc!;
          info = { ...a, password: unseal(a.sealedPassword, config.masterKey), timeoutMs: config.dbsync.connectTimeoutMs };
        }
      } catch (err) {
        if (err instanceof DbConnectError) return { success: false, error_type: err.kind, message: err.message, server_version: null, latency_ms: 0 };
        throw err;
      }
      if (input.timeoutMs) info.timeoutMs = input.timeoutMs;
      try {
        const r = await testConnection(info);
        if (input.instanceId) await markInstance(knex, input.instanceId, true, r.server_version, null);
        return { success: true, error_type: null, message: `Connected to ${r.server_version}`, server_version: r.server_version, latency_ms: r.latency_ms };
      } catch (err) {
        const e = err instanceof DbConnectError ? err : new DbConnectError('unknown', 'connection failed');
        if (input.instanceId) await markInstance(knex, input.instanceId, false, null, e.message);
        return { success: false, error_type: e.kind, message: e.message, server_version: null, latency_ms: Date.now() - started };
      }
    },

    /** Creates the session and one pending record per instance; repeating it changes nothing. */
    async createSyncSession(input: { sessionId: string; syncType: string; createdBy: number | null; jobId?: string | null; operationId?: string | null; instanceIds?: number[] | null; dbType?: string | null }) {
      return knex.transaction(async (trx) => {
        await trx('sync_sessions').insert({
          id: input.sessionId, sync_type: input.syncType, sync_category: 'account', status: 'running', created_by: input.createdBy,
          job_id: input.jobId ?? null, operation_id: input.operationId ?? null,
          filters: JSON.stringify({ instance_ids: input.instanceIds ?? null, db_type: input.dbType ?? null }),
        }).onConflict('id').ignore();
        const existing = await trx('sync_instance_records').where({ session_id: input.sessionId }).orderBy('id');
        if (existing.length) return { instances: existing.map((r) => ({ id: r.instance_id as number, name: r.instance_name as string, status: r.status as string })) };
        // A session covers its starter's instances only (an admin's: all).
        const instances = await syncableInstances(trx, await viewerForUser(trx, input.createdBy), { instanceIds: input.instanceIds, dbType: input.dbType });
        if (instances.length) {
          await trx('sync_instance_records').insert(instances.map((i) => ({ session_id: input.sessionId, instance_id: i.id, instance_name: i.name, db_type: i.db_type, status: 'pending' })))
            .onConflict(['session_id', 'instance_id']).ignore();
        }
        await trx('sync_sessions').where({ id: input.sessionId }).update({ total_instances: instances.length, updated_at: trx.fn.now() });
        return { instances: instances.map((i) => ({ id: i.id as number, name: i.name as string, status: 'pending' })) };
      });
    },

    /**
     * Syncs one instance's accounts for one session, exactly once: a record already finished returns its result;
     * the accounts, the change log and the record are written in one transaction.
     */
    async syncInstanceAccounts({ sessionId, instanceId }: { sessionId: string; instanceId: number }): Promise<SyncRecordResult> {
      const record = await knex('sync_instance_records').where({ session_id: sessionId, instance_id: instanceId }).first();
      if (!record) throw ApplicationFailure.nonRetryable(`no sync record for instance ${instanceId} in session ${sessionId}`, 'RESOURCE_NOT_FOUND');
      const done = (r: Record<string, unknown>): SyncRecordResult => ({
        instanceId, status: r.status as 'completed' | 'failed', items_synced: r.items_synced as number, items_created: r.items_created as number,
        items_updated: r.items_updated as number, items_deleted: r.items_deleted as number, error: (r.error_message as string) ?? null,
      });
      if (record.status === 'completed' || record.status === 'failed') return done(record);
      if (record.status === 'cancelled') return { ...done(record), status: 'failed', error: 'cancelled' };
      await knex('sync_instance_records').where({ id: record.id }).update({ status: 'running', started_at: knex.raw('coalesce(started_at, now())'), attempts: knex.raw('attempts + 1') });
      heartbeat('connecting');

      let remote: { version: string; accounts: RemoteAccount[] };
      try {
        const { info } = await connectionInfo(instanceId);
        remote = await readAccounts(info);
      } catch (err) {
        if (!(err instanceof DbConnectError)) throw err;
        await knex.transaction(async (trx) => {
          await trx('sync_instance_records').where({ id: record.id }).update({ status: 'failed', error_message: err.message, details: JSON.stringify({ error_type: err.kind }), completed_at: trx.fn.now() });
          await trx('db_instances').where({ id: instanceId }).update({ status: 'offline', last_error: err.message, updated_at: trx.fn.now() });
        });
        logger.warn({ sessionId, instanceId, kind: err.kind }, 'account sync failed');
        return done((await knex('sync_instance_records').where({ id: record.id }).first())!);
      }
      heartbeat('writing');

      return knex.transaction(async (trx) => {
        // Claim the record inside the transaction: only one attempt may write it.
        const claimed = await trx('sync_instance_records').where({ id: record.id }).forUpdate().first();
        if (claimed.status === 'completed' || claimed.status === 'failed') return done(claimed);
        const inst = await trx('db_instances').where({ id: instanceId }).first('db_type');
        const stored = await trx('db_accounts').where({ instance_id: instanceId });
        const byKey = new Map(stored.map((a) => [a.account_key as string, a]));
        const seen = new Set<string>();
        let created = 0;
        let updated = 0;
        let deleted = 0;
        const log = (account_id: number | null, account_key: string, change_type: string, diff: Record<string, unknown>, message: string) =>
          trx('account_change_log').insert({ instance_id: instanceId, account_id, account_key, change_type, diff: JSON.stringify(diff), session_id: sessionId, message });
        const columns = (a: RemoteAccount) => ({
          username: a.username, host: a.host, is_superuser: a.is_superuser, is_locked: a.is_locked, can_login: a.can_login,
          capabilities: JSON.stringify(a.capabilities), roles: JSON.stringify(a.roles), privileges: JSON.stringify(a.privileges), attributes: JSON.stringify(a.attributes),
        });
        for (const a of remote.accounts) {
          seen.add(a.key);
          const old = byKey.get(a.key);
          if (!old) {
            const [row] = await trx('db_accounts').insert({ instance_id: instanceId, db_type: inst.db_type, account_key: a.key, ...columns(a), last_seen_at: trx.fn.now(), last_change_at: trx.fn.now() }).returning('id');
            await log(row.id, a.key, 'add', { account: { ...a } }, `Account ${a.key} found`);
            created++;
            continue;
          }
          const reactivated = !old.is_active;
          const privDiff = diffAccount(old as Snapshot, a, PRIV_FIELDS);
          const otherDiff = diffAccount(old as Snapshot, a, OTHER_FIELDS);
          if (reactivated) otherDiff.is_active = { old: false, new: true };
          if (Object.keys(privDiff).length) await log(old.id, a.key, 'modify_privilege', privDiff, `Privileges of ${a.key} changed`);
          if (Object.keys(otherDiff).length) await log(old.id, a.key, 'modify_other', otherDiff, `Attributes of ${a.key} changed`);
          const changed = Object.keys(privDiff).length + Object.keys(otherDiff).length > 0;
          await trx('db_accounts').where({ id: old.id }).update({
            ...columns(a), is_active: true, deactivated_at: null, last_seen_at: trx.fn.now(), updated_at: trx.fn.now(), ...(changed ? { last_change_at: trx.fn.now() } : {}),
          });
          if (changed) updated++;
        }
        for (const old of stored) {
          if (seen.has(old.account_key) || !old.is_active) continue;
          await trx('db_accounts').where({ id: old.id }).update({ is_active: false, deactivated_at: trx.fn.now(), updated_at: trx.fn.now(), last_change_at: trx.fn.now() });
          await log(old.id, old.account_key, 'delete', { is_active: { old: true, new: false } }, `Account ${old.account_key} no longer exists on the server; deactivated`);
          deleted++;
        }
        const result = {
          status: 'completed', items_synced: remote.accounts.length, items_created: created, items_updated: updated, items_deleted: deleted, error_message: null,
          details: JSON.stringify({ server_version: remote.version, accounts: remote.accounts.length }), completed_at: trx.fn.now(),
        };
        await trx('sync_instance_records').where({ id: record.id }).update(result);
        await trx('db_instances').where({ id: instanceId }).update({ status: 'online', last_connected: trx.fn.now(), last_sync_at: trx.fn.now(), last_error: null, server_version: remote.version, updated_at: trx.fn.now() });
        return done({ ...result, error_message: null });
      });
    },

    /** A record whose child workflow failed for good (not a connection failure, which the sync itself records). */
    async failSyncRecord({ sessionId, instanceId, error }: { sessionId: string; instanceId: number; error: string }) {
      await knex('sync_instance_records').where({ session_id: sessionId, instance_id: instanceId }).whereIn('status', ['pending', 'running'])
        .update({ status: 'failed', error_message: error.slice(0, 2000), completed_at: knex.fn.now() });
    },

    async cancelSyncRecords({ sessionId }: { sessionId: string }): Promise<number> {
      return knex('sync_instance_records').where({ session_id: sessionId }).whereIn('status', ['pending'])
        .update({ status: 'cancelled', error_message: 'The session was cancelled before this instance was synced', completed_at: knex.fn.now() });
    },

    /** Records the session's outcome from its records. */
    async finishSyncSession({ sessionId, status, error }: { sessionId: string; status?: 'cancelled' | 'failed'; error?: string }) {
      const rows = await knex('sync_instance_records').where({ session_id: sessionId }).select('status');
      const count = (s: string) => rows.filter((r) => r.status === s).length;
      const failed = count('failed');
      const finalStatus = status ?? (rows.length > 0 && failed === rows.length ? 'failed' : 'completed');
      await knex('sync_sessions').where({ id: sessionId }).whereIn('status', ['running']).update({
        status: finalStatus, successful_instances: count('completed'), failed_instances: failed, cancelled_instances: count('cancelled'),
        error: error ?? (failed ? `${failed} of ${rows.length} instances failed` : null), completed_at: knex.fn.now(), updated_at: knex.fn.now(),
      });
      const s = await knex('sync_sessions').where({ id: sessionId }).first();
      return { session_id: sessionId, status: s.status as string, total_instances: s.total_instances as number, successful_instances: s.successful_instances as number, failed_instances: s.failed_instances as number, cancelled_instances: s.cancelled_instances as number };
    },

    async createClassificationBatch(input: { batchId: string; batchType: string; createdBy: number | null; jobId?: string | null; operationId?: string | null; instanceIds?: number[] | null; dbType?: string | null }) {
      await knex('classification_batches').insert({
        id: input.batchId, batch_type: input.batchType, status: 'running', created_by: input.createdBy, job_id: input.jobId ?? null, operation_id: input.operationId ?? null,
        filters: JSON.stringify({ instance_ids: input.instanceIds ?? null, db_type: input.dbType ?? null }),
      }).onConflict('id').ignore();
    },

    /** Evaluates every active rule against every active account; matches and current assignments written in one transaction. */
    async classifyAccounts({ batchId }: { batchId: string }) {
      return knex.transaction(async (trx) => {
        const batch = await trx('classification_batches').where({ id: batchId }).forUpdate().first();
        if (!batch) throw ApplicationFailure.nonRetryable(`classification batch ${batchId} not found`, 'RESOURCE_NOT_FOUND');
        if (batch.status === 'completed') return { batch_id: batchId, total_accounts: batch.total_accounts as number, matched_accounts: batch.matched_accounts as number, total_matches: batch.total_matches as number };
        const rules = await activeRules(trx);
        const filters = (batch.filters ?? {}) as { instance_ids?: number[] | null; db_type?: string | null };
        // A batch covers its starter's accounts (an admin's: all), each judged by the system rules and its owner's.
        const accounts = await classifiableAccounts(trx, await viewerForUser(trx, batch.created_by ?? null), { instanceIds: filters.instance_ids, dbType: filters.db_type });
        const matches: Array<Record<string, unknown>> = [];
        const matched = new Set<number>();
        for (const [n, acc] of accounts.entries()) {
          if (n % 500 === 0) heartbeat(`classifying ${n}/${accounts.length}`);
          const done = new Set<number>();
          for (const rule of rules) {
            if (done.has(rule.classification_id)) continue;
            if (rule.db_type && rule.db_type !== acc.db_type) continue;
            if (!ruleAppliesTo(rule, acc.owner_id ?? null)) continue;
            if (!evaluateRule(rule.expression as RuleExpr, acc as unknown as Parameters<typeof evaluateRule>[1])) continue;
            done.add(rule.classification_id);
            matched.add(acc.id);
            matches.push({ batch_id: batchId, account_id: acc.id, instance_id: acc.instance_id, classification_id: rule.classification_id, rule_id: rule.id, rule_version: rule.version });
          }
        }
        heartbeat('writing');
        for (let i = 0; i < matches.length; i += 500) await trx('classification_matches').insert(matches.slice(i, i + 500)).onConflict(['batch_id', 'account_id', 'classification_id']).ignore();
        // Current assignments follow the newest batch for the accounts it covered.
        const ids = accounts.map((a) => a.id);
        for (let i = 0; i < ids.length; i += 1000) await trx('account_classification_assignments').whereIn('account_id', ids.slice(i, i + 1000)).delete();
        const assignments = matches.map((m) => ({ account_id: m.account_id, classification_id: m.classification_id, batch_id: batchId }));
        for (let i = 0; i < assignments.length; i += 500) await trx('account_classification_assignments').insert(assignments.slice(i, i + 500));
        const summary = { total_accounts: accounts.length, matched_accounts: matched.size, total_matches: matches.length };
        await trx('classification_batches').where({ id: batchId }).update({
          ...summary, status: 'completed', completed_at: trx.fn.now(), rule_versions: JSON.stringify(Object.fromEntries(rules.map((r) => [r.id, r.version]))),
        });
        return { batch_id: batchId, ...summary };
      });
    },

    async failClassificationBatch({ batchId, status, error }: { batchId: string; status: 'failed' | 'cancelled'; error: string }) {
      await knex('classification_batches').where({ id: batchId }).where({ status: 'running' }).update({ status, error, completed_at: knex.fn.now() });
    },

    /** The job a schedule fired for, read at run time so edits apply to the next run. */
    async loadScheduledJob({ jobId }: { jobId: string }) {
      const job = await jobById(knex, jobId);
      if (!job) throw ApplicationFailure.nonRetryable(`job ${jobId} not found`, 'RESOURCE_NOT_FOUND');
      return {
        id: job.id as string, name: job.name as string, task_type: job.task_type as string, db_type: (job.db_type as string) ?? null,
        instance_ids: (job.instance_ids as number[] | null) ?? null, created_by: (job.created_by as number) ?? null, concurrency: config.dbsync.concurrency,
      };
    },
  };
}

export type DbsyncActivities = ReturnType<typeof createDbsyncActivities>;

