import type { Knex } from 'knex';
import { ownedBy, type Viewer } from '../platform/scope';
import type { CredentialRow } from './credentials';

/** A database instance. `credential_host/port/ssl` is where its credential was attached: the only place it is sent. */
export interface InstanceRow {
  id: number;
  name: string;
  db_type: string;
  host: string;
  port: number;
  database_name: string | null;
  credential_id: number | null;
  credential_host: string | null;
  credential_port: number | null;
  credential_ssl: string | null;
  description: string | null;
  environment: string;
  tags: string[];
  options: { ssl?: string } & Record<string, unknown>;
  is_active: boolean;
  status: string;
  last_connected: Date | null;
  last_error: string | null;
  server_version: string | null;
  last_sync_at: Date | null;
  created_by: number | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

export interface InstanceListRow extends InstanceRow { credential_name: string | null; account_count: number }

export type InstanceInsert = Pick<InstanceRow, 'name' | 'db_type' | 'host' | 'port' | 'database_name' | 'credential_id' | 'description' | 'environment' | 'is_active' | 'created_by'>
  & { tags: string; options: string; credential_host: string | null; credential_port: number | null; credential_ssl: string | null };
export type InstancePatch = Partial<Omit<InstanceInsert, 'created_by'>>;

/** The TLS mode an instance connects with. */
export const sslOf = (i: Pick<InstanceRow, 'options'>) => (i.options?.ssl as string | undefined) ?? 'prefer';

/** The live instances `viewer` may see (alias `i`): an admin every one, anyone else their own. */
export const visibleInstances = (knex: Knex | Knex.Transaction, viewer: Viewer) =>
  ownedBy(knex('db_instances as i').whereNull('i.deleted_at'), viewer, 'i.created_by');

/** `viewer`'s instances with their credential's name and active account count. */
export function instancesQuery(knex: Knex, viewer: Viewer) {
  return visibleInstances(knex, viewer).leftJoin('db_credentials as c', 'c.id', 'i.credential_id')
    .select('i.*', 'c.name as credential_name', knex.raw('(select count(*) from db_accounts a where a.instance_id = i.id and a.is_active)::int as account_count'));
}

export async function findInstance(knex: Knex, viewer: Viewer, id: number): Promise<InstanceListRow | undefined> {
  return instancesQuery(knex, viewer).where('i.id', id).first<InstanceListRow | undefined>();
}

/** Which of `ids` are not `viewer`'s live instances. */
export async function missingInstances(knex: Knex | Knex.Transaction, viewer: Viewer, ids: number[]): Promise<number[]> {
  const found = await visibleInstances(knex, viewer).whereIn('i.id', ids).pluck('i.id') as number[];
  return ids.filter((i) => !found.includes(i));
}

export async function insertInstance(knex: Knex, row: InstanceInsert): Promise<number> {
  const [created] = await knex('db_instances').insert(row).returning('id');
  return created.id as number;
}

export async function updateInstance(knex: Knex, viewer: Viewer, id: number, patch: InstancePatch): Promise<boolean> {
  const n = await ownedBy(knex('db_instances').where({ id }).whereNull('deleted_at'), viewer, 'created_by').update({ ...patch, updated_at: knex.fn.now() });
  return n > 0;
}

export async function softDeleteInstance(knex: Knex, viewer: Viewer, id: number, freedName: string): Promise<boolean> {
  const n = await ownedBy(knex('db_instances').where({ id }).whereNull('deleted_at'), viewer, 'created_by')
    .update({ deleted_at: knex.fn.now(), is_active: false, name: freedName });
  return n > 0;
}

/** The instances a sync session started by `viewer` covers: active, theirs, optionally a list or one type. */
export function syncableInstances(knex: Knex | Knex.Transaction, viewer: Viewer, f: { instanceIds?: number[] | null; dbType?: string | null }) {
  const q = visibleInstances(knex, viewer).where('i.is_active', true).orderBy('i.id');
  if (f.instanceIds?.length) q.whereIn('i.id', f.instanceIds);
  if (f.dbType) q.where('i.db_type', f.dbType);
  return q.select('i.id', 'i.name', 'i.db_type') as unknown as Promise<Array<{ id: number; name: string; db_type: string }>>;
}

export type ConnectionTarget =
  | { ok: true; instance: InstanceRow; credential: CredentialRow }
  | { ok: false; instance: InstanceRow; problem: string };

/**
 * What a worker may connect to for an instance: its credential only when that credential belongs to the instance's
 * owner and the instance still points at the host, port and TLS mode the credential was attached for. Anything else
 * (moved behind the API's back, another owner's credential) is refused before any connection is made.
 */
export async function connectionTarget(knex: Knex, instanceId: number): Promise<ConnectionTarget | undefined> {
  const instance = await knex('db_instances').where({ id: instanceId }).whereNull('deleted_at').first<InstanceRow | undefined>();
  if (!instance) return undefined;
  if (!instance.credential_id) return { ok: false, instance, problem: `instance ${instance.name} has no credential: attach one (or enter the password again) after changing its address` };
  const credential = await knex('db_credentials').where({ id: instance.credential_id }).whereNull('deleted_at').first<CredentialRow | undefined>();
  if (!credential) return { ok: false, instance, problem: `instance ${instance.name} has no usable credential` };
  if ((credential.created_by ?? null) !== (instance.created_by ?? null)) return { ok: false, instance, problem: `the credential of instance ${instance.name} belongs to another user` };
  if (instance.credential_host !== instance.host || instance.credential_port !== instance.port || instance.credential_ssl !== sslOf(instance)) {
    return { ok: false, instance, problem: `the credential of instance ${instance.name} is not bound to ${instance.host}:${instance.port} (${sslOf(instance)}): its owner must re-attach it` };
  }
  return { ok: true, instance, credential };
}

/** Records a connection's outcome on the instance. */
export async function markInstance(knex: Knex | Knex.Transaction, instanceId: number, ok: boolean, version: string | null, error: string | null) {
  await knex('db_instances').where({ id: instanceId }).update({
    status: ok ? 'online' : 'offline', last_error: error, ...(ok ? { last_connected: knex.fn.now(), server_version: version } : {}), updated_at: knex.fn.now(),
  });
}

/** Counts of `viewer`'s instances and their accounts. */
export async function instanceCounts(knex: Knex, viewer: Viewer) {
  const [totals] = await visibleInstances(knex, viewer).select(
    knex.raw('count(*)::int as total'), knex.raw('count(*) filter (where i.is_active)::int as active'),
    knex.raw("count(*) filter (where i.status = 'online')::int as online"), knex.raw("count(*) filter (where i.status = 'offline')::int as offline"));
  const byType = await visibleInstances(knex, viewer).groupBy('i.db_type').select('i.db_type', knex.raw('count(*)::int as n'));
  const byEnv = await visibleInstances(knex, viewer).groupBy('i.environment').select('i.environment', knex.raw('count(*)::int as n'));
  return {
    totals: totals as { total: number; active: number; online: number; offline: number },
    byType: byType as Array<{ db_type: string; n: number }>,
    byEnv: byEnv as Array<{ environment: string; n: number }>,
  };
}

/** An instance's last sync record and its accounts by active/inactive (for an instance the caller may see). */
export async function instanceSummary(knex: Knex, id: number) {
  const lastSync = await knex('sync_instance_records').where({ instance_id: id }).orderBy('id', 'desc').first();
  const byStatus = await knex('db_accounts').where({ instance_id: id }).groupBy('is_active').select('is_active', knex.raw('count(*)::int as n')) as Array<{ is_active: boolean; n: number }>;
  return { lastSync, active: byStatus.find((r) => r.is_active)?.n ?? 0, inactive: byStatus.find((r) => !r.is_active)?.n ?? 0 };
}
