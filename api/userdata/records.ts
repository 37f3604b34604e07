import type { Knex } from 'knex';
import { AppError, notFound } from '../../shared/platform/errors';
import type { Viewer } from '../../db/queries/platform/scope';
import {
  createUserData, deleteUserData, findUserData, listUserData, mayWriteUserData, replaceUserData, upsertUserData, userDataTotals, type UserDataRow,
} from '../../db/queries/userdata/user-data';
import { viewerOf } from '../platform/auth/principal';
import { USER_DATA_LIMITS, jsonBytes } from '../../shared/userdata/limits';
import { audit } from '../platform/audit';
import type { Caller } from '../platform/caller';
import type { AppDeps } from '../platform/deps';

export type { UserDataRow };

/** What a write must find: any state (upsert), an existing record ('*' or one of these versions), or none. */
export type Precondition = { ifMatch?: number[] | '*'; ifNoneMatch?: boolean };

export const tooLarge = (message: string, details: Record<string, unknown> = {}) => new AppError('PAYLOAD_TOO_LARGE', message, details);

/** Checks a value's size; over the limit is a 413 naming the field. */
export function checkValue(value: unknown, field = 'value') {
  if (value === undefined) throw new AppError('VALIDATION_ERROR', `${field} is required`, { field, errors: [{ field, message: 'is required' }] });
  const bytes = jsonBytes(value);
  if (bytes > USER_DATA_LIMITS.maxValueBytes) {
    throw tooLarge(`${field} is ${bytes} bytes; the limit is ${USER_DATA_LIMITS.maxValueBytes}`, { field, bytes, limit: USER_DATA_LIMITS.maxValueBytes });
  }
}

/** Per-user JSON records: reads, and writes that lock the user so the per-user limits hold under concurrency. */
export class UserDataRecords {
  constructor(private readonly deps: AppDeps) {}

  /** `userId`'s records as `viewer` may see them (another user's: none). */
  async list(viewer: Viewer, userId: number): Promise<UserDataRow[]> {
    return listUserData(this.deps.knex, viewer, userId);
  }

  async get(viewer: Viewer, userId: number, key: string, db: Knex | Knex.Transaction = this.deps.knex): Promise<UserDataRow> {
    const row = await findUserData(db, viewer, userId, key);
    if (!row) throw notFound('user data key', key);
    return row;
  }

  /** Runs writes for these users in one transaction, with each user's row locked (limits are checked at the end). */
  async inTransaction<T>(userIds: number[], work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    return this.deps.knex.transaction(async (trx) => {
      const ids = [...new Set(userIds)].sort((a, b) => a - b);
      await trx('users').whereIn('id', ids).orderBy('id').forUpdate().select('id');
      const result = await work(trx);
      await this.checkTotals(trx, ids);
      return result;
    });
  }

  private async checkTotals(trx: Knex.Transaction, userIds: number[]) {
    const totals = await userDataTotals(trx, userIds);
    for (const t of totals) {
      if (Number(t.bytes) > USER_DATA_LIMITS.maxUserBytes) throw tooLarge(`The user's data would be ${t.bytes} bytes; the limit is ${USER_DATA_LIMITS.maxUserBytes}`, { limit: USER_DATA_LIMITS.maxUserBytes });
      if (t.keys > USER_DATA_LIMITS.maxKeysPerUser) throw tooLarge(`The user would have ${t.keys} keys; the limit is ${USER_DATA_LIMITS.maxKeysPerUser}`, { limit: USER_DATA_LIMITS.maxKeysPerUser });
    }
  }

  /** Writes one record inside a transaction; a failed precondition is a 412. */
  async write(trx: Knex.Transaction, viewer: Viewer, userId: number, key: string, value: unknown, pre: Precondition = {}): Promise<UserDataRow> {
    checkValue(value);
    if (!mayWriteUserData(viewer, userId)) throw notFound('user data key', key);
    const json = JSON.stringify(value);
    if (pre.ifMatch !== undefined) {
      const updated = await replaceUserData(trx, viewer, userId, key, json, pre.ifMatch === '*' ? undefined : pre.ifMatch);
      if (!updated) throw new AppError('PRECONDITION_FAILED', `The record ${key} changed (or does not exist); read it again and retry with its ETag`, { key });
    } else if (pre.ifNoneMatch) {
      if (!(await createUserData(trx, viewer, userId, key, json))) throw new AppError('PRECONDITION_FAILED', `The record ${key} already exists`, { key });
    } else {
      await upsertUserData(trx, viewer, userId, key, json);
    }
    return this.get(viewer, userId, key, trx);
  }

  /** Deletes one record inside a transaction; a missing record is a 404, a failed precondition a 412. */
  async remove(trx: Knex.Transaction, viewer: Viewer, userId: number, key: string, pre: Precondition = {}): Promise<void> {
    const { deleted, exists } = await deleteUserData(trx, viewer, userId, key, pre.ifMatch && pre.ifMatch !== '*' ? pre.ifMatch : undefined);
    if (deleted) return;
    if (exists) throw new AppError('PRECONDITION_FAILED', `The record ${key} changed; read it again and retry with its ETag`, { key });
    throw notFound('user data key', key);
  }

  async put(caller: Caller, userId: number, key: string, value: unknown, pre: Precondition = {}): Promise<UserDataRow> {
    checkValue(value);
    const row = await this.inTransaction([userId], (trx) => this.write(trx, viewerOf(caller.principal), userId, key, value, pre));
    await this.audit(caller, 'put', row.username, [key]);
    return row;
  }

  async delete(caller: Caller, userId: number, username: string, key: string, pre: Precondition = {}): Promise<void> {
    await this.inTransaction([userId], (trx) => this.remove(trx, viewerOf(caller.principal), userId, key, pre));
    await this.audit(caller, 'delete', username, [key]);
  }

  async audit(caller: Caller, action: string, username: string, keys: string[]) {
    await audit(this.deps.knex, caller, {
      module: 'userdata', action, resourceType: 'user_data', resourceId: username,
      message: `User data of ${username}: ${action} ${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ` and ${keys.length - 5} more` : ''}`,
      details: { keys: keys.slice(0, 100) },
    });
  }
}
