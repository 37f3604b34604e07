import crypto from 'node:crypto';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import { safeEqual, sha256 } from '../../../shared/platform/crypto';
import { OFFERED_SCOPES } from '../../../shared/oauth/scopes';
import type { AppDeps } from '../../platform/deps';
import { postgresAdapter } from './adapter';
import { findAccount } from './accounts';
import { rememberedGrant } from './grants';
import { SigningKeys } from './keys';
import { errorPage } from '../interaction/pages';

export const OAUTH_PREFIX = '/oauth';

/** The OAuth 2.0 / OpenID Connect provider (oidc-provider), storing everything in PostgreSQL. */
export async function createOAuthProvider(deps: AppDeps): Promise<Provider> {
  const { knex, config } = deps;
  const keys = await new SigningKeys(knex, config.masterKey).load();
  const cookieKey = crypto.createHmac('sha256', config.masterKey).update('idcflow:oauth-cookies').digest('hex');
  const provider = new Provider(`${config.publicUrl}${OAUTH_PREFIX}`, {
    adapter: postgresAdapter(knex),
    jwks: { keys },
    findAccount: (_ctx, sub) => findAccount(knex, sub),
    claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'updated_at'], email: ['email', 'email_verified'] },
    scopes: OFFERED_SCOPES,
    // The authorization code flow only: the implicit and hybrid flows (tokens in the URL) are refused.
    responseTypes: ['code'],
    // PKCE for every client, confidential ones included (OAuth 2.1): a stolen code is useless without its verifier.
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // A client introspects and revokes only the tokens issued to it.
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
    },
    extraClientMetadata: { properties: ['idcflow_trusted'] },
    interactions: { url: (_ctx, interaction) => `${OAUTH_PREFIX}/interaction/${interaction.uid}` },
    loadExistingGrant: (ctx: KoaContextWithOIDC) => rememberedGrant(knex, ctx),
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    cookies: { keys: [cookieKey] },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = errorPage({ ...out });
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      ClientCredentials: 600,
      IdToken: 3600,
      Interaction: 3600,
      Grant: 14 * 86400,
      Session: 14 * 86400,
      RefreshToken: 14 * 86400,
    },
  });
  provider.proxy = config.trustProxy > 0;
  provider.maxIpsCount = config.trustProxy;
  // Client secrets are stored as sha256 hashes (clients/metadata.ts): compare the hash of the one presented.
  provider.Client.prototype.compareClientSecret = function compareHashed(this: { clientSecret?: string }, actual: string) {
    return Promise.resolve(Boolean(this.clientSecret) && safeEqual(sha256(actual), this.clientSecret!));
  };
  return provider;
}
