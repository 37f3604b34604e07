import type { Knex } from 'knex';
import { AppError } from '../../shared/platform/errors';
import type { Caller } from '../platform/caller';
import { viewerOf } from '../platform/auth/principal';
import { UserDataRecords, checkValue, type UserDataRow } from './records';
import { UserDataTargets, type TargetUser } from './targets';
import type { AppDeps } from '../platform/deps';

export interface BulkOperation {
  key: string;
  action: 'add' | 'update' | 'delete';
  value?: unknown;
  username?: string;
}

/** atomic (default): all or nothing. partial: each operation on its own, as the original did. */
export type BulkMode = 'atomic' | 'partial';

export interface BulkResult {
  key: string;
  username?: string;
  status: 'success' | 'error' | 'skipped';
  action?: 'delete';
  data?: { id: number; data_key: string; data_value: unknown };
  error?: string;
  code?: string;
}

const failure = (err: unknown): { error: string; code: string; status: number } => {
  if (err instanceof AppError) return { error: err.message, code: err.code, status: err.status };
  throw err;
};

/** Rolls a transaction back after every operation was tried, so the answer can say what each would have done. */
class RolledBack extends Error {}

/** Seed 004's bulk operations on user data. */
export class UserDataBulk {
  private readonly records: UserDataRecords;
  private readonly targets: UserDataTargets;

  constructor(deps: AppDeps) {
    this.records = new UserDataRecords(deps);
    this.targets = new UserDataTargets(deps.knex);
  }

  async run(caller: Caller, ops: BulkOperation[], mode: BulkMode) {
    // Who and what each operation means, checked before anything is written.
    const prepared = await Promise.all(ops.map(async (op) => {
      try {
        const user = await this.targets.byName(caller.principal, op.username);
        if (op.action !== 'delete') checkValue(op.value, 'value');
        return { op, user };
      } catch (err) {
        return { op, problem: failure(err) };
      }
    }));
    const label = (op: BulkOperation, user?: TargetUser) => ({ key: op.key, ...(op.username ? { username: user?.username ?? op.username } : {}) });
    const results: BulkResult[] = prepared.map((p) => ({ ...label(p.op, p.user), status: 'skipped' }));
    const apply = async (i: number, trx: Knex.Transaction) => {
      const { op, user } = prepared[i] as { op: BulkOperation; user: TargetUser };
      if (op.action === 'delete') {
        await this.records.remove(trx, viewerOf(caller.principal), user.id, op.key);
        results[i] = { ...label(op, user), status: 'success', action: 'delete' };
      } else {
        const row = await this.records.write(trx, viewerOf(caller.principal), user.id, op.key, op.value);
        results[i] = { ...label(op, user), status: 'success', data: present(row) };
      }
    };
    const record = (i: number, err: unknown) => {
      const f = failure(err);
      results[i] = { ...label(prepared[i].op, prepared[i].user), status: 'error', error: f.error, code: f.code };
      return f;
    };
    let firstFailure: { error: string; code: string; status: number; index: number } | undefined;
    prepared.forEach((p, i) => {
      if (!p.problem) return;
      results[i] = { ...label(p.op), status: 'error', error: p.problem.error, code: p.problem.code };
      firstFailure ??= { ...p.problem, index: i };
    });

    if (mode === 'partial') {
      for (let i = 0; i < prepared.length; i++) {
        const user = prepared[i].user;
        if (!user) continue;
        try {
          await this.records.inTransaction([user.id], (trx) => apply(i, trx));
        } catch (err) {
          record(i, err);
        }
      }
    } else if (!firstFailure) {
      const userIds = prepared.map((p) => p.user!.id);
      try {
        await this.records.inTransaction(userIds, async (trx) => {
          for (let i = 0; i < prepared.length; i++) {
            // Each operation under a savepoint, so one failure does not hide what the next would have done.
            try {
              await trx.transaction((sp) => apply(i, sp));
            } catch (err) {
              firstFailure ??= { ...record(i, err), index: i };
            }
          }
          if (firstFailure) throw new RolledBack();
        });
      } catch (err) {
        if (!(err instanceof RolledBack)) {
          const f = failure(err);
          firstFailure ??= { ...f, index: -1 };
        }
        for (const r of results) if (r.status === 'success') r.status = 'skipped';
      }
    }
    const successCount = results.filter((r) => r.status === 'success').length;
    if (mode === 'atomic' && firstFailure) {
      const code = firstFailure.code === 'PAYLOAD_TOO_LARGE' || firstFailure.code === 'INSUFFICIENT_PERMISSIONS' || firstFailure.code === 'RESOURCE_NOT_FOUND' || firstFailure.code === 'VALIDATION_ERROR' ? firstFailure.code : 'CONFLICT';
      throw new AppError(code as 'CONFLICT', `No change made: operation ${firstFailure.index + 1} failed (${firstFailure.error})`, {
        success_count: 0, total_count: ops.length, failed_index: firstFailure.index, results,
      });
    }
    const changed = results.filter((r) => r.status === 'success');
    if (changed.length) {
      const byUser = new Map<string, string[]>();
      for (const r of changed) byUser.set(r.username ?? caller.principal.username, [...(byUser.get(r.username ?? caller.principal.username) ?? []), r.key]);
      for (const [username, keys] of byUser) await this.records.audit(caller, 'bulk', username, keys);
    }
    return { success_count: successCount, total_count: ops.length, results };
  }
}

export const present = (row: UserDataRow) => ({ id: Number(row.id), data_key: row.key, data_value: row.value });
