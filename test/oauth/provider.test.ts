import crypto from 'node:crypto';
import * as oidc from 'openid-client';
import { generate } from 'otplib';
import { freePort } from '../../workers/embedded-services';
import { startTestApi, expectError, eventually, type TestApi, type TestUser } from '../support/api';
import { Browser } from './browser';

const REDIRECT = 'http://127.0.0.1:9/callback';
let api: TestApi;
let issuer: URL;
let alice: TestUser;

beforeAll(async () => {
  const port = await freePort();
  api = await startTestApi({ PORT: String(port) });
  issuer = new URL(`http://127.0.0.1:${port}/oauth`);
  alice = await api.createUser('user', { full_name: 'Alice Example' });
});
afterAll(async () => { await api.close(); });

async function registerClient(token: string, body: Record<string, unknown>) {
  const res = await api.call('POST', '/api/v1/oauth/clients', { token, body: { name: 'panel', redirect_uris: [REDIRECT], scopes: ['openid', 'profile', 'email', 'read', 'write'], ...body } });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${res.text}`);
  return res.body.data as { client_id: string; client_secret: string | null };
}

/** The OAuth error code of a refused request, as openid-client reports it (a body error or a WWW-Authenticate challenge). */
async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    const e = err as { error?: string; cause?: Array<{ parameters?: { error?: string } }> };
    return e.error ?? e.cause?.[0]?.parameters?.error ?? String(err);
  }
  throw new Error('the request was not refused');
}

async function rp(client: { client_id: string; client_secret: string | null }) {
  return oidc.discovery(issuer, client.client_id, client.client_secret ?? undefined,
    client.client_secret ? oidc.ClientSecretBasic(client.client_secret) : oidc.None(), { execute: [oidc.allowInsecureRequests] });
}

async function signIn(config: oidc.Configuration, user: TestUser, scope: string, browser = new Browser(), consent: 'allow' | 'deny' = 'allow') {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope, state, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
  const callback = await browser.authorize(url, REDIRECT, { username: user.username, password: user.password, consent });
  return { callback, verifier, state, browser };
}

describe('authorization code + PKCE through the sign-in and consent pages', () => {
  it('signs the user in, asks consent, issues tokens whose sub is the idcflow user, and userinfo answers', async () => {
    const client = await registerClient(alice.token, {});
    const config = await rp(client);
    expect(config.serverMetadata()).toMatchObject({ issuer: issuer.href, code_challenge_methods_supported: ['S256'], response_types_supported: ['code'] });
    const { callback, verifier, state, browser } = await signIn(config, alice, 'openid profile email read');
    expect(browser.pages).toEqual(['login', 'consent']);
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()!.sub).toBe(String(alice.id));
    const info = await oidc.fetchUserInfo(config, tokens.access_token, String(alice.id));
    // A token in the query string is not a credential, at the provider or at the API.
    const inQuery = await fetch(`${issuer.href}/me?access_token=${tokens.access_token}`);
    expect(inQuery.status).toBeGreaterThanOrEqual(400);
    expectError(await api.call('GET', `/api/v1/user-data?access_token=${tokens.access_token}`), 401, 'INVALID_CREDENTIALS');
    expect(info).toMatchObject({ sub: String(alice.id), preferred_username: alice.username, name: 'Alice Example', email: `${alice.username}@example.test` });
    // The access token calls the API within its scopes: read, not write.
    expect((await api.call('GET', '/api/v1/user-data', { token: tokens.access_token })).status).toBe(200);
    expectError(await api.call('PUT', '/api/v1/user-data/x', { token: tokens.access_token, body: { value: 1 } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('GET', '/api/v1/users', { token: tokens.access_token }), 403, 'INSUFFICIENT_PERMISSIONS');

    // Consent is remembered for this user and client, in a new browser session too; write needs a new consent.
    const again = await signIn(config, alice, 'openid read');
    expect(again.browser.pages).toEqual(['login']);
    const wider = await signIn(config, alice, 'openid read write');
    expect(wider.browser.pages).toEqual(['login', 'consent']);
    const writer = await oidc.authorizationCodeGrant(config, wider.callback, { pkceCodeVerifier: wider.verifier, expectedState: wider.state });
    expect((await api.call('PUT', '/api/v1/user-data/x', { token: writer.access_token, body: { value: 1 } })).status).toBe(201);

    // The user withdraws consent: the tokens stop at once, and the next sign-in asks again.
    const consents = await api.call('GET', '/api/v1/oauth/consents', { token: alice.token });
    expect(consents.body.data.consents).toEqual([expect.objectContaining({ client_id: client.client_id, name: 'panel' })]);
    expect((await api.call('DELETE', `/api/v1/oauth/consents/${client.client_id}`, { token: alice.token })).status).toBe(200);
    expectError(await api.call('GET', '/api/v1/user-data', { token: writer.access_token }), 401, 'INVALID_CREDENTIALS');
    expect((await signIn(config, alice, 'openid read')).browser.pages).toEqual(['login', 'consent']);
    expectError(await api.call('DELETE', `/api/v1/oauth/consents/${client.client_id}x`, { token: alice.token }), 404, 'RESOURCE_NOT_FOUND');
  });

  it('a trusted client skips the consent page; a denied consent returns access_denied', async () => {
    const admin = await api.admin();
    const trusted = await registerClient(admin, { name: 'portal', is_trusted: true });
    const { browser } = await signIn(await rp(trusted), alice, 'openid profile');
    expect(browser.pages).toEqual(['login']);
    const plain = await registerClient(alice.token, {});
    const denied = await signIn(await rp(plain), alice, 'openid', new Browser(), 'deny');
    expect(denied.callback.searchParams.get('error')).toBe('access_denied');
  });

  it('a public client must use PKCE; a code without its verifier is refused', async () => {
    const pub = await registerClient(alice.token, { client_type: 'public' });
    expect(pub.client_secret).toBeNull();
    const config = await rp(pub);
    const noChallenge = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', state: 's' });
    const res = await new Browser().request(noChallenge.href);
    const location = new URL(res.headers.get('location')!);
    expect(location.href.startsWith(REDIRECT)).toBe(true);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/);

    const { callback, state } = await signIn(config, alice, 'openid');
    expect(await refusal(oidc.authorizationCodeGrant(config, callback, { expectedState: state }))).toBe('invalid_grant');
  });

  it('refuses a wrong redirect URI, an inactive client and the implicit flow', async () => {
    const client = await registerClient(alice.token, {});
    const config = await rp(client);
    const challenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
    const base = { scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', state: 's' };
    const wrong = await new Browser().request(oidc.buildAuthorizationUrl(config, { ...base, redirect_uri: 'https://evil.example/cb' }).href);
    expect(wrong.status).toBe(400);
    expect(wrong.headers.get('location')).toBeNull();
    expect(await wrong.text()).toMatch(/redirect_uri/);

    const implicit = await new Browser().request(oidc.buildAuthorizationUrl(config, { ...base, redirect_uri: REDIRECT, response_type: 'token' }).href);
    const implicitAnswer = implicit.headers.get('location') ?? await implicit.text();
    expect(implicitAnswer).toMatch(/unsupported_response_type/);
    const idToken = await new Browser().request(oidc.buildAuthorizationUrl(config, { ...base, redirect_uri: REDIRECT, response_type: 'id_token token', nonce: 'n' }).href);
    expect(idToken.headers.get('location') ?? await idToken.text()).toMatch(/unsupported_response_type/);

    expect((await api.call('PATCH', `/api/v1/oauth/clients/${client.client_id}`, { token: alice.token, body: { is_active: false } })).status).toBe(200);
    const inactive = await new Browser().request(oidc.buildAuthorizationUrl(config, { ...base, redirect_uri: REDIRECT }).href);
    expect(inactive.status).toBe(400);
    expect(await inactive.text()).toMatch(/invalid_client|client is invalid/i);
  });
});

describe('the sign-in and consent pages', () => {
  it('refuse a wrong password, an unknown interaction, a wrong step and a foreign cookie', async () => {
    // Any user names their own client: the name is shown on the page as text, every markup character escaped.
    const client = await registerClient(alice.token, { name: '<script>alert(1)</script> & "panel"' });
    const config = await rp(client);
    const browser = new Browser();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', state: 's', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
    const start = await browser.request(url.href);
    const interaction = new URL(start.headers.get('location')!, url).href;
    const page = await browser.request(interaction);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const escapedName = '<strong>&#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;panel&#34;</strong>';
    const shown = await page.text();
    expect(shown).toContain(`to continue to ${escapedName}`);
    expect(shown).not.toContain('<script>');
    const wrong = await browser.request(`${interaction}/login`, { form: { username: alice.username, password: 'not-the-password' } });
    expect(wrong.status).toBe(401);
    const refusedPage = await wrong.text();
    expect(refusedPage).toContain('<p class="error" role="alert">Invalid username, password or authentication code</p>');
    expect(refusedPage).toContain(escapedName);
    const consentStep = await browser.request(`${interaction}/confirm`, { form: {} });
    expect(consentStep.status).toBe(400);
    expect((await new Browser().request(interaction)).status).toBe(400);
    expect((await browser.request(`${issuer.href}/interaction/not-a-real-uid`)).status).toBe(400);
    expect((await browser.request(`${interaction}/login`)).status).toBe(405);
    const xss = await browser.request(`${interaction}/login`, { form: { username: '<script>alert(1)</script>', password: 'x' } });
    expect(await xss.text()).not.toContain('<script>');
  });
});

describe('two-factor authentication on the sign-in page', () => {
  it('a user with a second factor signs in only with a code', async () => {
    const carol = await api.createUser('user');
    const { secret } = (await api.call('POST', '/api/v1/auth/2fa/enroll', { token: carol.token, body: { password: carol.password } })).body.data;
    expect((await api.call('POST', '/api/v1/auth/2fa/confirm', { token: carol.token, body: { code: await generate({ secret }) } })).status).toBe(200);
    const config = await rp(await registerClient(carol.token, {}));
    const url = async () => oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', state: 's', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
    await expect(new Browser().authorize(await url(), REDIRECT, { username: carol.username, password: carol.password })).rejects.toThrow('sign-in refused');
    await expect(new Browser().authorize(await url(), REDIRECT, { username: carol.username, password: carol.password, otp_code: '12345x' })).rejects.toThrow('sign-in refused');
    const next = await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });
    const callback = await new Browser().authorize(await url(), REDIRECT, { username: carol.username, password: carol.password, otp_code: next });
    expect(callback.searchParams.get('code')).toEqual(expect.any(String));
  });
});

describe('refresh tokens', () => {
  it('rotate on use; reusing a spent one revokes the whole grant', async () => {
    const client = await registerClient(alice.token, {});
    const config = await rp(client);
    const { callback, verifier, state } = await signIn(config, alice, 'openid read');
    const first = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(first.refresh_token).toBeTruthy();
    const second = await oidc.refreshTokenGrant(config, first.refresh_token!);
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect((await api.call('GET', '/api/v1/user-data', { token: second.access_token })).status).toBe(200);
    // The spent token again: refused, and the tokens issued after it stop too (reuse detection).
    expect(await refusal(oidc.refreshTokenGrant(config, first.refresh_token!))).toBe('invalid_grant');
    expect(await refusal(oidc.refreshTokenGrant(config, second.refresh_token!))).toBe('invalid_grant');
    expectError(await api.call('GET', '/api/v1/user-data', { token: second.access_token }), 401, 'INVALID_CREDENTIALS');
  });
});

describe('issue 22: PKCE for every client, tokens stored hashed', () => {
  it('a confidential client must use PKCE too: no challenge is refused, a code without its verifier is refused', async () => {
    const conf = await registerClient(alice.token, {});
    expect(conf.client_secret).toBeTruthy();
    const config = await rp(conf);
    const noChallenge = await new Browser().request(oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', state: 's' }).href);
    const location = new URL(noChallenge.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/);
    const { callback, state } = await signIn(config, alice, 'openid');
    expect(await refusal(oidc.authorizationCodeGrant(config, callback, { expectedState: state }))).toBe('invalid_grant');
  });

  it('the database holds no usable token: codes, access, refresh and client credentials tokens are kept under their sha256', async () => {
    const knex = api.deps.knex;
    const client = await registerClient(alice.token, { allowed_grant_types: ['authorization_code', 'refresh_token', 'client_credentials'], scopes: ['openid', 'read'] });
    const config = await rp(client);
    const { callback, verifier, state } = await signIn(config, alice, 'openid read');
    const code = callback.searchParams.get('code')!;
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    const cc = await oidc.clientCredentialsGrant(config, { scope: 'read' });
    const secrets = [code, tokens.access_token, tokens.refresh_token!, cc.access_token];
    const dump = JSON.stringify(await knex('oauth_payloads').select('*'));
    for (const secret of secrets) expect(dump).not.toContain(secret);
    const sha = (t: string) => crypto.createHash('sha256').update(t).digest('hex');
    const kinds = await knex('oauth_payloads').whereIn('id', secrets.map(sha)).pluck('kind');
    expect(kinds.sort()).toEqual(['AccessToken', 'AuthorizationCode', 'ClientCredentials', 'RefreshToken']);
    // What a database read yields is no bearer token: the hash itself is refused; the token works.
    const hashed = sha(tokens.access_token);
    expectError(await api.call('GET', '/api/v1/user-data', { token: hashed }), 401, 'INVALID_CREDENTIALS');
    expect((await api.call('GET', '/api/v1/user-data', { token: tokens.access_token })).status).toBe(200);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
    // Refresh, userinfo and revocation work on the hashed store.
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect((await oidc.fetchUserInfo(config, refreshed.access_token, oidc.skipSubjectCheck)).sub).toBe(String(alice.id));
    await oidc.tokenRevocation(config, refreshed.access_token);
    expectError(await api.call('GET', '/api/v1/user-data', { token: refreshed.access_token }), 401, 'INVALID_CREDENTIALS');
  });
});

describe('client credentials, introspection, revocation', () => {
  it('issues a token for the client, which acts as its owner within its scopes until revoked', async () => {
    const client = await registerClient(alice.token, { allowed_grant_types: ['client_credentials'], redirect_uris: [], scopes: ['read'] });
    const config = await rp(client);
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'read' });
    expect(tokens.scope).toBe('read');
    const introspected = await oidc.tokenIntrospection(config, tokens.access_token);
    expect(introspected).toMatchObject({ active: true, client_id: client.client_id, scope: 'read' });
    const list = await api.call('GET', '/api/v1/user-data', { token: tokens.access_token });
    expect(list.status).toBe(200);
    expectError(await api.call('PUT', '/api/v1/user-data/cc', { token: tokens.access_token, body: { value: 1 } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expect(await refusal(oidc.clientCredentialsGrant(config, { scope: 'write' }))).toBe('invalid_scope');
    await oidc.tokenRevocation(config, tokens.access_token);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    expectError(await api.call('GET', '/api/v1/user-data', { token: tokens.access_token }), 401, 'INVALID_CREDENTIALS');
  });

  it('holds a client to its rate_limit (API requests per hour with its tokens)', async () => {
    const client = await registerClient(alice.token, { allowed_grant_types: ['client_credentials'], redirect_uris: [], scopes: ['read'], rate_limit: 3 });
    const token = (await oidc.clientCredentialsGrant(await rp(client), { scope: 'read' })).access_token;
    for (let i = 0; i < 3; i++) expect((await api.call('GET', '/api/v1/user-data', { token })).status).toBe(200);
    const spent = await api.call('GET', '/api/v1/user-data', { token });
    expectError(spent, 429, 'RATE_LIMIT_EXCEEDED');
    expect(Number(spent.headers.get('retry-after'))).toBeGreaterThan(0);
    // The user's own credentials are not the client's.
    expect((await api.call('GET', '/api/v1/user-data', { token: alice.token })).status).toBe(200);
  });

  it('refuses a wrong secret, a rotated secret and an inactive client', async () => {
    const client = await registerClient(alice.token, { allowed_grant_types: ['client_credentials'], redirect_uris: [], scopes: ['read'] });
    expect(await refusal(oidc.clientCredentialsGrant(await rp({ ...client, client_secret: 'wrong-secret' }), { scope: 'read' }))).toBe('invalid_client');
    const rotated = await api.call('POST', `/api/v1/oauth/clients/${client.client_id}/secret`, { token: alice.token });
    expect(rotated.body.data.client_secret).toBeTruthy();
    expect(await refusal(oidc.clientCredentialsGrant(await rp(client), { scope: 'read' }))).toBe('invalid_client');
    const fresh = { ...client, client_secret: rotated.body.data.client_secret };
    const token = (await oidc.clientCredentialsGrant(await rp(fresh), { scope: 'read' })).access_token;
    await api.call('PUT', '/api/oauth/clients', { token: alice.token, body: { client_id: client.client_id, is_active: false } });
    expect(await refusal(oidc.clientCredentialsGrant(await rp(fresh), { scope: 'read' }))).toBe('invalid_client');
    expectError(await api.call('GET', '/api/v1/user-data', { token }), 401, 'INVALID_CREDENTIALS');
  });
});

describe('signing keys', () => {
  it('are generated once, sealed at rest, and rotate with the old key still published', async () => {
    const rows = await api.deps.knex('oauth_keys').select('kid', 'sealed');
    expect(rows.length).toBeGreaterThanOrEqual(1);
    for (const r of rows) expect(r.sealed).not.toMatch(/"d"\s*:/);
    const jwks = async () => (await (await fetch(`${issuer.href}/jwks`)).json()) as { keys: Array<{ kid: string; d?: string }> };
    const before = await jwks();
    expect(before.keys.every((k) => k.d === undefined)).toBe(true);
    const admin = await api.admin();
    expectError(await api.call('POST', '/api/v1/oauth/keys/rotate', { token: alice.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    const rotated = await api.call('POST', '/api/v1/oauth/keys/rotate', { token: admin });
    const after = await jwks();
    expect(after.keys[0].kid).toBe(rotated.body.data.kid);
    expect(after.keys.map((k) => k.kid)).toEqual(expect.arrayContaining(before.keys.map((k) => k.kid)));
    // Another API process picks the new key up by itself.
    const otherPort = await freePort();
    const other = await startTestApi({ PORT: String(otherPort) });
    try {
      await eventually(async () => {
        const keys = (await (await fetch(`http://127.0.0.1:${otherPort}/oauth/jwks`)).json()) as { keys: Array<{ kid: string }> };
        return keys.keys[0].kid === rotated.body.data.kid;
      }, 15_000, 'the other process to publish the new key first');
      const again = await api.call('POST', '/api/v1/oauth/keys/rotate', { token: admin });
      await eventually(async () => {
        const keys = (await (await fetch(`http://127.0.0.1:${otherPort}/oauth/jwks`)).json()) as { keys: Array<{ kid: string }> };
        return keys.keys[0].kid === again.body.data.kid;
      }, 15_000, 'the other process to follow a rotation made elsewhere');
      rotated.body.data.kid = again.body.data.kid;
    } finally {
      await other.close();
    }
    // ID tokens are signed with the new key.
    const client = await registerClient(alice.token, {});
    const config = await rp(client);
    const { callback, verifier, state } = await signIn(config, alice, 'openid');
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    const header = JSON.parse(Buffer.from(tokens.id_token!.split('.')[0], 'base64url').toString());
    expect(header.kid).toBe(rotated.body.data.kid);
  });
});
