import type { Knex } from 'knex';
import { conflict } from '../../shared/platform/errors';

/**
 * A delete starts its operation after the row is gone; a second operation on a busy resource would be refused then,
 * with the row already deleted. So a resource with an operation running is refused first, naming it.
 */
export async function refuseWhileBusy(knex: Knex, type: string, id: number): Promise<void> {
  const running = await knex('operations').where({ resource_type: type, resource_id: String(id) }).whereIn('status', ['pending', 'running']).first('id', 'type');
  if (running) throw conflict(`Operation ${running.id} is already running on ${type} ${id}`, { operation_id: running.id, operation_type: running.type });
}
