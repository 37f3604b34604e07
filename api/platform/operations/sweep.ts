import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { Operation } from '../../../db/models/platform/operation';
import type { Logger } from '../../../shared/platform/logger';
import { ACTIVE_STATUSES, settleOperations, START_GRACE_MS, type OnSettled } from './settle';

/** The advisory lock that makes one API process at a time sweep (any 64-bit number of ours: "idcflow" in ASCII). */
const SWEEP_LOCK = '0x6964636677';
const BATCH = 200;
const SWEEP_BUDGET_MS = 30_000;

/**
 * One sweep: under a transaction-scoped advisory lock (a lease that ends with the sweep, or with the process's
 * connection), the active rows not touched for a while are settled against Temporal, oldest first; `onSettled` hears
 * of each row it ended (to publish its `operation.*` webhook event).
 * Answers how many rows it settled, or null when another process holds the lease.
 */
export async function sweepOperations(knex: Knex, temporal: Client, olderThanMs = START_GRACE_MS, onSettled?: OnSettled): Promise<number | null> {
  return knex.transaction(async (trx) => {
    const { rows } = await trx.raw<{ rows: Array<{ got: boolean }> }>(`SELECT pg_try_advisory_xact_lock(${SWEEP_LOCK}::bigint) AS got`);
    if (!rows[0].got) return null;
    const stale = await Operation.query().whereIn('status', ACTIVE_STATUSES).where('updated_at', '<', new Date(Date.now() - olderThanMs))
      .orderBy('updated_at').limit(BATCH);
    const settled = await settleOperations(temporal, stale, SWEEP_BUDGET_MS, true, onSettled);
    return settled.filter((op, i) => op.status !== stale[i].status).length;
  });
}

/** Sweeps every `seconds` until stopped; a sweep that fails (PostgreSQL away) is logged and the next one tries again. */
export function startOperationSweeper(knex: Knex, temporal: Client, logger: Logger, seconds: number, onSettled?: OnSettled): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const tick = () => {
    running = sweepOperations(knex, temporal, START_GRACE_MS, onSettled)
      .then((n) => { if (n) logger.info({ settled: n }, 'operation sweep settled rows'); })
      .catch((err) => logger.warn({ err: { message: (err as Error).message } }, 'operation sweep failed'))
      .finally(() => { if (!stopped) timer = setTimeout(tick, seconds * 1000).unref(); });
  };
  let timer = setTimeout(tick, seconds * 1000).unref();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
