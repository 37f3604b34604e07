import type { Knex } from 'knex';
import type { Grant, KoaContextWithOIDC } from 'oidc-provider';

/**
 * The grant a request can reuse: the one this interaction or session made, else the user's remembered consent for
 * this client (kept until it expires or the user revokes it), else for a trusted client a new one covering the
 * request (no consent page).
 */
export async function rememberedGrant(knex: Knex, ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
  const { provider, client, session, result } = ctx.oidc;
  if (!client || !session?.accountId) return undefined;
  const known = result?.consent?.grantId || session.grantIdFor(client.clientId);
  if (known) {
    const grant = await provider.Grant.find(known);
    if (grant) return grant;
  }
  const stored = await knex('oauth_payloads').where({ kind: 'Grant' })
    .whereRaw("payload->>'accountId' = ? and payload->>'clientId' = ?", [session.accountId, client.clientId])
    .where('expires_at', '>', knex.fn.now()).orderBy('expires_at', 'desc').first('id');
  if (stored) {
    const grant = await provider.Grant.find(stored.id);
    if (grant) return grant;
  }
  if (!(client as unknown as { idcflow_trusted?: boolean }).idcflow_trusted) return undefined;
  const grant = new provider.Grant({ accountId: session.accountId, clientId: client.clientId });
  grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
  await grant.save();
  return grant;
}
