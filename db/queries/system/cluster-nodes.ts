import type { Knex } from 'knex';
import type { NodeKind } from '../../../shared/system/nodes';

/** A row of `cluster_nodes` (migration 016): an idcflow process heartbeating itself in, or an external node registered by its health URL. */
export interface ClusterNodeRow {
  id: string;
  kind: NodeKind;
  host: string;
  port: number | null;
  health_url: string | null;
  status: string;
  last_heartbeat: Date | null;
  load_factor: number | null;
  capabilities: string[];
  version: string | null;
  metadata: Record<string, unknown>;
  started_at: Date | null;
  last_checked_at: Date | null;
  last_check: ({ ok: boolean } & Record<string, unknown>) | null;
  created_by: number | null;
  created_at: Date;
  updated_at: Date;
}

export type ExternalNodeInsert = Pick<ClusterNodeRow, 'id' | 'host' | 'port' | 'health_url' | 'created_by'> & { kind: 'external'; status: string; capabilities: string; metadata: string };

/** Every node, by kind and id. */
export async function allClusterNodes(knex: Knex): Promise<ClusterNodeRow[]> {
  return knex<ClusterNodeRow>('cluster_nodes').orderBy('kind').orderBy('id');
}

export async function clusterNodeById(knex: Knex, id: string): Promise<ClusterNodeRow | undefined> {
  return knex<ClusterNodeRow>('cluster_nodes').where({ id }).first();
}

/** Registers an external node; an id already taken is left as it is. */
export async function insertExternalNode(knex: Knex, row: ExternalNodeInsert): Promise<void> {
  await knex('cluster_nodes').insert(row).onConflict('id').ignore();
}

export async function deleteClusterNode(knex: Knex, id: string): Promise<void> {
  await knex('cluster_nodes').where({ id }).delete();
}

/** Records a health check's result; an external node that answered counts it as its heartbeat. */
export async function recordNodeCheck(knex: Knex, id: string, check: { checked_at: string; ok: boolean }, heartbeat: boolean): Promise<void> {
  await knex('cluster_nodes').where({ id }).update({
    last_checked_at: check.checked_at, last_check: JSON.stringify(check), ...(heartbeat ? { last_heartbeat: check.checked_at } : {}), updated_at: knex.fn.now(),
  });
}
