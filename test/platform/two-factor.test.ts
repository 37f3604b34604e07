import { generate } from 'otplib';
import { startTestApi, expectError, type TestApi, type TestUser } from '../support/api';

let api: TestApi;
beforeAll(async () => { api = await startTestApi({ IDCFLOW_LOGIN_MAX_FAILURES: '50' }); });
afterAll(async () => { await api.close(); });

/** The authenticator's code `steps` periods from now (a code is accepted once, so each sign-in uses a later step). */
const codeAt = (secret: string, steps = 0) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + steps * 30 });
const login = (u: TestUser, otp_code?: string) => api.call('POST', '/api/v1/auth/login', { body: { username: u.username, password: u.password, ...(otp_code ? { otp_code } : {}) } });

async function enrolled(u: TestUser) {
  const res = await api.call('POST', '/api/v1/auth/2fa/enroll', { token: u.token, body: { password: u.password } });
  expect(res.status).toBe(200);
  return res.body.data as { secret: string; otpauth_uri: string; qr_code: string };
}

describe('two-factor authentication (TOTP)', () => {
  it('enroll shows the secret once (sealed at rest), confirm turns it on with recovery codes, sign-in then needs a fresh code', async () => {
    const u = await api.createUser('user');
    expect((await api.call('GET', '/api/v1/auth/2fa', { token: u.token })).body.data).toEqual({ enabled: false, pending: false, recovery_codes_left: 0 });
    const { secret, otpauth_uri, qr_code } = await enrolled(u);
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    expect(otpauth_uri).toBe(`otpauth://totp/idcflow:${u.username}?secret=${secret}&issuer=idcflow`);
    expect(qr_code).toMatch(/^data:image\/png;base64,/);
    const row = await api.deps.knex('user_two_factor').where({ user_id: u.id }).first();
    expect(row.secret_sealed).not.toContain(secret);
    expect(row.enabled_at).toBeNull();
    expect((await api.call('GET', '/api/v1/auth/2fa', { token: u.token })).body.data).toMatchObject({ enabled: false, pending: true });
    // Pending: sign-in still takes the password alone.
    expect((await login(u)).status).toBe(200);

    const wrong = await api.call('POST', '/api/v1/auth/2fa/confirm', { token: u.token, body: { code: (Number(await codeAt(secret)) + 1).toString().padStart(6, '0').slice(-6) } });
    expectError(wrong, 422, 'VALIDATION_ERROR');
    const now = await codeAt(secret);
    const confirmed = await api.call('POST', '/api/v1/auth/2fa/confirm', { token: u.token, body: { code: now } });
    expect(confirmed.status).toBe(200);
    const recovery = confirmed.body.data.recovery_codes as string[];
    expect(recovery).toHaveLength(10);
    expect(new Set(recovery).size).toBe(10);
    const hashes = await api.deps.knex('user_recovery_codes').where({ user_id: u.id }).pluck('code_hash');
    expect(hashes).toHaveLength(10);
    expect(hashes.join()).not.toContain(recovery[0].replace('-', ''));
    expectError(await api.call('POST', '/api/v1/auth/2fa/confirm', { token: u.token, body: { code: now } }), 409, 'CONFLICT');
    expectError(await api.call('POST', '/api/v1/auth/2fa/enroll', { token: u.token, body: { password: u.password } }), 409, 'CONFLICT');

    const without = await login(u);
    expectError(without, 401, 'INVALID_CREDENTIALS');
    expect(without.body.error.details).toMatchObject({ two_factor_required: true });
    expectError(await login(u, '000000' === now ? '111111' : '000000'), 401, 'INVALID_CREDENTIALS');
    // The code that confirmed is spent; the next period's works once.
    expectError(await login(u, now), 401, 'INVALID_CREDENTIALS');
    const next = await codeAt(secret, 1);
    const ok = await login(u, next);
    expect(ok.status).toBe(200);
    expect(ok.body.data.access_token).toEqual(expect.any(String));
    expectError(await login(u, next), 401, 'INVALID_CREDENTIALS');
    // A wrong password with a right code is still a wrong password.
    expectError(await api.call('POST', '/api/v1/auth/login', { body: { username: u.username, password: 'wrong-password', otp_code: next } }), 401, 'INVALID_CREDENTIALS');

    // Recovery codes: each works once, with or without its dash, in any case.
    expect((await login(u, recovery[0].toLowerCase().replace('-', ''))).status).toBe(200);
    expectError(await login(u, recovery[0]), 401, 'INVALID_CREDENTIALS');
    expect((await api.call('GET', '/api/v1/auth/2fa', { token: u.token })).body.data).toEqual({ enabled: true, pending: false, recovery_codes_left: 9 });

    // Seed 004's sensitive user info says so.
    const info = await api.call('POST', '/api/get_user_info', { token: await api.admin(), body: { username: u.username, include_sensitive: true } });
    expect(info.body.security).toMatchObject({ two_factor_enabled: true });

    // Disable: the password and a code; the code alone or the password alone is refused.
    expectError(await api.call('POST', '/api/v1/auth/2fa/disable', { token: u.token, body: { password: 'wrong-password', code: recovery[1] } }), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('POST', '/api/v1/auth/2fa/disable', { token: u.token, body: { password: u.password, code: recovery[0] } }), 401, 'INVALID_CREDENTIALS');
    const off = await api.call('POST', '/api/v1/auth/2fa/disable', { token: u.token, body: { password: u.password, code: recovery[1] } });
    expect(off.status).toBe(200);
    expect(off.body.data).toEqual({ enabled: false });
    expect(await api.deps.knex('user_recovery_codes').where({ user_id: u.id }).first()).toBeUndefined();
    expect((await login(u)).status).toBe(200);
  });

  it('a pending enrollment is replaced by a new one; a wrong password does not enroll', async () => {
    const u = await api.createUser('user');
    expectError(await api.call('POST', '/api/v1/auth/2fa/enroll', { token: u.token, body: { password: 'wrong-password' } }), 401, 'INVALID_CREDENTIALS');
    expect(await api.deps.knex('user_two_factor').where({ user_id: u.id }).first()).toBeUndefined();
    const first = await enrolled(u);
    const second = await enrolled(u);
    expect(second.secret).not.toBe(first.secret);
    expectError(await api.call('POST', '/api/v1/auth/2fa/confirm', { token: u.token, body: { code: await codeAt(first.secret) } }), 422, 'VALIDATION_ERROR');
    expect((await api.call('POST', '/api/v1/auth/2fa/confirm', { token: u.token, body: { code: await codeAt(second.secret) } })).status).toBe(200);
  });

  it('refuses bad input, no token, and acts on the caller only', async () => {
    const [a, b] = [await api.createUser('user'), await api.createUser('user')];
    for (const [method, path] of [['GET', '/api/v1/auth/2fa'], ['POST', '/api/v1/auth/2fa/enroll'], ['POST', '/api/v1/auth/2fa/confirm'], ['POST', '/api/v1/auth/2fa/disable']]) {
      expectError(await api.call(method, path, { body: method === 'POST' ? {} : undefined }), 401, 'INVALID_CREDENTIALS');
    }
    const bad = await api.call('POST', '/api/v1/auth/2fa/enroll', { token: a.token, body: {} });
    expectError(bad, 422, 'VALIDATION_ERROR');
    expect(bad.body.error.details.errors.map((e: { field: string }) => e.field)).toEqual(['password']);
    expectError(await api.call('POST', '/api/v1/auth/2fa/confirm', { token: a.token, body: { code: 'abc' } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', '/api/v1/auth/2fa/disable', { token: a.token, body: { password: a.password } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', '/api/v1/auth/login', { body: { username: a.username, password: a.password, otp_code: 'x'.repeat(40) } }), 422, 'VALIDATION_ERROR');
    // Nothing to confirm or disable yet.
    expectError(await api.call('POST', '/api/v1/auth/2fa/confirm', { token: a.token, body: { code: '123456' } }), 409, 'CONFLICT');
    expectError(await api.call('POST', '/api/v1/auth/2fa/disable', { token: a.token, body: { password: a.password, code: '123456' } }), 401, 'INVALID_CREDENTIALS');
    // A's enrollment is A's: B's status and sign-in are untouched, and B cannot confirm it.
    const { secret } = await enrolled(a);
    expectError(await api.call('POST', '/api/v1/auth/2fa/confirm', { token: b.token, body: { code: await codeAt(secret) } }), 409, 'CONFLICT');
    expect((await api.call('GET', '/api/v1/auth/2fa', { token: b.token })).body.data).toEqual({ enabled: false, pending: false, recovery_codes_left: 0 });
    expect((await login(b)).status).toBe(200);
  });
});
