import type { Client } from '@temporalio/client';
import { activeOperation } from '../platform/operations/settle';
import { busyConflict } from '../platform/operations/present';
import { viewerOf } from '../platform/auth/principal';
import type { Caller } from '../platform/caller';

/**
 * A delete starts its operation after the row is gone; a second operation on a busy resource would be refused then,
 * with the row already deleted. So a resource with an operation running (still, once settled against Temporal) is
 * refused first, naming the running operation only to its creator and admins.
 */
export async function refuseWhileBusy(temporal: Client, caller: Caller, type: string, id: number): Promise<void> {
  const running = await activeOperation(temporal, { resource_type: type, resource_id: String(id) });
  if (running) throw busyConflict(viewerOf(caller.principal), running, { type, id });
}
