import type { Knex } from 'knex';
import { ownedBy, type Viewer } from '../platform/scope';

/** One record of a user's data, with its owner's name (the seeds show it). */
export interface UserDataRow {
  id: string | number;
  user_id: number;
  username: string;
  key: string;
  value: unknown;
  version: number;
  created_at: Date;
  updated_at: Date;
}

type Db = Knex | Knex.Transaction;
const COLUMNS = ['d.id', 'd.user_id', 'u.username', 'd.key', 'd.value', 'd.version', 'd.created_at', 'd.updated_at'];

/** The records of `userId` that `viewer` may see: their own (admins and the seed 004 server token: anyone's). */
export const userDataOf = (db: Db, viewer: Viewer, userId: number) =>
  ownedBy(db('user_data as d').join('users as u', 'u.id', 'd.user_id').where('d.user_id', userId), viewer, 'd.user_id').select<UserDataRow[]>(COLUMNS);

/** Whether `viewer` may write `userId`'s records. */
export const mayWriteUserData = (viewer: Viewer, userId: number) => viewer.admin || viewer.userId === userId;

/** The rows of `userId` that `viewer` may change (no join: for updates and deletes). */
const writable = (db: Db, viewer: Viewer, userId: number) => ownedBy(db('user_data').where({ user_id: userId }), viewer, 'user_id');

export async function listUserData(db: Db, viewer: Viewer, userId: number): Promise<UserDataRow[]> {
  return userDataOf(db, viewer, userId).orderBy('d.key');
}

export async function findUserData(db: Db, viewer: Viewer, userId: number, key: string): Promise<UserDataRow | undefined> {
  return userDataOf(db, viewer, userId).where('d.key', key).first();
}

/** Replaces the value of an existing record (only at these versions when given); false when none matched. */
export async function replaceUserData(trx: Knex.Transaction, viewer: Viewer, userId: number, key: string, json: string, versions?: number[]): Promise<boolean> {
  const q = writable(trx, viewer, userId).where({ key });
  if (versions) q.whereIn('version', versions.length ? versions : [-1]);
  return (await q.update({ value: json, version: trx.raw('version + 1'), updated_at: trx.fn.now() }, ['id'])).length > 0;
}

/** Creates a record; false when it exists already. */
export async function createUserData(trx: Knex.Transaction, viewer: Viewer, userId: number, key: string, json: string): Promise<boolean> {
  if (!mayWriteUserData(viewer, userId)) return false;
  return (await trx('user_data').insert({ user_id: userId, key, value: json }).onConflict(['user_id', 'key']).ignore().returning('id')).length > 0;
}

/** Creates or replaces a record. */
export async function upsertUserData(trx: Knex.Transaction, viewer: Viewer, userId: number, key: string, json: string): Promise<void> {
  if (!mayWriteUserData(viewer, userId)) return;
  await trx('user_data').insert({ user_id: userId, key, value: json }).onConflict(['user_id', 'key'])
    .merge({ value: json, version: trx.raw('user_data.version + 1'), updated_at: trx.fn.now() });
}

/** Deletes a record (only at these versions when given): how many went, and whether it exists still. */
export async function deleteUserData(trx: Knex.Transaction, viewer: Viewer, userId: number, key: string, versions?: number[]): Promise<{ deleted: number; exists: boolean }> {
  const q = writable(trx, viewer, userId).where({ key });
  if (versions) q.whereIn('version', versions.length ? versions : [-1]);
  const deleted = await q.delete();
  if (deleted) return { deleted, exists: false };
  return { deleted, exists: Boolean(await writable(trx, viewer, userId).where({ key }).first('id')) };
}

/** Each user's number of keys and bytes (the per-user limits), for users locked in `trx`. */
export async function userDataTotals(trx: Knex.Transaction, userIds: number[]): Promise<Array<{ user_id: number; keys: number; bytes: string | number }>> {
  return trx('user_data').whereIn('user_id', userIds).groupBy('user_id')
    .select('user_id', trx.raw('count(*)::int as keys'), trx.raw('coalesce(sum(octet_length(value::text)), 0)::bigint as bytes'));
}
