import type { Knex } from 'knex';
import { ownedBy, type Viewer } from '../platform/scope';

/** A synced account of an instance: it belongs to whoever owns the instance. */
export interface AccountRow {
  id: number;
  instance_id: number;
  db_type: string;
  account_key: string;
  username: string;
  host: string | null;
  is_superuser: boolean;
  is_locked: boolean;
  can_login: boolean;
  capabilities: string[];
  roles: string[];
  privileges: unknown[];
  attributes: Record<string, unknown>;
  is_active: boolean;
  first_seen_at: Date;
  last_seen_at: Date | null;
  last_change_at: Date | null;
  deactivated_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface ChangeRow {
  id: string | number;
  instance_id: number;
  account_id: number | null;
  account_key: string;
  change_type: string;
  diff: Record<string, unknown>;
  session_id: string | null;
  message: string | null;
  changed_at: Date;
}

/** Accounts (alias `a`) of the live instances (alias `i`) `viewer` may see. */
export const visibleAccounts = (knex: Knex | Knex.Transaction, viewer: Viewer) =>
  ownedBy(knex('db_accounts as a').join('db_instances as i', 'i.id', 'a.instance_id').whereNull('i.deleted_at'), viewer, 'i.created_by');

export async function findAccount(knex: Knex, viewer: Viewer, id: number): Promise<(AccountRow & { instance_name: string }) | undefined> {
  return visibleAccounts(knex, viewer).where('a.id', id).first('a.*', 'i.name as instance_name');
}

/** The change log (alias `l`) of `viewer`'s instances. */
export const visibleChanges = (knex: Knex, viewer: Viewer) =>
  ownedBy(knex('account_change_log as l').join('db_instances as i', 'i.id', 'l.instance_id'), viewer, 'i.created_by').select<ChangeRow[]>('l.*');

/** Active accounts a classification run by `viewer` covers. */
export function classifiableAccounts(knex: Knex | Knex.Transaction, viewer: Viewer, f: { instanceIds?: number[] | null; dbType?: string | null }) {
  const q = visibleAccounts(knex, viewer).where('a.is_active', true);
  if (f.instanceIds?.length) q.whereIn('a.instance_id', f.instanceIds);
  if (f.dbType) q.where('a.db_type', f.dbType);
  return q.select<Array<AccountRow & { owner_id: number | null }>>('a.*', 'i.created_by as owner_id');
}
