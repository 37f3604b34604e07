import type { Knex } from 'knex';
import { ApiTokens } from './api-tokens';

/** What a password change ended, by kind. */
export interface EndedCredentials {
  /** Sign-in sessions: the API's (`sessions`) and the OAuth provider's sign-in sessions. */
  sessions_ended: number;
  /** OAuth consents (oidc-provider grants) the user gave to clients. */
  oauth_grants_ended: number;
  /** OAuth authorization codes, access and refresh tokens issued for the user. */
  oauth_tokens_ended: number;
  /** API tokens, when asked to revoke them. */
  api_tokens_revoked: number;
}

/** oidc-provider's artefacts that stand for a user carry `accountId`; a client credentials token stands for no user. */
const OAUTH_SESSION_KINDS = ['Session'];
const OAUTH_GRANT_KINDS = ['Grant'];

/**
 * Ends everything a user's old password let in (a password change): every sign-in session but `keepSessionId` (the one
 * that made a self-service change), every OAuth grant with the codes and tokens issued under it, the OAuth provider's
 * sign-in sessions and, when `revokeApiTokens`, every API token. One transaction; the triggers of migration 021 announce
 * each ended session and token to every API replica's credential cache when it commits.
 */
export async function endUserCredentials(knex: Knex, userId: number, opts: { keepSessionId?: string; revokeApiTokens: boolean }): Promise<EndedCredentials> {
  return knex.transaction(async (trx) => {
    const sessions = await trx('sessions').where({ user_id: userId }).whereNull('revoked_at')
      .modify((q) => { if (opts.keepSessionId) q.whereNot('id', opts.keepSessionId); })
      .update({ revoked_at: trx.fn.now() });
    const account = String(userId);
    const grants = trx('oauth_payloads').where({ kind: 'Grant' }).whereRaw("payload->>'accountId' = ?", [account]).select('id');
    const deleted: Array<{ kind: string }> = await trx('oauth_payloads')
      .where((w) => w.whereRaw("payload->>'accountId' = ?", [account]).orWhereIn('grant_id', grants))
      .delete()
      .returning('kind');
    const count = (kinds: string[]) => deleted.filter((d) => kinds.includes(d.kind)).length;
    const oauthSessions = count(OAUTH_SESSION_KINDS);
    const oauthGrants = count(OAUTH_GRANT_KINDS);
    const apiTokens = opts.revokeApiTokens ? await new ApiTokens(trx).revokeAllOf(userId, trx) : 0;
    return {
      sessions_ended: sessions + oauthSessions,
      oauth_grants_ended: oauthGrants,
      // Interactions (a sign-in page in progress) are neither: they end with the rest but are not counted.
      oauth_tokens_ended: deleted.filter((d) => ![...OAUTH_SESSION_KINDS, ...OAUTH_GRANT_KINDS, 'Interaction'].includes(d.kind)).length,
      api_tokens_revoked: apiTokens,
    };
  });
}
