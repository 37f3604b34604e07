import type { Knex } from 'knex';

/** A row of `acl_logs` (migration 011): a derpMap fragment generated, updated or downloaded for a user. */
export interface AclLogRow {
  id: number;
  user_id: number;
  action: string;
  actor_id: number | null;
  acl: { derpMap?: { Regions?: Record<string, unknown> } } & Record<string, unknown>;
  at: Date;
}

export async function insertAclLog(knex: Knex, row: Pick<AclLogRow, 'user_id' | 'actor_id' | 'action'> & { acl: string }): Promise<void> {
  await knex('acl_logs').insert(row);
}

/** A user's newest `limit` entries. */
export async function aclLogsOf(knex: Knex, userId: number, limit: number): Promise<Array<Pick<AclLogRow, 'id' | 'action' | 'actor_id' | 'at' | 'acl'>>> {
  return knex('acl_logs').where({ user_id: userId }).orderBy('id', 'desc').limit(limit).select('id', 'action', 'actor_id', 'at', 'acl');
}
