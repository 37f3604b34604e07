import crypto from 'node:crypto';
import argon2 from 'argon2';
import { AppError } from '../../../shared/platform/errors';
import { hashPassword } from '../../../shared/platform/passwords';
import { randomToken, sha256 } from '../../../shared/platform/crypto';
import { ROLE_PERMISSIONS } from '../../../shared/platform/permissions';
import { User } from '../../../db/models/users/user';
import type { AppDeps } from '../deps';
import { signAccessToken } from './jwt';
import { LoginThrottle, type LockKey } from './login-throttle';
import { AnonymousBudget } from './anonymous-budget';
import { DeviceCookies } from './device-cookie';
import { isKnownAddress, rememberAddress } from '../../../db/queries/users/known-addresses';
import { loginLimitsFromSettings } from '../../userdata/settings/enforce';
import { audit } from '../audit';
import { TwoFactorService, twoFactorCodeError } from './two-factor';
import type { Caller, ClientInfo } from '../caller';

// Verified against when the username is unknown, so both paths cost one argon2 verification.
const DUMMY_HASH = hashPassword('not-a-real-password-' + crypto.randomUUID());

/** The answer a pending sign-up gets with the right password: it signs in once its email is verified. */
export const verificationRequired = () => new AppError('INVALID_CREDENTIALS', 'Verify your email address first: open the link mailed to you (POST /api/send_verification_email sends another)', { email_verification_required: true });

export class AuthService {
  private readonly throttle: LoginThrottle;
  private readonly twoFactor: TwoFactorService;
  private readonly budget: AnonymousBudget;
  readonly devices: DeviceCookies;
  constructor(private readonly deps: AppDeps) {
    this.throttle = new LoginThrottle(deps.knex, deps.config.login, loginLimitsFromSettings(deps));
    this.twoFactor = new TwoFactorService(deps.knex, deps.config.masterKey);
    this.budget = new AnonymousBudget(deps.knex, deps.config.anonymous);
    this.devices = new DeviceCookies(deps.config.jwtSecret, deps.config.publicUrl.startsWith('https:'));
  }

  /**
   * `otpCode`: the second factor (a TOTP code or a recovery code), required when the user has turned it on.
   * `device` of the answer: a new device cookie value for the client (see `devices.header`).
   */
  async login(client: ClientInfo, username: string, password: string, otpCode?: string) {
    const { user, device, trusted } = await this.signIn(client, username, password, otpCode, 'auth');
    const tokens = await this.openSession(user.id, client);
    // The strangers' lock stays recorded when the owner signs in from a trusted device or address.
    await User.query().findById(user.id).patch({
      last_login: new Date(), last_ip: client.ip, login_count: user.login_count + 1, ...(trusted ? {} : { failed_login_attempts: 0, locked_until: null }),
    });
    await audit(this.deps.knex, client, { module: 'auth', action: 'login', message: `${user.username} signed in`, userId: user.id, username: user.username });
    return {
      ...tokens,
      user: { id: user.id, username: user.username, email: user.email, full_name: user.full_name, role: user.role, permissions: ROLE_PERMISSIONS[user.role] },
      device,
    };
  }

  /**
   * Checks a username, password and second factor, paced like every sign-in (the API's, the compat surfaces', the OAuth
   * sign-in form's): an address with many failures waits; the account's lock is its strangers' or this trusted
   * client's (device cookie, known address); no argon2 runs past the address's hash budget. Answers the user and a new
   * device cookie value; throws 401 (wrong, disabled, unverified sign-up, second factor) or 429.
   */
  async signIn(client: ClientInfo, username: string, password: string, otpCode: string | undefined, module: 'auth' | 'oauth') {
    return this.throttle.paced(client.ip ?? '', () => this.attempt(client, username, password, otpCode, module));
  }

  /** Whose failures this attempt counts toward: the device's or the known address's when the account trusts it, else the account's strangers'. */
  private async lockFor(client: ClientInfo, username: string, user: User | undefined): Promise<LockKey> {
    if (user) {
      const device = this.devices.deviceOf(client.device, user.id);
      if (device) return { scope: 'trusted', key: `${user.id}:device:${device}` };
      if (await isKnownAddress(this.deps.knex, user.id, client.ip)) return { scope: 'trusted', key: `${user.id}:ip:${client.ip}` };
    }
    return { scope: 'account', username };
  }

  private async attempt(client: ClientInfo, username: string, password: string, otpCode: string | undefined, module: 'auth' | 'oauth') {
    const { knex } = this.deps;
    const user = await User.live().whereRaw('lower(username) = lower(?)', [username]).first();
    const lock = await this.lockFor(client, username, user);
    await this.throttle.check(lock);
    await this.budget.hash(client.ip);
    const ok = await argon2.verify(user?.password_hash ?? (await DUMMY_HASH), password);
    if (!user || !ok) {
      const lockedUntil = await this.throttle.fail(lock, client.ip ?? '');
      if (user) {
        await User.query().findById(user.id).patch({
          failed_login_attempts: user.failed_login_attempts + 1,
          last_failed_login: new Date(),
          ...(lockedUntil && lock.scope === 'account' ? { locked_until: lockedUntil } : {}),
        });
      }
      await audit(knex, client, {
        module, action: 'login_failed', level: 'WARNING', message: `Failed ${module === 'oauth' ? 'OAuth sign-in' : 'login'} for ${username}`,
        userId: user?.id ?? null, username, details: { locked: Boolean(lockedUntil), ...(lock.scope === 'trusted' ? { trusted_client: true } : {}) },
      });
      if (lockedUntil) await this.throttle.check(lock);
      throw new AppError('INVALID_CREDENTIALS', 'Invalid username or password');
    }
    if (!user.is_active) throw new AppError('INVALID_CREDENTIALS', 'This account is disabled');
    if (user.signup_pending) throw verificationRequired();
    await this.secondFactor(client, user, otpCode, lock);
    await this.throttle.succeed(lock);
    await rememberAddress(knex, user.id, client.ip);
    if (module === 'oauth') {
      await audit(knex, client, { module: 'oauth', action: 'login', message: `${user.username} signed in to authorize an OAuth client`, userId: user.id, username: user.username });
    }
    return { user, device: this.devices.issue(user.id), trusted: lock.scope === 'trusted' };
  }

  /** Without a code the answer says one is needed; a wrong code counts as a failed sign-in (lockout). */
  private async secondFactor(client: ClientInfo, user: User, otpCode: string | undefined, lock: LockKey) {
    if (!otpCode) {
      if (await this.twoFactor.required(user.id)) {
        throw new AppError('INVALID_CREDENTIALS', 'This account needs its second factor: send otp_code (the authenticator\'s code or a recovery code)', { two_factor_required: true });
      }
      return;
    }
    const result = await this.twoFactor.check(user.id, otpCode);
    if (result !== 'bad') return;
    await this.throttle.fail(lock, client.ip ?? '');
    await audit(this.deps.knex, client, { module: 'auth', action: 'login_failed', level: 'WARNING', message: `Wrong second factor for ${user.username}`, userId: user.id, username: user.username });
    throw twoFactorCodeError();
  }

  private async openSession(userId: number, client: ClientInfo) {
    const { knex, config } = this.deps;
    const sessionId = crypto.randomUUID();
    const expiresAt = new Date(Date.now() + config.refreshTokenTtl * 1000);
    await knex('sessions').insert({ id: sessionId, user_id: userId, ip: client.ip, user_agent: client.userAgent, expires_at: expiresAt });
    return this.issue(userId, sessionId, expiresAt);
  }

  private async issue(userId: number, sessionId: string, expiresAt: Date) {
    const { knex, config } = this.deps;
    const refreshToken = randomToken(32);
    // The system setting session_timeout (default IDCFLOW_ACCESS_TOKEN_TTL) is the lifetime of every access token issued.
    const ttl = this.deps.system.settings.current.session_timeout;
    await knex('refresh_tokens').insert({ session_id: sessionId, token_hash: sha256(refreshToken), expires_at: expiresAt });
    return {
      access_token: signAccessToken({ sub: String(userId), sid: sessionId }, config.jwtSecret, ttl),
      refresh_token: refreshToken,
      token_type: 'bearer' as const,
      expires_in: ttl,
    };
  }

  /** Rotates a refresh token. Presenting one that was already used ends its whole session (token theft). */
  async refresh(client: ClientInfo, refreshToken: string) {
    const { knex } = this.deps;
    const row = await knex('refresh_tokens as r')
      .join('sessions as s', 's.id', 'r.session_id')
      .join('users as u', 'u.id', 's.user_id')
      .where('r.token_hash', sha256(refreshToken))
      .first('r.id', 'r.used_at', 'r.expires_at', 's.id as session_id', 's.revoked_at', 's.user_id', 'u.is_active', 'u.deleted_at', 'u.username');
    if (!row || row.revoked_at || row.deleted_at || !row.is_active) throw new AppError('INVALID_CREDENTIALS', 'The refresh token is not valid');
    if (new Date(row.expires_at) <= new Date()) throw new AppError('TOKEN_EXPIRED', 'The refresh token has expired; sign in again');
    const claimed = await knex('refresh_tokens').where({ id: row.id }).whereNull('used_at').update({ used_at: knex.fn.now() });
    if (row.used_at || claimed === 0) {
      await knex('sessions').where({ id: row.session_id }).update({ revoked_at: knex.fn.now() });
      await audit(knex, client, {
        module: 'auth', action: 'refresh_reuse', level: 'WARNING', message: `A used refresh token was presented again; session of ${row.username} revoked`,
        userId: row.user_id, username: row.username,
      });
      throw new AppError('INVALID_CREDENTIALS', 'The refresh token was already used; the session has been revoked');
    }
    return this.issue(row.user_id, row.session_id, new Date(row.expires_at));
  }

  async logout(caller: Caller, refreshToken?: string) {
    const { knex } = this.deps;
    const sessions = new Set<string>();
    const { principal } = caller;
    if (principal.sessionId) sessions.add(principal.sessionId);
    if (refreshToken) {
      const row = await knex('refresh_tokens as r').join('sessions as s', 's.id', 'r.session_id')
        .where('r.token_hash', sha256(refreshToken)).where('s.user_id', principal.userId ?? -1).first('s.id');
      if (row) sessions.add(row.id);
    }
    if (sessions.size) await knex('sessions').whereIn('id', [...sessions]).whereNull('revoked_at').update({ revoked_at: knex.fn.now() });
    await audit(knex, caller, { module: 'auth', action: 'logout', message: `${caller.principal.username} signed out` });
    return { sessions_revoked: sessions.size };
  }
}
