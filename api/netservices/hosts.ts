import type { Knex } from 'knex';
import { validationError } from '../../shared/platform/errors';

/** The host a network service runs on: the one named, or the host called `local` (the machine `npm start` registers). */
export async function networkHost(knex: Knex, hostId: number | undefined) {
  const host = hostId
    ? await knex('hosts').where({ id: hostId }).whereNull('deleted_at').first()
    : await knex('hosts').where({ name: 'local' }).whereNull('deleted_at').first();
  if (!host) throw validationError([{ field: 'host_id', location: 'body', message: hostId ? `host ${hostId} does not exist` : 'is required: there is no host named local' }]);
  return host as { id: number; name: string; address: string; public_addresses: string[] | null };
}
