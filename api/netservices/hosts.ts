import type { Knex } from 'knex';
import { validationError } from '../../shared/platform/errors';
import { hostByName, liveHostRow, type HostRow } from '../../db/queries/compute/hosts';

/** The host a network service runs on: the one named, or the host called `local` (the machine `npm start` registers). */
export async function networkHost(knex: Knex, hostId: number | undefined): Promise<HostRow> {
  const host = hostId ? await liveHostRow(knex, hostId) : await hostByName(knex, 'local');
  if (!host) throw validationError([{ field: 'host_id', location: 'body', message: hostId ? `host ${hostId} does not exist` : 'is required: there is no host named local' }]);
  return host;
}
