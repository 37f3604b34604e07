import type { Knex } from 'knex';
import { ApplicationFailure } from '@temporalio/activity';
import type { Logger } from '../../shared/platform/logger';
import { driverFor, type HostRow } from '../compute/engines';
import { containerName } from '../compute/engines/types';

const uuidOfRef = (ref: string) => (ref.startsWith(containerName('')) ? ref.slice(containerName('').length) : null);

/**
 * Where the record says an instance lives, if that is not `hostId`: its copy on `hostId` is stale (moved away by a
 * failover or a move, under a newer generation). A move still bringing it to `hostId` counts as here.
 */
async function livesElsewhere(knex: Knex, hostId: number, uuid: string): Promise<{ host_id: number; generation: number } | null> {
  const row = await knex('instances').where({ uuid }).whereNull('deleted_at').first('host_id', 'moving_to_host_id', 'generation');
  if (!row || row.host_id === hostId || row.moving_to_host_id === hostId) return null;
  return row;
}

/**
 * The fence an engine call passes before it creates or starts an instance on a host: a host that was failed over
 * (its generation bumped, the instance recorded elsewhere) never starts the instance again, even from an operation
 * that was already queued for its agent when it went away.
 */
export async function refuseFencedCopy(knex: Knex, hostId: number, ref: { uuid?: string; ref?: string }): Promise<void> {
  const uuid = ref.uuid ?? (ref.ref ? uuidOfRef(ref.ref.replace(/\.(next|replaced)$/, '')) : null);
  if (!uuid) return;
  const elsewhere = await livesElsewhere(knex, hostId, uuid);
  if (elsewhere) {
    throw ApplicationFailure.nonRetryable(`Instance ${uuid} now lives on host ${elsewhere.host_id} (generation ${elsewhere.generation}); this host was fenced and may not run it`, 'CONFLICT', { reason: 'fenced', host_id: elsewhere.host_id });
  }
}

/**
 * Removes this host's stale copies: containers idcflow made whose instance the record now places on another host.
 * Run by the host's agent when it starts and at each heartbeat, and for hosts without an agent by the health check.
 */
export async function removeStaleCopies(knex: Knex, masterKey: Buffer, hostId: number, logger?: Logger): Promise<string[]> {
  const host = await knex('hosts').where({ id: hostId }).whereNull('deleted_at').first();
  if (!host || host.engine_type === 'simulator') return [];
  const driver = driverFor(host as HostRow, masterKey);
  const removed: string[] = [];
  for (const found of await driver.list()) {
    if (!found.managed || !(await livesElsewhere(knex, hostId, found.uuid))) continue;
    await driver.delete(found.ref);
    removed.push(found.uuid);
    logger?.warn({ host: host.name, uuid: found.uuid, ref: found.ref }, 'removed a stale copy of an instance that was moved away from this host');
  }
  return removed;
}
