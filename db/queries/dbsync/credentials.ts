import type { Knex } from 'knex';
import { ownedBy, type Viewer } from '../platform/scope';

/** A stored database credential; the password is sealed with the master key. */
export interface CredentialRow {
  id: number;
  name: string;
  credential_type: string;
  db_type: string | null;
  username: string;
  password_sealed: string;
  description: string | null;
  is_active: boolean;
  created_by: number | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

export type CredentialInsert = Pick<CredentialRow, 'name' | 'credential_type' | 'db_type' | 'username' | 'password_sealed' | 'description' | 'is_active' | 'created_by'>;
export type CredentialPatch = Partial<Pick<CredentialRow, 'name' | 'db_type' | 'username' | 'password_sealed' | 'description' | 'is_active'>>;

/** The live credentials `viewer` may see: an admin every one, anyone else their own. */
export const visibleCredentials = (knex: Knex | Knex.Transaction, viewer: Viewer, alias = 'db_credentials') =>
  ownedBy(knex(`db_credentials as ${alias}`).whereNull(`${alias}.deleted_at`), viewer, `${alias}.created_by`);

/** One credential of `viewer`'s, or undefined (another owner's is not there for them). */
export async function findCredential(knex: Knex | Knex.Transaction, viewer: Viewer, id: number): Promise<CredentialRow | undefined> {
  return visibleCredentials(knex, viewer).where('db_credentials.id', id).first<CredentialRow | undefined>();
}

export interface CredentialListRow extends CredentialRow { usage: number }

/** `viewer`'s credentials with how many live instances use each, filtered; the caller pages it. */
export function listCredentialsQuery(knex: Knex, viewer: Viewer, f: { search?: string; db_type?: string; activeOnly?: boolean }) {
  const q = visibleCredentials(knex, viewer, 'c').orderBy('c.id')
    .select('c.*', knex.raw('(select count(*) from db_instances i where i.credential_id = c.id and i.deleted_at is null)::int as usage'));
  if (f.search) q.where((w) => w.whereILike('c.name', f.search!).orWhereILike('c.username', f.search!));
  if (f.db_type) q.where('c.db_type', f.db_type);
  if (f.activeOnly) q.where('c.is_active', true);
  return q;
}

export async function credentialUsage(knex: Knex, id: number): Promise<Array<{ id: number; name: string }>> {
  return knex('db_instances').where({ credential_id: id }).whereNull('deleted_at').select('id', 'name');
}

export async function insertCredential(knex: Knex, row: CredentialInsert): Promise<CredentialRow> {
  const [created] = await knex('db_credentials').insert(row).returning('*');
  return created as CredentialRow;
}

/** Changes `viewer`'s credential; false when it is not theirs (or gone). */
export async function updateCredential(knex: Knex, viewer: Viewer, id: number, patch: CredentialPatch): Promise<boolean> {
  const n = await ownedBy(knex('db_credentials').where({ id }).whereNull('deleted_at'), viewer, 'created_by').update({ ...patch, updated_at: knex.fn.now() });
  return n > 0;
}

export async function softDeleteCredential(knex: Knex, viewer: Viewer, id: number): Promise<boolean> {
  const n = await ownedBy(knex('db_credentials').where({ id }).whereNull('deleted_at'), viewer, 'created_by').update({ deleted_at: knex.fn.now(), is_active: false });
  return n > 0;
}
