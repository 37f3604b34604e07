import type { Knex } from 'knex';
import { ownedBy, type Viewer } from '../platform/scope';

/** A row of `rentals` (migrations 011, 020): a DERP relay (one derper container) rented until `expires_at`. Its owner's. */
export interface RentalRow {
  id: number;
  uuid: string;
  user_id: number;
  /** provisioning → active ⇄ suspended → deleted (or failed). */
  status: string;
  expires_at: Date;
  host_id: number | null;
  port: number | null;
  instance_id: number | null;
  workflow_id: string;
  last_error: Record<string, unknown> | null;
  tls_hostname: string | null;
  tls_cert: string | null;
  tls_key_sealed: string | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

/** A rental with its host's name. */
export interface RentalView extends RentalRow {
  host_name: string | null;
}

/** The rentals `viewer` may see (alias `r`), deleted ones too, with their host's name: their own, an admin's all. */
export function visibleRentals(knex: Knex, viewer: Viewer): Knex.QueryBuilder<RentalView, RentalView[]> {
  const q = knex('rentals as r').leftJoin('hosts as h', 'h.id', 'r.host_id').select('r.*', 'h.name as host_name');
  return ownedBy(q, viewer, 'r.user_id') as unknown as Knex.QueryBuilder<RentalView, RentalView[]>;
}

export async function findRental(knex: Knex, viewer: Viewer, id: number): Promise<RentalView | undefined> {
  return visibleRentals(knex, viewer).where('r.id', id).first() as Promise<RentalView | undefined>;
}

/** `viewer`'s rentals in id order (an admin may name one owner), live ones unless `includeDeleted`. */
export async function listRentals(knex: Knex, viewer: Viewer, f: { userId?: number; includeDeleted?: boolean }): Promise<RentalView[]> {
  const q = visibleRentals(knex, viewer).orderBy('r.id');
  if (viewer.admin && f.userId) q.where('r.user_id', f.userId);
  if (!f.includeDeleted) q.whereNull('r.deleted_at');
  return q;
}

/** The live rental of a relay's uuid (derper asks whether a client may use it). */
export async function liveRentalByUuid(knex: Knex, uuid: string): Promise<Pick<RentalRow, 'status' | 'expires_at'> | undefined> {
  return knex('rentals').where({ uuid }).whereNull('deleted_at').first('status', 'expires_at');
}

/** Live rentals whose time is up, soonest first. */
export async function expiredRentals(knex: Knex, now: Date): Promise<Array<Pick<RentalRow, 'id' | 'user_id' | 'expires_at' | 'status'>>> {
  return knex('rentals').whereNull('deleted_at').where('expires_at', '<=', now).orderBy('expires_at').select('id', 'user_id', 'expires_at', 'status');
}

/** A user's running rentals (active or provisioning), those expiring on `day` (YYYY-MM-DD, UTC) if given. */
export async function rentalsToRemind(knex: Knex, userId: number, day?: string): Promise<Array<Pick<RentalRow, 'id' | 'workflow_id'>>> {
  const q = knex('rentals').where({ user_id: userId }).whereNull('deleted_at').whereIn('status', ['active', 'provisioning']);
  if (day) q.whereRaw("to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') = ?", [day]);
  return q.select('id', 'workflow_id');
}

/** Every rental of a user, deleted ones too, in id order. */
export async function rentalsOfUser(knex: Knex, userId: number): Promise<Array<Pick<RentalRow, 'id' | 'status' | 'created_at' | 'expires_at' | 'deleted_at'>>> {
  return knex('rentals').where({ user_id: userId }).orderBy('id').select('id', 'status', 'created_at', 'expires_at', 'deleted_at');
}

/** A relay a user may use now (active, unexpired, with a port) with its host's addresses and options: a derpMap region. */
export interface ActiveRelay {
  id: number;
  port: number;
  tls_hostname: string | null;
  tls_cert: string | null;
  name: string;
  public_addresses: string[] | null;
  options: Record<string, unknown> | null;
  address: string;
}

export async function activeRelaysOf(knex: Knex, userId: number, now: Date): Promise<ActiveRelay[]> {
  return knex('rentals as r').join('hosts as h', 'h.id', 'r.host_id')
    .where({ 'r.user_id': userId, 'r.status': 'active' }).whereNull('r.deleted_at').whereNotNull('r.port').where('r.expires_at', '>', now)
    .select('r.id', 'r.port', 'r.tls_hostname', 'r.tls_cert', 'h.name', 'h.public_addresses', 'h.options', 'h.address');
}
