import crypto from 'node:crypto';
import jwt from 'jsonwebtoken';
import * as oidc from 'openid-client';
import { useOwnDatabase } from '../userdata/own-database';
import { startTestApi, expectError, type TestApi } from '../support/api';
import { ClientAt } from '../support/from-address';
import { verificationToken } from '../../shared/platform/email-verification';
import { loadConfig } from '../../shared/platform/config';
import { freePort } from '../../workers/embedded-services';

// Sign-up, lockout without denial and anonymous pacing (issue 22), played as the attacker over HTTP. This file has a
// database of its own: it turns the server-wide registration_enabled and api_rate_limit settings on and off.
let api: TestApi;
let admin: string;
const C = '/api/v1/system/config';
const uid = () => crypto.randomBytes(4).toString('hex');
const PASSWORD = 'a-long-password';

beforeAll(async () => {
  await useOwnDatabase('signup');
  api = await startTestApi();
  admin = await api.admin();
}, 60_000);
afterAll(async () => { await api?.close(); });

/** A user an admin makes: nobody has signed in as it yet. */
async function adminCreated() {
  const username = `owner_${uid()}`;
  const password = `pw-${uid()}-${uid()}`;
  const res = await api.call('POST', '/api/v1/users', { token: admin, body: { username, password, email: `${username}@example.test`, role: 'user' } });
  expect(res.status).toBe(201);
  return { id: res.body.data.id as number, username, password };
}

/** The link the verification mail carries (its signature is the master key's HMAC of the row: computed, not read from a mailbox). */
async function verificationLink(userId: number) {
  const v = await api.deps.knex('email_verifications').where({ user_id: userId }).orderBy('id', 'desc').first();
  expect(v).toBeDefined();
  return `/api/verify_email?id=${v.id}&token=${verificationToken(api.config.masterKey, v)}`;
}

const seed000Error = (res: { status: number; body: { error?: unknown } }, status: number) => {
  expect(res.status).toBe(status);
  expect(typeof res.body.error).toBe('string');
};

describe('sign-up', () => {
  it('is off by default: add_user refuses in seed 000\'s shape and writes nothing; only an admin opens it', async () => {
    expect((await api.call('GET', C, { token: admin })).body.data).toMatchObject({ registration_enabled: false, sources: { registration_enabled: 'environment' } });
    const name = `closed_${uid()}`;
    const refused = await api.call('POST', '/api/add_user', { body: { username: name, password: PASSWORD, email: `${name}@example.test` } });
    seed000Error(refused, 400);
    expect(refused.body.error).toMatch(/Registration is closed/);
    expect(await api.deps.knex('users').where({ username: name }).first()).toBeUndefined();
    // Invalid data is still the seed's 400 "invalid data", closed or not.
    seed000Error(await api.call('POST', '/api/add_user', { body: { username: 'x', password: 'short', email: 'nope' } }), 400);

    const user = await api.createUser('user');
    expectError(await api.call('PUT', C, { token: user.token, body: { registration_enabled: true } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('PUT', C, { body: { registration_enabled: true } }), 401, 'INVALID_CREDENTIALS');
    const bad = await api.call('PUT', C, { token: admin, body: { registration_enabled: 'yes' } });
    expectError(bad, 422, 'VALIDATION_ERROR');
    expect(bad.body.error.details.errors.map((e: { field: string }) => e.field)).toEqual(['registration_enabled']);
    expect((await api.call('POST', '/api/add_user', { body: { username: name, password: PASSWORD, email: `${name}@example.test` } })).status).toBe(400);
  });

  it('while on: the account signs in only once its email is verified, and holds zero quotas until then; admin-created users are unaffected', async () => {
    const on = await api.call('PUT', C, { token: admin, body: { registration_enabled: true } });
    expect(on.status).toBe(200);
    expect(on.body.data).toMatchObject({ registration_enabled: true });
    const name = `signup_${uid()}`;
    const created = await api.call('POST', '/api/add_user', { body: { username: name, password: PASSWORD, email: `${name}@example.test` } });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ message: 'User created successfully', user_id: expect.any(Number) });
    const id = created.body.user_id as number;

    // No session from any sign-in before the verification: the right password says why, a wrong one says nothing more.
    const native = await api.call('POST', '/api/v1/auth/login', { body: { username: name, password: PASSWORD } });
    expectError(native, 401, 'INVALID_CREDENTIALS');
    expect(native.body.error.details).toMatchObject({ email_verification_required: true });
    const seed = await api.call('POST', '/api/login', { body: { username: name, password: PASSWORD } });
    seed000Error(seed, 401);
    expect(seed.body.token).toBeUndefined();
    const wrong = await api.call('POST', '/api/login', { body: { username: name, password: 'wrong-password' } });
    expect(wrong.body.error).toBe('Invalid username or password');
    expect(await api.deps.knex('sessions').where({ user_id: id }).first()).toBeUndefined();

    // Zero quotas while pending.
    const quota = await api.call('GET', `/api/v1/users/${id}/quota`, { token: admin });
    expect(quota.body.data.quota).toEqual({ cpu: 0, ram_mb: 0, disk_gb: 0, instances: 0 });
    const netQuota = await api.call('GET', `/api/v1/users/${id}/network-quota`, { token: admin });
    expect(netQuota.body.data.quota).toEqual({ nat_ports: 0, proxies: 0, addresses: 0 });

    // The mailed link verifies the address: sign-in works, and the default quotas apply.
    const verified = await api.call('GET', await verificationLink(id));
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ email_verified: true });
    expect((await api.call('POST', '/api/v1/auth/login', { body: { username: name, password: PASSWORD } })).status).toBe(200);
    const login = await api.call('POST', '/api/login', { body: { username: name, password: PASSWORD } });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ message: 'Login successful', token: expect.any(String) });
    const after = await api.call('GET', `/api/v1/users/${id}/quota`, { token: admin });
    expect(after.body.data).toMatchObject({ quota: api.config.compute.defaultQuota, source: 'default' });
    expect((await api.call('GET', `/api/v1/users/${id}/network-quota`, { token: admin })).body.data.quota).toEqual(api.config.networking.defaultQuota);

    // An admin's user signs in at once, as before.
    const byAdmin = await adminCreated();
    expect((await api.call('POST', '/api/login', { body: { username: byAdmin.username, password: byAdmin.password } })).status).toBe(200);
  });

  it('is paced per client address and per email domain (429 in seed 000\'s shape), before anything is written', async () => {
    const paced = await startTestApi({ IDCFLOW_SIGNUP_PER_ADDRESS_PER_HOUR: '3', IDCFLOW_SIGNUP_PER_DOMAIN_PER_HOUR: '2' });
    try {
      expect(paced.deps.system.settings.current.registration_enabled).toBe(true);
      const a = new ClientAt('127.0.0.11', paced.url);
      const b = new ClientAt('127.0.0.12', paced.url);
      const [one, two] = [`one-${uid()}.test`, `two-${uid()}.test`];
      const register = (c: ClientAt, domain: string) => {
        const name = `paced_${uid()}`;
        return c.request('POST', '/api/add_user', { json: { username: name, password: PASSWORD, email: `${name}@${domain}` } });
      };
      expect((await register(a, one)).status).toBe(200);
      expect((await register(a, one)).status).toBe(200);
      const domainFull = await register(a, one);
      seed000Error(domainFull, 429);
      expect(Number(domainFull.headers['retry-after'])).toBeGreaterThan(0);
      // The same domain from another address: still the domain's limit.
      seed000Error(await register(b, one), 429);
      // Another domain from the first address: the address's limit (3 an hour) is spent.
      seed000Error(await register(a, two), 429);
      expect((await register(b, two)).status).toBe(200);
      const [{ n }] = await paced.deps.knex('users').whereILike('email', `%@${one}`).count({ n: '*' });
      expect(Number(n)).toBe(2);
    } finally {
      await paced.close();
    }
  });
});

describe('lockout without denial', () => {
  it('an attacker\'s failures from 127.0.0.1 lock strangers out, never the owner at an address or device that signed in before', async () => {
    const throttled = await startTestApi({ IDCFLOW_LOGIN_MAX_FAILURES: '3', IDCFLOW_LOGIN_LOCKOUT_SECONDS: '600' });
    try {
      const owner = await adminCreated();
      const ownerBrowser = new ClientAt('127.0.0.2', throttled.url);
      const first = await ownerBrowser.login(owner.username, owner.password);
      expect(first.status).toBe(200);

      const attacker = new ClientAt('127.0.0.1', throttled.url);
      for (let i = 0; i < 2; i++) expectError((await attacker.login(owner.username, 'guess')) as never, 401, 'INVALID_CREDENTIALS');
      expectError((await attacker.login(owner.username, 'guess')) as never, 429, 'RATE_LIMIT_EXCEEDED');
      // Locked for the attacker's address, even with the right password, and for every other stranger: brute force
      // across many addresses is still stopped per account.
      expectError((await attacker.login(owner.username, owner.password)) as never, 429, 'RATE_LIMIT_EXCEEDED');
      expectError((await new ClientAt('127.0.0.3', throttled.url).login(owner.username, owner.password)) as never, 429, 'RATE_LIMIT_EXCEEDED');

      // The owner: at the address they signed in from (without the cookie too), and with their device cookie anywhere.
      expect((await new ClientAt('127.0.0.2', throttled.url).login(owner.username, owner.password)).status).toBe(200);
      expect(first.headers['set-cookie']?.[0]).toMatch(/^idcflow_device=[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict/);
      expect((await ownerBrowser.login(owner.username, owner.password)).status).toBe(200);
      const travelling = new ClientAt('127.0.0.4', throttled.url);
      travelling.jar.set('idcflow_device', ownerBrowser.jar.get('idcflow_device')!);
      expect((await travelling.login(owner.username, owner.password)).status).toBe(200);
      // A forged or another account's cookie is no device of this account.
      const forger = new ClientAt('127.0.0.5', throttled.url);
      forger.jar.set('idcflow_device', ownerBrowser.jar.get('idcflow_device')!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')));
      expectError((await forger.login(owner.username, owner.password)) as never, 429, 'RATE_LIMIT_EXCEEDED');
      const other = await adminCreated();
      const otherBrowser = new ClientAt('127.0.0.6', throttled.url);
      expect((await otherBrowser.login(other.username, other.password)).status).toBe(200);
      forger.jar.set('idcflow_device', otherBrowser.jar.get('idcflow_device')!);
      expectError((await forger.login(owner.username, owner.password)) as never, 429, 'RATE_LIMIT_EXCEEDED');

      // Failures at a known address are counted there alone: it locks after the limit, the owner's device does not.
      const colleague = new ClientAt('127.0.0.2', throttled.url);
      for (let i = 0; i < 2; i++) expect((await colleague.login(owner.username, 'guess')).status).toBe(401);
      expect((await colleague.login(owner.username, 'guess')).status).toBe(429);
      expect((await colleague.login(owner.username, owner.password)).status).toBe(429);
      expect((await travelling.login(owner.username, owner.password)).status).toBe(200);
      // The account's own row says the strangers' lock.
      expect((await throttled.deps.knex('users').where({ id: owner.id }).first('locked_until')).locked_until).toBeTruthy();
    } finally {
      await throttled.close();
    }
  });
});

describe('anonymous pacing', () => {
  it('password checks are bounded per address before any hash runs; the OAuth sign-in form is paced like the API login and refuses an unverified sign-up', async () => {
    const port = await freePort();
    const oauthApi = await startTestApi({ PORT: String(port), IDCFLOW_ANON_HASHES_PER_MINUTE: '4' });
    try {
      const issuer = new URL(`http://127.0.0.1:${port}/oauth`);
      const alice = await api.createUser('user');
      const registered = await api.call('POST', '/api/v1/oauth/clients', { token: alice.token, body: { name: 'panel', redirect_uris: ['http://127.0.0.1:9/callback'], scopes: ['openid'] } });
      expect(registered.status).toBe(201);
      const { client_id, client_secret } = registered.body.data;
      const config = await oidc.discovery(issuer, client_id, client_secret, oidc.ClientSecretBasic(client_secret), { execute: [oidc.allowInsecureRequests] });
      const pendingName = `pending_${uid()}`;
      expect((await api.call('POST', '/api/add_user', { body: { username: pendingName, password: PASSWORD, email: `${pendingName}@example.test` } })).status).toBe(200);

      const browser = new ClientAt('127.0.0.21', oauthApi.url);
      const start = oidc.buildAuthorizationUrl(config, { redirect_uri: 'http://127.0.0.1:9/callback', scope: 'openid', state: 's', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
      const started = await browser.request('GET', start.href);
      const interaction = new URL(String(started.headers.location), start).pathname;
      expect((await browser.request('GET', interaction)).status).toBe(200);
      const post = (username: string, password: string) => browser.request('POST', `${interaction}/login`, { form: { username, password } });

      const pending = await post(pendingName, PASSWORD);
      expect(pending.status).toBe(401);
      expect(pending.text).toContain('Verify your email address first');
      for (let i = 0; i < 3; i++) expect((await post(alice.username, 'not-the-password')).status).toBe(401);
      // The address's fifth password check in the minute: refused before hashing, with the wait.
      const spent = await post(alice.username, alice.password);
      expect(spent.status).toBe(429);
      expect(Number(spent.headers['retry-after'])).toBeGreaterThan(0);
      expect(spent.text).toContain('Too many attempts');
      // The same budget on the API's own login and on sign-up from that address; another address is not affected.
      expectError((await browser.login(alice.username, alice.password)) as never, 429, 'RATE_LIMIT_EXCEEDED');
      const name = `budget_${uid()}`;
      seed000Error(await browser.request('POST', '/api/add_user', { json: { username: name, password: PASSWORD, email: `${name}@example.test` } }), 429);
      expect((await new ClientAt('127.0.0.22', oauthApi.url).login(alice.username, alice.password)).status).toBe(200);
    } finally {
      await oauthApi.close();
    }
  });

  it('IDCFLOW_TRUST_PROXY is a number of hops: the client address is the entry the nearest trusted proxy added, never the leftmost', async () => {
    const user = await adminCreated();
    const sessionIp = async (target: TestApi, xff: string) => {
      const res = await target.call('POST', '/api/v1/auth/login', { headers: { 'x-forwarded-for': xff }, body: { username: user.username, password: user.password } });
      expect(res.status).toBe(200);
      const { sid } = jwt.decode(res.body.data.access_token) as { sid: string };
      return (await target.deps.knex('sessions').where({ id: sid }).first('ip')).ip as string;
    };
    for (const [hops, xff, expected] of [['true', '203.0.113.66, 198.51.100.7', '198.51.100.7'], ['2', '203.0.113.66, 198.51.100.8, 10.0.0.1', '198.51.100.8']] as const) {
      const behindProxy = await startTestApi({ IDCFLOW_TRUST_PROXY: hops });
      try {
        expect(await sessionIp(behindProxy, xff)).toBe(expected);
      } finally {
        await behindProxy.close();
      }
    }
    // No proxy trusted (the default): the header is the client's own words, and ignored.
    expect(await sessionIp(api, '203.0.113.66')).toBe('127.0.0.1');

    const env = { ...process.env };
    expect(loadConfig({ ...env, IDCFLOW_TRUST_PROXY: 'true' }).trustProxy).toBe(1);
    expect(loadConfig({ ...env, IDCFLOW_TRUST_PROXY: 'false' }).trustProxy).toBe(0);
    expect(loadConfig({ ...env, IDCFLOW_TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ ...env, IDCFLOW_TRUST_PROXY: undefined }).trustProxy).toBe(0);
    expect(() => loadConfig({ ...env, IDCFLOW_TRUST_PROXY: 'maybe' })).toThrow(/IDCFLOW_TRUST_PROXY/);
  });

  it('requests with bad credentials count against the API rate limit of their address', async () => {
    const fresh = await startTestApi();
    try {
      expect((await fresh.call('PUT', C, { token: admin, body: { api_rate_limit: 5 } })).status).toBe(200);
      const guesser = new ClientAt('127.0.0.31', fresh.url);
      for (let i = 0; i < 5; i++) expectError((await guesser.request('GET', '/api/v1/auth/me', { token: `guess-${i}` })) as never, 401, 'INVALID_CREDENTIALS');
      const limited = await guesser.request('GET', '/api/v1/auth/me', { token: 'guess-6' });
      expectError(limited as never, 429, 'RATE_LIMIT_EXCEEDED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      // Forged JWTs and seed 004's body credentials count the same; another address has its own allowance.
      expect((await guesser.request('POST', '/api/get_user_info', { json: { api_token: 'guess' } })).status).toBe(429);
      expectError((await new ClientAt('127.0.0.32', fresh.url).request('GET', '/api/v1/auth/me', { token: 'guess' })) as never, 401, 'INVALID_CREDENTIALS');
    } finally {
      await fresh.call('PUT', C, { token: admin, body: { api_rate_limit: 0 } });
      await fresh.close();
    }
  });
});
