import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { createMailActivities } from '../../activities/platform/mail';
import { createLogger } from '../../shared/platform/logger';
import { getWithBody } from './get-with-body';
import { useOwnDatabase } from './own-database';
import { startTestApi, expectError, eventually, type TestApi } from '../support/api';

const INITIAL = 'initial-server-token-0123456789abcdef';
let api: TestApi;
let admin: string;

beforeAll(async () => {
  await useOwnDatabase('settings');
  api = await startTestApi({ IDCFLOW_SERVER_TOKEN: INITIAL });
  admin = await api.admin();
});
afterAll(async () => { await api.close(); });

const seedBody = {
  app_settings: { site_name: '用户管理系统', debug: false, maintenance_mode: false, allowed_domains: ['example.com', 'test.com'], session_lifetime: 86400 },
  security_settings: {
    password_policy: { min_length: 8, require_numbers: true, require_special_chars: true },
    login_attempts: { max_attempts: 5, lockout_duration: 300 },
    two_factor_auth: { enabled: true, methods: ['email', 'authenticator'] },
  },
  email_settings: { smtp_server: 'smtp.example.com', smtp_port: 587, smtp_username: 'noreply@example.com', smtp_password: 'smtp_password', from_email: 'noreply@example.com', from_name: '用户管理系统' },
  server_settings: { api_rate_limit: 1000, max_upload_size: 10485760 },
};

describe('POST /api/settings/server', () => {
  it('updates every section as the seed shows, keeps them in PostgreSQL, audits, and never answers a secret', async () => {
    const res = await api.call('POST', '/api/settings/server', { body: { server_token: INITIAL, ...seedBody } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ message: '服务器配置更新成功', updated_sections: ['app_settings', 'security_settings', 'email_settings', 'server_settings'] });
    const read = await api.call('GET', '/api/v1/settings', { token: admin });
    expect(read.body.data).toMatchObject({ app_settings: { site_name: '用户管理系统', allowed_domains: ['example.com', 'test.com'] }, security_settings: { password_policy: { min_length: 8, require_numbers: true } }, secrets: { server_token_set: true, smtp_password_set: true } });
    expect(JSON.stringify(read.body)).not.toContain('smtp_password"');
    const row = await api.deps.knex('settings_secrets').where({ name: 'smtp_password' }).first();
    expect(row.sealed).toBeTruthy();
    expect(row.sealed).not.toContain('smtp_password');
    const logged = await api.deps.knex('audit_log').where({ module: 'settings', action: 'update' }).orderBy('id', 'desc').first();
    expect(logged.details).toMatchObject({ fields: { email_settings: expect.arrayContaining(['smtp_password']) } });
    expect(JSON.stringify(logged)).not.toContain('"smtp_password":"smtp_password"');
    const info = await api.call('POST', '/api/get_server_info', { body: { server_token: INITIAL, include_stats: true, include_config: true } });
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ version: expect.any(String), status: { maintenance_mode: false, uptime: expect.any(String) }, stats: { total_users: expect.any(Number) }, system: { database: expect.stringContaining('PostgreSQL') }, config: { app_settings: { site_name: '用户管理系统' } } });
    expect(info.text).not.toContain('smtp_password');
  });

  it('refuses bad input, no credential and non-admins', async () => {
    const bad = await api.call('POST', '/api/settings/server', { token: admin, body: { app_settings: { session_lifetime: -1 }, security_settings: { password_policy: { min_length: 'x' } }, server_settings: { server_token: 'short' } } });
    expect(bad.status).toBe(422);
    expect(bad.body.details.errors.map((e: { field: string }) => e.field).sort()).toEqual(['app_settings.session_lifetime', 'security_settings.password_policy.min_length', 'server_settings.server_token']);
    expect((await api.call('POST', '/api/settings/server', { token: admin, body: { nonsense: {} } })).status).toBe(422);
    expect((await api.call('POST', '/api/settings/server', { token: admin, body: {} })).status).toBe(422);
    expect((await api.call('POST', '/api/settings/server', { body: { app_settings: { debug: true } } })).status).toBe(401);
    const user = await api.createUser('user');
    expect((await api.call('POST', '/api/settings/server', { token: user.token, body: { app_settings: { debug: true } } })).status).toBe(403);
    expectError(await api.call('PATCH', '/api/v1/settings', { token: user.token, body: { app_settings: { debug: true } } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('GET', '/api/v1/settings'), 401, 'INVALID_CREDENTIALS');
    const info = await api.call('POST', '/api/get_server_info', { token: user.token, body: { include_stats: true, include_config: true } });
    expect(info.status).toBe(200);
    expect(info.body).not.toHaveProperty('config');
    expect(info.body).not.toHaveProperty('stats');
    expect((await api.call('POST', '/api/get_server_info', { body: {} })).status).toBe(401);
  });
});

describe('enforcement', () => {
  it('a rotated server token works at once and the old one stops at once', async () => {
    const next = 'rotated-server-token-abcdefghijklmnop';
    const before = await getWithBody(api.url, `/api/user_data?username=admin`, { server_token: INITIAL });
    expect(before.status).toBe(200);
    const rotate = await api.call('POST', '/api/settings/server', { body: { server_token: INITIAL, server_settings: { server_token: next } } });
    expect(rotate.body.updated_sections).toEqual(['server_settings']);
    expect((await getWithBody(api.url, `/api/user_data?username=admin`, { server_token: INITIAL })).status).toBe(401);
    expect((await getWithBody(api.url, `/api/user_data?username=admin`, { server_token: next })).status).toBe(200);
    const row = await api.deps.knex('settings_secrets').where({ name: 'server_token' }).first();
    expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(next);
    // Rotated again through /api/v1 by an admin.
    await api.call('PATCH', '/api/v1/settings', { token: admin, body: { server_settings: { server_token: INITIAL + '-2' } } });
    expect((await getWithBody(api.url, `/api/user_data?username=admin`, { server_token: next })).status).toBe(401);
  });

  it('maintenance mode answers 503 with the message to non-admins, not to admins', async () => {
    const user = await api.createUser('user');
    await api.call('POST', '/api/settings/server', { token: admin, body: { app_settings: { site_name: '用户管理系统 - 企业版', maintenance_mode: true, maintenance_message: '系统正在升级，预计1小时后恢复' } } });
    const blocked = await eventually(async () => {
      const r = await api.call('GET', '/api/v1/user-data', { token: user.token });
      return r.status === 503 ? r : null;
    }, 10_000, 'maintenance mode');
    expect(blocked.body.error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: '系统正在升级，预计1小时后恢复' });
    const compat = await api.call('POST', '/api/user_data', { token: user.token, body: { key: 'a', value: 1 } });
    expect(compat.status).toBe(503);
    expect(compat.body.error).toBe('系统正在升级，预计1小时后恢复');
    expect((await api.call('GET', '/api/v1/user-data', { token: admin })).status).toBe(200);
    await api.call('PATCH', '/api/v1/settings', { token: admin, body: { app_settings: { maintenance_mode: false } } });
    await eventually(async () => (await api.call('GET', '/api/v1/user-data', { token: user.token })).status === 200, 10_000, 'maintenance over');
  });

  it('the password policy refuses a weak password everywhere a password is set', async () => {
    await api.call('PATCH', '/api/v1/settings', { token: admin, body: { security_settings: { password_policy: { min_length: 10, require_numbers: true, require_special_chars: true, require_uppercase: true } } } });
    const weak = 'alllowercaseletters';
    const create = await api.call('POST', '/api/v1/users', { token: admin, body: { username: 'weak_pw_user', email: 'w@example.test', password: weak } });
    expectError(create, 422, 'VALIDATION_ERROR');
    expect(create.body.error.details.errors.map((e: { field: string; message: string }) => [e.field, e.message])).toEqual([
      ['password', 'must contain a digit'], ['password', 'must contain an upper-case letter'], ['password', 'must contain a character that is neither a letter nor a digit'],
    ]);
    const seed002 = await api.call('POST', '/api/users', { token: admin, body: { username: 'weak_pw_user', email: 'w@example.test', password: 'Short1!' } });
    expect(seed002.status).toBe(422);
    const strong = 'Strong-Passw0rd';
    const ok = await api.call('POST', '/api/v1/users', { token: admin, body: { username: 'strong_pw_user', email: 's@example.test', password: strong } });
    expect(ok.status).toBe(201);
    const reset = await api.call('POST', `/api/v1/users/${ok.body.data.id}/reset-password`, { token: admin, body: { new_password: weak } });
    expectError(reset, 422, 'VALIDATION_ERROR');
    expect(reset.body.error.details.errors[0].field).toBe('new_password');
    await api.login('strong_pw_user', strong);
    await api.call('PATCH', '/api/v1/settings', { token: admin, body: { security_settings: { password_policy: { min_length: 8, require_numbers: false, require_special_chars: false, require_uppercase: false } } } });
  });
});

describe('login attempts', () => {
  it('the security settings set the lockout of API sign-ins', async () => {
    const user = await api.createUser('user');
    await api.call('PATCH', '/api/v1/settings', { token: admin, body: { security_settings: { login_attempts: { max_attempts: 2, lockout_duration: 120 } } } });
    const attempt = async (password: string) => api.call('POST', '/api/v1/auth/login', { body: { username: user.username, password } });
    await eventually(async () => {
      // The settings are read at most a second late; until they apply, failures count against the old limit.
      // The user signed in from here when created, so this address's failures count under its known-address key.
      await api.deps.knex('rate_limits').where('key', `login_user:${user.username.toLowerCase()}`).orWhere('key', 'like', `login_known:${user.id}:%`).delete();
      expect((await attempt('wrong-1')).status).toBe(401);
      // The failure that reaches the limit locks the account for the settings' lockout.
      return (await attempt('wrong-2')).status === 429;
    }, 10_000, 'the lockout after two failures');
    const locked = await attempt(user.password);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(60);
    expect(Number(locked.headers.get('retry-after'))).toBeLessThanOrEqual(120);
    await api.call('PATCH', '/api/v1/settings', { token: admin, body: { security_settings: { login_attempts: { max_attempts: 100, lockout_duration: 300 } } } });
    await api.deps.knex('rate_limits').delete();
  });
});

describe('email settings', () => {
  it('the mailer uses the SMTP server, account (sealed password) and sender of the email settings', async () => {
    const received: Array<{ user?: string; from: string; body: string }> = [];
    const smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'], allowInsecureAuth: true, authMethods: ['PLAIN', 'LOGIN'],
      onAuth(auth, _session, cb) {
        if (auth.username === 'mailer' && auth.password === 'smtp-secret-1') cb(null, { user: auth.username });
        else cb(new Error('bad credentials'));
      },
      onData(stream, session, cb) {
        let body = '';
        stream.on('data', (c: Buffer) => { body += c.toString(); });
        stream.on('end', () => { received.push({ user: session.user as string | undefined, from: session.envelope.mailFrom ? (session.envelope.mailFrom as { address: string }).address : '', body }); cb(); });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (smtp.server.address() as AddressInfo).port;
      const set = await api.call('PATCH', '/api/v1/settings', { token: admin, body: { email_settings: { smtp_server: '127.0.0.1', smtp_port: port, smtp_username: 'mailer', smtp_password: 'smtp-secret-1', use_tls: false, from_email: 'noreply@example.test', from_name: '用户管理系统' } } });
      expect(set.status).toBe(200);
      const mail = createMailActivities({ knex: api.deps.knex, config: api.config, logger: createLogger('silent', 'test') });
      expect(await mail.sendMail({ key: 'settings-test-1', to: 'someone@example.test', subject: 'Hello', text: 'from the settings' })).toEqual({ sent: true });
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ user: 'mailer', from: 'noreply@example.test' });
      expect(received[0].body).toContain('from the settings');
      // A wrong password in the settings: the mail is not sent.
      await api.call('PATCH', '/api/v1/settings', { token: admin, body: { email_settings: { smtp_password: 'wrong' } } });
      await expect(mail.sendMail({ key: 'settings-test-2', to: 'someone@example.test', subject: 'Hello', text: 'x' })).rejects.toThrow();
      expect(received).toHaveLength(1);
    } finally {
      await api.call('PATCH', '/api/v1/settings', { token: admin, body: { email_settings: { smtp_server: null } } });
      await new Promise<void>((r) => smtp.close(() => r()));
    }
  });
});

describe('POST /api/settings/profile', () => {
  it('updates your profile; a new email is unverified again; get_user_info shows it', async () => {
    const user = await api.createUser('user');
    await api.deps.knex('users').where({ id: user.id }).update({ email_verified: true });
    const body = { display_name: '张三', email: 'zhangsan@example.com', bio: '这是我的个人简介', preferences: { language: 'zh', timezone: 'Asia/Shanghai', notifications: { email: true, push: false } } };
    const res = await api.call('POST', '/api/settings/profile', { token: user.token, body });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ message: '个人资料更新成功', data: { ...body, email_verified: false, updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/) } });
    const info = await api.call('POST', '/api/get_user_info', { token: user.token, body: {} });
    expect(info.body.profile).toMatchObject({ display_name: '张三', email: 'zhangsan@example.com', bio: '这是我的个人简介' });
  });

  it('refuses bad input, no credential, and another user’s profile for non-admins', async () => {
    const [a, b] = [await api.createUser('user'), await api.createUser('user')];
    const bad = await api.call('POST', '/api/settings/profile', { token: a.token, body: { email: 'not-mail', avatar_url: 'javascript:alert(1)' } });
    expect(bad.status).toBe(422);
    expect(bad.body.details.errors.map((e: { field: string }) => e.field).sort()).toEqual(['avatar_url', 'email']);
    expect((await api.call('POST', '/api/settings/profile', { body: { bio: 'x' } })).status).toBe(401);
    expect((await api.call('POST', '/api/settings/profile', { token: a.token, body: { username: b.username, bio: 'x' } })).status).toBe(403);
    expect((await api.call('POST', '/api/settings/profile', { body: { server_token: INITIAL + '-2', username: b.username, bio: 'set by the server' } })).status).toBe(200);
    expect((await api.call('POST', '/api/settings/profile', { body: { server_token: INITIAL + '-2', username: 'no_such_user_q', bio: 'x' } })).status).toBe(404);
  });
});
