import { Context } from '@temporalio/activity';
import type { ActivityDeps } from '../platform/deps';
import { faultPoint } from '../platform/fault-injection';

/**
 * The log center's cleanup: entries older than a cutoff, deleted in batches of `batchSize` (each its own short
 * transaction, oldest first through the time index), heartbeating the count so far. A worker that dies half-way is
 * noticed at the heartbeat timeout; the retry carries the count on from the last heartbeat and deletes what is left —
 * deleting "older than the cutoff" again never touches anything else.
 */
export function createLogActivities({ knex }: ActivityDeps) {
  return {
    async purgeLogEntries({ before, batchSize }: { before: string; batchSize: number }): Promise<{ deleted: number; batches: number }> {
      const ctx = Context.current();
      const resumed = (ctx.info.heartbeatDetails as { deleted?: number; batches?: number } | undefined) ?? {};
      let deleted = resumed.deleted ?? 0;
      let batches = resumed.batches ?? 0;
      for (;;) {
        const { rowCount } = await knex.raw(
          'DELETE FROM log_entries WHERE id IN (SELECT id FROM log_entries WHERE at < ? ORDER BY at, id LIMIT ?)', [new Date(before), batchSize]);
        deleted += rowCount ?? 0;
        batches += 1;
        ctx.heartbeat({ deleted, batches });
        if ((rowCount ?? 0) < batchSize) return { deleted, batches };
        await faultPoint('purgeLogEntries.batch');
      }
    },
  };
}

export type LogActivities = ReturnType<typeof createLogActivities>;
