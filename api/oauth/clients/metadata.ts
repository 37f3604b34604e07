import type { ClientMetadata } from 'oidc-provider';
import type { OAuthClientRow } from '../../../db/queries/oauth/clients';

export type { OAuthClientRow } from '../../../db/queries/oauth/clients';

/**
 * A registered client as oidc-provider sees it. Its client_secret is the stored sha256 hash: the provider compares
 * a presented secret through compareClientSecret, which idcflow replaces with a hash comparison (provider/index.ts).
 */
export function clientMetadata(c: OAuthClientRow): ClientMetadata {
  const grantTypes = c.grant_types.filter((g) => g !== 'refresh_token' || c.grant_types.includes('authorization_code'));
  return {
    client_id: c.client_id,
    client_name: c.name,
    ...(c.logo_url ? { logo_uri: c.logo_url } : {}),
    ...(c.secret_hash ? { client_secret: c.secret_hash, token_endpoint_auth_method: 'client_secret_basic' } : { token_endpoint_auth_method: 'none' }),
    redirect_uris: c.redirect_uris,
    grant_types: grantTypes,
    response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
    // A client that signs users in may always ask for openid.
    scope: [...new Set([...(grantTypes.includes('authorization_code') ? ['openid'] : []), ...c.scopes])].join(' '),
    idcflow_trusted: c.is_trusted,
  };
}
