import type { Knex } from 'knex';
import { notFound } from '../../shared/platform/errors';
import { audit } from '../platform/audit';
import type { Principal } from '../platform/auth/principal';
import type { Caller } from '../platform/caller';
import { iso } from '../platform/http/schemas';

/** A user's remembered consents (oidc-provider grants), listed and withdrawn by the user. */
export class OAuthConsents {
  constructor(private readonly knex: Knex) {}

  private grants(userId: number | null) {
    return this.knex('oauth_payloads as p').where('p.kind', 'Grant')
      .whereRaw("p.payload->>'accountId' = ?", [String(userId ?? -1)])
      .where('p.expires_at', '>', this.knex.fn.now());
  }

  async list(principal: Principal) {
    const rows = await this.grants(principal.userId)
      .leftJoin('oauth_clients as c', 'c.client_id', this.knex.raw("p.payload->>'clientId'"))
      .select(this.knex.raw("p.payload->>'clientId' as client_id"), 'c.name', this.knex.raw("coalesce(p.payload->'openid'->>'scope', '') as scope"), 'p.expires_at')
      .orderBy('p.expires_at', 'desc');
    return rows.map((r: { client_id: string; name: string | null; scope: string; expires_at: Date }) => ({ ...r, expires_at: iso(r.expires_at) }));
  }

  /** Deletes the user's grants to the client and every code and token issued under them. */
  async revoke(caller: Caller, clientId: string) {
    const ids = (await this.grants(caller.principal.userId).whereRaw("p.payload->>'clientId' = ?", [clientId]).select('p.id')).map((r: { id: string }) => r.id);
    if (!ids.length) throw notFound('consent for client', clientId);
    await this.knex.transaction(async (trx) => {
      await trx('oauth_payloads').whereIn('grant_id', ids).delete();
      await trx('oauth_payloads').where({ kind: 'Grant' }).whereIn('id', ids).delete();
    });
    await audit(this.knex, caller, { module: 'oauth', action: 'consent_revoke', message: `Consent to OAuth client ${clientId} withdrawn`, resourceType: 'oauth_client', resourceId: clientId });
  }
}
