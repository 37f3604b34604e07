import type { Knex } from 'knex';
import type { AcmeChallenge, AcmeSettings } from '../../../shared/networking/acme';
import { IN_FLIGHT_STATES, LIVE_STATES } from './network-rows';

/** A row of `host_acme` (migration 024): where a host's proxies' TLS certificates come from, in the desired state like a proxy. */
export interface HostAcmeRow {
  host_id: number;
  directory: string;
  email: string | null;
  ca_root_pem: string | null;
  challenges: AcmeChallenge[];
  state: 'pending' | 'active' | 'deleting';
  updated_at: Date;
}

/** A host's ACME settings (being applied or in place), or null (its TLS domains use Caddy's internal CA). */
export async function hostAcme(knex: Knex, hostId: number): Promise<AcmeSettings | null> {
  const r = await knex<HostAcmeRow>('host_acme').where({ host_id: hostId }).whereIn('state', LIVE_STATES).first();
  return r ? { directory: r.directory, email: r.email ?? null, caRootPem: r.ca_root_pem ?? null, challenges: r.challenges } : null;
}

/** Where a host's settings stand (whatever their state), if it has any. */
export async function hostAcmeState(knex: Knex, hostId: number): Promise<Pick<HostAcmeRow, 'state' | 'updated_at'> | undefined> {
  return knex('host_acme').where({ host_id: hostId }).first('state', 'updated_at');
}

/** Whether an operation is changing the host's ACME settings right now: a drift check leaves the proxy's config alone then. */
export async function acmeInFlight(knex: Knex, hostId: number): Promise<boolean> {
  return Boolean(await knex('host_acme').where({ host_id: hostId }).whereIn('state', IN_FLIGHT_STATES).first('host_id'));
}

/** Writes a host's settings in `state` (pending: to be applied; active: put back as they were). */
export async function saveHostAcme(knex: Knex, hostId: number, a: AcmeSettings, state: 'pending' | 'active'): Promise<void> {
  await knex('host_acme').insert({
    host_id: hostId, directory: a.directory, email: a.email, ca_root_pem: a.caRootPem, challenges: JSON.stringify(a.challenges), state, updated_at: knex.fn.now(),
  }).onConflict('host_id').merge();
}

/** The host's settings leave its desired state (Caddy's internal CA again once applied). */
export async function markHostAcmeDeleting(knex: Knex, hostId: number): Promise<void> {
  await knex('host_acme').where({ host_id: hostId }).update({ state: 'deleting', updated_at: knex.fn.now() });
}

export async function deleteHostAcme(knex: Knex, hostId: number): Promise<void> {
  await knex('host_acme').where({ host_id: hostId }).delete();
}

/** The apply took the settings in: they are in place, or gone. */
export async function settleHostAcme(knex: Knex, hostId: number): Promise<void> {
  await knex('host_acme').where({ host_id: hostId, state: 'deleting' }).delete();
  await knex('host_acme').where({ host_id: hostId, state: 'pending' }).update({ state: 'active' });
}
