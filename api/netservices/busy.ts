import type { Client } from '@temporalio/client';
import { conflict } from '../../shared/platform/errors';
import { activeOperation } from '../platform/operations/settle';

/**
 * A delete starts its operation after the row is gone; a second operation on a busy resource would be refused then,
 * with the row already deleted. So a resource with an operation running (still, once settled against Temporal) is refused first, naming it.
 */
export async function refuseWhileBusy(temporal: Client, type: string, id: number): Promise<void> {
  const running = await activeOperation(temporal, { resource_type: type, resource_id: String(id) });
  if (running) throw conflict(`Operation ${running.id} is already running on ${type} ${id}`, { operation_id: running.id, operation_type: running.type });
}
