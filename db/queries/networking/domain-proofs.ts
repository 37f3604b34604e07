import type { Knex } from 'knex';
import type { ProofMethod } from '../../../shared/networking/domain-proof';

/** A reverse proxy's claim of its domain, as the proof of control sees it. */
export interface DomainClaimRow {
  id: number;
  host_id: number;
  instance_id: number;
  domain: string;
  state: string;
  verification_token: string;
  verified_at: Date | null;
  verified_via: ProofMethod | null;
  verification_checked_at: Date | null;
  verification_error: string | null;
  /** The instance's owner (null: an instance without one, an admin's). */
  owner_id: number | null;
}

const CLAIM_COLUMNS = [
  'r.id', 'r.host_id', 'r.instance_id', 'r.domain', 'r.state', 'r.verification_token', 'r.verified_at', 'r.verified_via',
  'r.verification_checked_at', 'r.verification_error', 'i.owner_id',
];

/** Only proxies whose domain is proven are served (rendered into the host's proxy, given certificates). */
export const servedOnly = <T extends Knex.QueryBuilder>(query: T, alias = 'r'): T => query.whereNotNull(`${alias}.verified_at`) as T;

/** The one claim of a domain that is proven, if any (of live instances). */
export async function verifiedClaim(knex: Knex | Knex.Transaction, domain: string): Promise<DomainClaimRow | undefined> {
  return knex('reverse_proxies as r').join('instances as i', 'i.id', 'r.instance_id')
    .where('r.domain', domain).whereNotNull('r.verified_at').whereNull('i.deleted_at').first(CLAIM_COLUMNS);
}

/** Whether this owner (null: instances without one) already claims the domain through one of its live instances. */
export async function ownerClaims(knex: Knex | Knex.Transaction, domain: string, ownerId: number | null): Promise<boolean> {
  const q = knex('reverse_proxies as r').join('instances as i', 'i.id', 'r.instance_id').where('r.domain', domain).whereNull('i.deleted_at');
  if (ownerId === null) q.whereNull('i.owner_id');
  else q.where('i.owner_id', ownerId);
  return Boolean(await q.first('r.id'));
}

export async function claimById(knex: Knex | Knex.Transaction, id: number): Promise<DomainClaimRow | undefined> {
  return knex('reverse_proxies as r').join('instances as i', 'i.id', 'r.instance_id').where('r.id', id).first(CLAIM_COLUMNS);
}

/**
 * Records the claim as proven (by `via`) and puts it in flight (`pending`: the apply that serves it is under way, so a
 * drift check does not take it for drift). 'taken' when another claim of the domain was proven first (the partial
 * unique index decides a race); 'gone' when the claim is not there, or not in place (being added or removed).
 */
export async function markProven(knex: Knex, id: number, via: ProofMethod): Promise<'proven' | 'already' | 'taken' | 'gone'> {
  try {
    const n = await knex('reverse_proxies').where({ id, state: 'active' }).whereNull('verified_at')
      .update({ verified_at: knex.fn.now(), verified_via: via, verification_checked_at: knex.fn.now(), verification_error: null, state: 'pending', updated_at: knex.fn.now() });
    if (n) return 'proven';
  } catch (err) {
    if ((err as { code?: string }).code === '23505') return 'taken';
    throw err;
  }
  const row = await knex('reverse_proxies').where({ id }).first('verified_at', 'state');
  if (!row) return 'gone';
  return row.verified_at ? 'already' : 'gone';
}

/** A check that found no proof: the claim stays pending, with the reason its owner sees. */
export async function recordProofFailure(knex: Knex, id: number, reason: string): Promise<void> {
  await knex('reverse_proxies').where({ id }).whereNull('verified_at').update({ verification_checked_at: knex.fn.now(), verification_error: reason.slice(0, 2000) });
}

/** Undoes markProven when the apply that was to serve the domain failed: the claim is pending again, and in place. */
export async function unmarkProven(knex: Knex, id: number, reason: string): Promise<void> {
  await knex('reverse_proxies').where({ id, state: 'pending' }).whereNotNull('verified_at')
    .update({ verified_at: null, verified_via: null, verification_error: reason.slice(0, 2000), state: 'active', updated_at: knex.fn.now() });
}
