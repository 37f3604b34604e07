import type { Knex } from 'knex';
import { ownedBy, type Viewer } from '../platform/scope';

/** A registered OAuth client (oauth_clients): every one has an owner, who (with admins) sees and changes it. */
export interface OAuthClientRow {
  id: number;
  client_id: string;
  secret_hash: string | null;
  name: string;
  description: string | null;
  redirect_uris: string[];
  grant_types: string[];
  scopes: string[];
  logo_url: string | null;
  is_trusted: boolean;
  is_active: boolean;
  rate_limit: number | null;
  owner_id: number;
  created_at: Date;
  updated_at: Date;
}

/** The columns a registration or an update writes (the JSON lists as given, serialized here). */
export type OAuthClientFields = Omit<OAuthClientRow, 'id' | 'created_at' | 'updated_at'>;

const table = (knex: Knex) => knex<OAuthClientRow>('oauth_clients');
const serialized = (f: Partial<OAuthClientFields>) => ({
  ...f,
  ...(f.redirect_uris ? { redirect_uris: JSON.stringify(f.redirect_uris) } : {}),
  ...(f.grant_types ? { grant_types: JSON.stringify(f.grant_types) } : {}),
  ...(f.scopes ? { scopes: JSON.stringify(f.scopes) } : {}),
}) as never;

/** The clients `viewer` may see (admins: all), oldest first. */
export function visibleClients(knex: Knex, viewer: Viewer): Promise<OAuthClientRow[]> {
  return ownedBy(table(knex).orderBy('id'), viewer, 'owner_id');
}

/** One client `viewer` may see; another owner's is undefined, as if it did not exist. */
export function visibleClient(knex: Knex, viewer: Viewer, clientId: string): Promise<OAuthClientRow | undefined> {
  return ownedBy(table(knex).where({ client_id: clientId }), viewer, 'owner_id').first();
}

/** An active client by its client_id, whoever owns it: what the authorization server itself reads. */
export function activeClient(knex: Knex, clientId: string): Promise<OAuthClientRow | undefined> {
  return table(knex).where({ client_id: clientId, is_active: true }).first();
}

/** A user's own clients (their data export). */
export function clientsOwnedBy(knex: Knex, userId: number): Promise<OAuthClientRow[]> {
  return table(knex).where({ owner_id: userId }).orderBy('id');
}

export async function insertClient(knex: Knex, fields: OAuthClientFields): Promise<OAuthClientRow> {
  const [row] = await table(knex).insert(serialized(fields)).returning('*');
  return row as OAuthClientRow;
}

/** Updates a client `viewer` may change; undefined when it is not theirs (or gone). */
export async function updateClient(knex: Knex, viewer: Viewer, id: number, fields: Partial<OAuthClientFields>): Promise<OAuthClientRow | undefined> {
  const [row] = await ownedBy(table(knex).where({ id }), viewer, 'owner_id').update({ ...(serialized(fields) as object), updated_at: new Date() } as never).returning('*');
  return row as OAuthClientRow | undefined;
}

export async function deleteClient(knex: Knex, viewer: Viewer, id: number): Promise<number> {
  return ownedBy(table(knex).where({ id }), viewer, 'owner_id').delete();
}

/**
 * Who owns a client registered by a caller that is no user (seed 004's server token, seed 001's system token): the
 * oldest active admin, so that every client has an owner who can see and revoke it.
 */
export async function platformOwner(knex: Knex): Promise<number | null> {
  const row = await knex('users').where({ role: 'admin', is_active: true }).whereNull('deleted_at').orderBy('id').first('id');
  return row?.id ?? null;
}
