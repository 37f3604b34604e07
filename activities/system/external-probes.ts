import type { Knex } from 'knex';
import type { Config } from '../../shared/platform/config';
import { probeHealthUrl } from './probe';

/** External nodes probed at once by one worker, at most. */
const BATCH = 20;

/**
 * A worker's share of the external nodes' probes: the nodes not checked for a heartbeat interval are claimed (their
 * check time set now, under FOR UPDATE SKIP LOCKED, so two workers never probe the same node at once), probed with
 * one bounded GET each, and their result recorded: an external node's heartbeat is its last successful probe.
 */
export async function probeDueExternalNodes(knex: Knex, config: Config): Promise<number> {
  const due = await knex.transaction(async (trx) => {
    const rows: Array<{ id: string; health_url: string }> = await trx('cluster_nodes').where({ kind: 'external' }).whereNotNull('health_url')
      .where((q) => q.whereNull('last_checked_at').orWhere('last_checked_at', '<', trx.raw('now() - make_interval(secs => ?)', [config.system.heartbeatSeconds])))
      .orderByRaw('last_checked_at nulls first').limit(BATCH).forUpdate().skipLocked().select('id', 'health_url');
    if (rows.length) await trx('cluster_nodes').whereIn('id', rows.map((r) => r.id)).update({ last_checked_at: trx.fn.now() });
    return rows;
  });
  await Promise.all(due.map(async (node) => {
    const check = { method: 'http', url: node.health_url, ...(await probeHealthUrl(node.health_url, config.system.probeTimeoutMs)) };
    await knex('cluster_nodes').where({ id: node.id, kind: 'external' }).update({
      last_checked_at: check.checked_at, last_check: JSON.stringify(check), ...(check.ok ? { last_heartbeat: check.checked_at } : {}), updated_at: knex.fn.now(),
    });
  }));
  return due.length;
}
