import type { Knex } from 'knex';
import { AppError, notFound } from '../../shared/platform/errors';
import { USER_DATA_LIMITS, jsonBytes } from '../../shared/userdata/limits';
import { audit } from '../platform/audit';
import type { Caller } from '../platform/caller';
import type { AppDeps } from '../platform/deps';

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

const columns = ['d.id', 'd.user_id', 'u.username', 'd.key', 'd.value', 'd.version', 'd.created_at', 'd.updated_at'];

/** Per-user JSON records: reads, and writes that lock the user so the per-user limits hold under concurrency. */
export class UserDataRecords {
  constructor(private readonly deps: AppDeps) {}

  private rows(db: Knex | Knex.Transaction, userId: number) {
    return db('user_data as d').join('users as u', 'u.id', 'd.user_id').where('d.user_id', userId).select(columns);
  }

  async list(userId: number): Promise<UserDataRow[]> {
    return this.rows(this.deps.knex, userId).orderBy('d.key');
  }

  async get(userId: number, key: string, db: Knex | Knex.Transaction = this.deps.knex): Promise<UserDataRow> {
    const row = await this.rows(db, userId).where('d.key', key).first();
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
    const totals = await trx('user_data').whereIn('user_id', userIds).groupBy('user_id')
      .select('user_id', trx.raw('count(*)::int as keys'), trx.raw('coalesce(sum(octet_length(value::text)), 0)::bigint as bytes'));
    for (const t of totals) {
      if (Number(t.bytes) > USER_DATA_LIMITS.maxUserBytes) throw tooLarge(`The user's data would be ${t.bytes} bytes; the limit is ${USER_DATA_LIMITS.maxUserBytes}`, { limit: USER_DATA_LIMITS.maxUserBytes });
      if (t.keys > USER_DATA_LIMITS.maxKeysPerUser) throw tooLarge(`The user would have ${t.keys} keys; the limit is ${USER_DATA_LIMITS.maxKeysPerUser}`, { limit: USER_DATA_LIMITS.maxKeysPerUser });
    }
  }

  /** Writes one record inside a transaction; a failed precondition is a 412. */
  async write(trx: Knex.Transaction, userId: number, key: string, value: unknown, pre: Precondition = {}): Promise<UserDataRow> {
    checkValue(value);
    const json = JSON.stringify(value);
    if (pre.ifMatch !== undefined) {
      const q = trx('user_data').where({ user_id: userId, key });
      if (pre.ifMatch !== '*') q.whereIn('version', pre.ifMatch.length ? pre.ifMatch : [-1]);
      const updated = await q.update({ value: json, version: trx.raw('version + 1'), updated_at: trx.fn.now() }, ['id']);
      if (!updated.length) throw new AppError('PRECONDITION_FAILED', `The record ${key} changed (or does not exist); read it again and retry with its ETag`, { key });
    } else if (pre.ifNoneMatch) {
      const inserted = await trx('user_data').insert({ user_id: userId, key, value: json }).onConflict(['user_id', 'key']).ignore().returning('id');
      if (!inserted.length) throw new AppError('PRECONDITION_FAILED', `The record ${key} already exists`, { key });
    } else {
      await trx('user_data').insert({ user_id: userId, key, value: json }).onConflict(['user_id', 'key'])
        .merge({ value: json, version: trx.raw('user_data.version + 1'), updated_at: trx.fn.now() });
    }
    return this.get(userId, key, trx);
  }

  /** Deletes one record inside a transaction; a missing record is a 404, a failed precondition a 412. */
  async remove(trx: Knex.Transaction, userId: number, key: string, pre: Precondition = {}): Promise<void> {
    const q = trx('user_data').where({ user_id: userId, key });
    if (pre.ifMatch && pre.ifMatch !== '*') q.whereIn('version', pre.ifMatch.length ? pre.ifMatch : [-1]);
    const n = await q.delete();
    if (n) return;
    const exists = await trx('user_data').where({ user_id: userId, key }).first('id');
    if (exists) throw new AppError('PRECONDITION_FAILED', `The record ${key} changed; read it again and retry with its ETag`, { key });
    throw notFound('user data key', key);
  }

  async put(caller: Caller, userId: number, key: string, value: unknown, pre: Precondition = {}): Promise<UserDataRow> {
    checkValue(value);
    const row = await this.inTransaction([userId], (trx) => this.write(trx, userId, key, value, pre));
    await this.audit(caller, 'put', row.username, [key]);
    return row;
  }

  async delete(caller: Caller, userId: number, username: string, key: string, pre: Precondition = {}): Promise<void> {
    await this.inTransaction([userId], (trx) => this.remove(trx, userId, key, pre));
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
