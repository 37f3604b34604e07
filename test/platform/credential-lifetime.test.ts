import crypto from 'node:crypto';
import * as oidc from 'openid-client';
import { generate } from 'otplib';
import { freePort } from '../../workers/embedded-services';
import { startTestApi, expectError, type TestApi, type TestUser } from '../support/api';
import { Browser } from '../oauth/browser';

// Issue 22, "credential lifetime", tried as the attacker would: a leaked token minting more, a minted token outliving
// its parent, a password change leaving the attacker's sessions, grants and tokens alive, and the current-password
// checks used as a password oracle.
const REDIRECT = 'http://127.0.0.1:9/callback';
let a: TestApi;
let b: TestApi;
let issuer: URL;
beforeAll(async () => {
  const port = await freePort();
  a = await startTestApi({ PORT: String(port), IDCFLOW_LOGIN_MAX_FAILURES: '3' });
  b = await startTestApi({ IDCFLOW_LOGIN_MAX_FAILURES: '3' });
  issuer = new URL(`http://127.0.0.1:${port}/oauth`);
  for (const api of [a, b]) {
    const deadline = Date.now() + 10_000;
    while (!api.deps.notifications.listening) {
      if (Date.now() > deadline) throw new Error('the API never listened');
      await new Promise((r) => setTimeout(r, 20));
    }
  }
});
afterAll(async () => { await b.close(); await a.close(); });

const uid = () => crypto.randomBytes(4).toString('hex');
const mint = (credential: string, body: Record<string, unknown> = {}, api: TestApi = a) =>
  api.call('POST', '/api/v1/tokens', { token: credential, body: { name: `t-${uid()}`, ...body } });
const tokenCount = async (userId: number) => Number((await a.deps.knex('api_tokens').where({ user_id: userId }).count<{ n: string }[]>('* as n'))[0].n);
const me = (token: string, api: TestApi = a) => api.call('GET', '/api/v1/auth/me', { token });

/** Milliseconds until `token` is refused (401) on `api`; fails past 1 s. */
async function refusedWithin(api: TestApi, token: string): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const res = await me(token, api);
    const elapsed = performance.now() - t0;
    if (res.status === 401) return elapsed;
    expect(res.status).toBe(200);
    if (elapsed > 1000) throw new Error(`still accepted after ${elapsed.toFixed(0)} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('minting tokens needs the tokens scope', () => {
  let user: TestUser;
  beforeAll(async () => { user = await a.createUser('user'); });

  it('a ["view"] token cannot mint a token (403), and nothing is created', async () => {
    const viewOnly = (await mint(user.token, { scopes: ['view'] })).body.data.token as string;
    const before = await tokenCount(user.id);
    for (const body of [{}, { scopes: ['view'] }, { scopes: ['view'], expires_in_days: 1 }]) expectError(await mint(viewOnly, body), 403, 'INSUFFICIENT_PERMISSIONS');
    expect(await tokenCount(user.id)).toBe(before);
  });

  it('a token following its role cannot mint either, the admin’s included (`*` does not stand for `tokens`)', async () => {
    const full = (await mint(user.token)).body.data.token as string;
    expectError(await mint(full), 403, 'INSUFFICIENT_PERMISSIONS');
    const adminFull = await mint(await a.admin());
    expect(adminFull.status).toBe(201);
    expectError(await mint(adminFull.body.data.token), 403, 'INSUFFICIENT_PERMISSIONS');
    const star = await mint(await a.admin(), { scopes: ['*'] });
    expectError(await mint(star.body.data.token), 403, 'INSUFFICIENT_PERMISSIONS');
    expect((await me(full)).body.data.permissions).toEqual(['view', 'create', 'update', 'delete']);
  });

  it('a signed-in session may always mint, and may give the tokens scope; a token with it mints within its own scopes', async () => {
    const minter = await mint(user.token, { scopes: ['view', 'tokens'] });
    expect(minter.status).toBe(201);
    expect(minter.body.data).toMatchObject({ scopes: ['view', 'tokens'], parent_token_id: null });
    expect((await me(minter.body.data.token)).body.data.permissions).toEqual(['view', 'tokens']);
    const child = await mint(minter.body.data.token, { scopes: ['view'] });
    expect(child.status).toBe(201);
    expect(child.body.data).toMatchObject({ scopes: ['view'], parent_token_id: minter.body.data.id });
    expectError(await mint(child.body.data.token), 403, 'INSUFFICIENT_PERMISSIONS');
    const same = await mint(minter.body.data.token);
    expect(same.body.data.scopes).toEqual(['view', 'tokens']);
    expectError(await mint(minter.body.data.token, { scopes: ['view', 'create'] }), 403, 'INSUFFICIENT_PERMISSIONS');
    const list = await a.call('GET', '/api/v1/tokens', { token: user.token });
    expect(list.body.data.tokens.find((t: { id: number }) => t.id === child.body.data.id)).toMatchObject({ parent_token_id: minter.body.data.id });
  });

  it('the OpenAPI document says so: POST /tokens needs `tokens`, which is a scope a token may ask for', async () => {
    const doc = (await a.call('GET', '/api/v1/openapi.json')).body;
    const post = doc.paths['/api/v1/tokens'].post;
    expect(post['x-permission']).toBe('tokens');
    expect(JSON.stringify(post.requestBody)).toContain('"tokens"');
  });
});

describe('a minted token never outlives its parent', () => {
  it('inherits the parent’s expiry; asking for longer is a 422 naming expires_in_days and creates nothing', async () => {
    const user = await a.createUser('user');
    const parent = (await mint(user.token, { scopes: ['view', 'tokens'], expires_in_days: 2 })).body.data;
    const inherited = await mint(parent.token, { scopes: ['view'] });
    expect(inherited.status).toBe(201);
    expect(inherited.body.data.expires_at).toBe(parent.expires_at);
    const before = await tokenCount(user.id);
    const longer = await mint(parent.token, { expires_in_days: 30 });
    expectError(longer, 422, 'VALIDATION_ERROR');
    expect(longer.body.error.details.field).toBe('expires_in_days');
    expect(await tokenCount(user.id)).toBe(before);
    const shorter = await mint(parent.token, { expires_in_days: 1 });
    expect(new Date(shorter.body.data.expires_at).getTime()).toBeLessThan(new Date(parent.expires_at).getTime());
    // A parent without expiry lets its child choose one, or none.
    const forever = (await mint(user.token, { scopes: ['view', 'tokens'] })).body.data;
    expect((await mint(forever.token, { expires_in_days: 3650 })).status).toBe(201);
    expect((await mint(forever.token)).body.data.expires_at).toBeNull();
  });

  it('revoking a token revokes its children and theirs at once, on every replica: the child is 401', async () => {
    const user = await a.createUser('user');
    const parent = (await mint(user.token, { scopes: ['view', 'tokens'] })).body.data;
    const child = (await mint(parent.token, { scopes: ['view', 'tokens'] })).body.data;
    const grandchild = (await mint(child.token, { scopes: ['view'] }, b)).body.data;
    const sibling = (await mint(user.token, { scopes: ['view'] })).body.data;
    for (const t of [child.token, grandchild.token]) for (const api of [a, b]) for (let i = 0; i < 3; i++) expect((await me(t, api)).status).toBe(200);
    const revoked = await a.call('DELETE', `/api/v1/tokens/${parent.id}`, { token: user.token });
    expect(revoked.status).toBe(200);
    expect(revoked.body.data).toMatchObject({ id: parent.id, descendants_revoked: 2 });
    expect(revoked.body.data.revoked_at).toEqual(expect.any(String));
    await Promise.all([child.token, grandchild.token].flatMap((t) => [refusedWithin(a, t), refusedWithin(b, t)]));
    expectError(await me(child.token, b), 401, 'INVALID_CREDENTIALS');
    expect((await me(sibling.token)).status).toBe(200);
    const rows = await a.deps.knex('api_tokens').whereIn('id', [child.id, grandchild.id]).pluck('revoked_at');
    expect(rows.every(Boolean)).toBe(true);
  });

  it('a token revoking itself takes its children along; a revocation made in SQL does too', async () => {
    const user = await a.createUser('user');
    const parent = (await mint(user.token, { scopes: ['view', 'tokens'] })).body.data;
    const child = (await mint(parent.token, { scopes: ['view'] })).body.data;
    expect((await a.call('DELETE', `/api/v1/tokens/${parent.id}`, { token: parent.token })).status).toBe(200);
    await refusedWithin(b, child.token);
    const other = (await mint(user.token, { scopes: ['view', 'tokens'] })).body.data;
    const otherChild = (await mint(other.token, { scopes: ['view'] })).body.data;
    for (let i = 0; i < 3; i++) expect((await me(otherChild.token, b)).status).toBe(200);
    await a.deps.knex('api_tokens').where({ id: other.id }).update({ revoked_at: new Date() });
    await refusedWithin(b, otherChild.token);
  });

  it('another user’s token is a 404; a missing one 404; no credential 401', async () => {
    const [owner, stranger] = [await a.createUser('user'), await a.createUser('user')];
    const parent = (await mint(owner.token, { scopes: ['view', 'tokens'] })).body.data;
    expectError(await a.call('DELETE', `/api/v1/tokens/${parent.id}`, { token: stranger.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await a.call('DELETE', '/api/v1/tokens/99999999', { token: owner.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await a.call('DELETE', `/api/v1/tokens/${parent.id}`), 401, 'INVALID_CREDENTIALS');
    expectError(await mint(''), 401, 'INVALID_CREDENTIALS');
    expect((await me(parent.token)).status).toBe(200);
  });
});

async function registerClient(token: string) {
  const res = await a.call('POST', '/api/v1/oauth/clients', { token, body: { name: 'panel', redirect_uris: [REDIRECT], scopes: ['openid', 'read'] } });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${res.text}`);
  return res.body.data as { client_id: string; client_secret: string | null };
}

async function oauthTokens(user: TestUser) {
  const client = await registerClient(user.token);
  const config = await oidc.discovery(issuer, client.client_id, client.client_secret ?? undefined,
    client.client_secret ? oidc.ClientSecretBasic(client.client_secret) : oidc.None(), { execute: [oidc.allowInsecureRequests] });
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid read', state, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
  const callback = await new Browser().authorize(url, REDIRECT, { username: user.username, password: user.password });
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
  return { config, tokens };
}

describe('a password change ends what the old password let in', () => {
  it('self-service: every other session, every OAuth grant and token end; API tokens on request; the answer counts them', async () => {
    const victim = await a.createUser('user');
    const attacker = await a.login(victim.username, victim.password); // the attacker's stolen session
    const apiToken = (await mint(victim.token, { scopes: ['view'] })).body.data.token as string;
    const { config, tokens } = await oauthTokens(victim);
    expect(tokens.refresh_token).toBeTruthy();
    expect((await a.call('GET', '/api/v1/user-data', { token: tokens.access_token })).status).toBe(200);
    for (const api of [a, b]) for (let i = 0; i < 3; i++) expect((await me(attacker.access_token, api)).status).toBe(200);

    const res = await a.call('POST', `/api/v1/users/${victim.id}/reset-password`, { token: victim.token, body: { new_password: `new-${uid()}-password`, current_password: victim.password, revoke_api_tokens: true } });
    expect(res.status).toBe(200);
    // Sessions: the attacker's API session and the OAuth provider's sign-in session.
    expect(res.body.data).toMatchObject({ sessions_ended: 2, oauth_grants_ended: 1, api_tokens_revoked: 1 });
    expect(res.body.data.oauth_tokens_ended).toBeGreaterThanOrEqual(2);
    expect(await a.deps.knex('oauth_payloads').whereRaw("payload->>'accountId' = ?", [String(victim.id)]).first()).toBeUndefined();
    await refusedWithin(b, attacker.access_token);
    expectError(await a.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: attacker.refresh_token } }), 401, 'INVALID_CREDENTIALS');
    expectError(await a.call('GET', '/api/v1/user-data', { token: tokens.access_token }), 401, 'INVALID_CREDENTIALS');
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toBeTruthy();
    await refusedWithin(b, apiToken);
    expect((await me(victim.token)).status).toBe(200); // the session that changed it stays
    expect((await a.call('GET', '/api/v1/oauth/consents', { token: victim.token })).body.data.consents).toEqual([]);
  });

  it('without revoke_api_tokens the API tokens stay (and the answer says none were revoked)', async () => {
    const victim = await a.createUser('user');
    const apiToken = (await mint(victim.token, { scopes: ['view'] })).body.data.token as string;
    const res = await a.call('POST', `/api/v1/users/${victim.id}/reset-password`, { token: victim.token, body: { new_password: `new-${uid()}-password`, current_password: victim.password } });
    expect(res.body.data).toMatchObject({ sessions_ended: 0, oauth_grants_ended: 0, oauth_tokens_ended: 0, api_tokens_revoked: 0 });
    expect((await me(apiToken)).status).toBe(200);
  });

  it('an admin’s reset of another user ends all that user’s sessions and grants, without that user’s password', async () => {
    const victim = await a.createUser('user');
    const { tokens } = await oauthTokens(victim);
    const apiToken = (await mint(victim.token, { scopes: ['view'] })).body.data.token as string;
    const res = await a.call('POST', `/api/v1/users/${victim.id}/reset-password`, { token: await a.admin(), body: { new_password: `new-${uid()}-password`, revoke_api_tokens: true } });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ sessions_ended: 2, oauth_grants_ended: 1, api_tokens_revoked: 1 });
    await refusedWithin(b, victim.token);
    await refusedWithin(b, apiToken);
    expectError(await a.call('GET', '/api/v1/user-data', { token: tokens.access_token }), 401, 'INVALID_CREDENTIALS');
  });

  it('bad input is a 422 naming the field and changes nothing; another user 404; no credential 401', async () => {
    const [u, other] = [await a.createUser('user'), await a.createUser('user')];
    const second = await a.login(u.username, u.password);
    const missing = await a.call('POST', `/api/v1/users/${u.id}/reset-password`, { token: u.token, body: { new_password: 'another-password' } });
    expectError(missing, 422, 'VALIDATION_ERROR');
    expect(missing.body.error.details.field).toBe('current_password');
    const flag = await a.call('POST', `/api/v1/users/${u.id}/reset-password`, { token: u.token, body: { new_password: 'another-password', current_password: u.password, revoke_api_tokens: 'yes' } });
    expectError(flag, 422, 'VALIDATION_ERROR');
    expect(flag.body.error.details.errors.map((e: { field: string }) => e.field)).toEqual(['revoke_api_tokens']);
    expectError(await a.call('POST', `/api/v1/users/${other.id}/reset-password`, { token: u.token, body: { new_password: 'another-password', current_password: u.password } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await a.call('POST', `/api/v1/users/${u.id}/reset-password`, { body: { new_password: 'another-password', current_password: u.password } }), 401, 'INVALID_CREDENTIALS');
    expect((await me(second.access_token)).status).toBe(200);
    await a.login(u.username, u.password);
  });
});

describe('the current password is needed, and guessing it is paced', () => {
  it('an admin changing their own password needs their current one (a stolen admin session cannot take the account)', async () => {
    const admin = await a.createUser('admin');
    expectError(await a.call('POST', `/api/v1/users/${admin.id}/reset-password`, { token: admin.token, body: { new_password: 'taken-over-123' } }), 422, 'VALIDATION_ERROR');
    expectError(await a.call('POST', `/api/v1/users/${admin.id}/reset-password`, { token: admin.token, body: { new_password: 'taken-over-123', current_password: 'a-guess' } }), 401, 'INVALID_CREDENTIALS');
    await a.login(admin.username, admin.password);
    expect((await a.call('POST', `/api/v1/users/${admin.id}/reset-password`, { token: admin.token, body: { new_password: 'changed-by-me-123', current_password: admin.password } })).status).toBe(200);
  });

  it('wrong current passwords are paced per account: past the limit even the right one waits (429), across replicas and endpoints', async () => {
    const victim = await a.createUser('user');
    const stolen = await a.login(victim.username, victim.password);
    const change = (current: string, api: TestApi = a) => api.call('POST', `/api/v1/users/${victim.id}/reset-password`, { token: stolen.access_token, body: { new_password: 'attacker-password-1', current_password: current } });
    expectError(await change('guess-1'), 401, 'INVALID_CREDENTIALS');
    expectError(await a.call('POST', '/api/v1/auth/2fa/enroll', { token: stolen.access_token, body: { password: 'guess-2' } }), 401, 'INVALID_CREDENTIALS');
    expectError(await change('guess-3', b), 401, 'INVALID_CREDENTIALS');
    const limited = await change(victim.password);
    expectError(limited, 429, 'RATE_LIMIT_EXCEEDED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expectError(await a.call('POST', '/api/v1/auth/2fa/enroll', { token: stolen.access_token, body: { password: victim.password } }), 429, 'RATE_LIMIT_EXCEEDED');
    expectError(await a.call('POST', '/api/v1/auth/2fa/disable', { token: stolen.access_token, body: { password: victim.password, code: '123456' } }), 429, 'RATE_LIMIT_EXCEEDED');
    // The password did not change, and the owner still signs in (this is not the login lockout).
    expect((await a.login(victim.username, victim.password)).access_token).toBeTruthy();
    // Another account is not slowed by it.
    const bystander = await a.createUser('user');
    expect((await a.call('POST', `/api/v1/users/${bystander.id}/reset-password`, { token: bystander.token, body: { new_password: 'bystander-new-1', current_password: bystander.password } })).status).toBe(200);
  });

  it('two-factor enroll and disable need the current password', async () => {
    const u = await a.createUser('user');
    expectError(await a.call('POST', '/api/v1/auth/2fa/enroll', { token: u.token, body: { password: 'wrong-password' } }), 401, 'INVALID_CREDENTIALS');
    const enroll = await a.call('POST', '/api/v1/auth/2fa/enroll', { token: u.token, body: { password: u.password } });
    expect(enroll.status).toBe(200);
    const code = await generate({ secret: enroll.body.data.secret });
    expect((await a.call('POST', '/api/v1/auth/2fa/confirm', { token: u.token, body: { code } })).status).toBe(200);
    expectError(await a.call('POST', '/api/v1/auth/2fa/disable', { token: u.token, body: { password: 'wrong-password', code: '000000' } }), 401, 'INVALID_CREDENTIALS');
    expect((await a.call('GET', '/api/v1/auth/2fa', { token: u.token })).body.data.enabled).toBe(true);
  });
});
