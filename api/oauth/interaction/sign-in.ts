import argon2 from 'argon2';
import type { Knex } from 'knex';
import type { Config } from '../../../shared/platform/config';
import { LoginThrottle } from '../../platform/auth/login-throttle';
import { audit } from '../../platform/audit';
import { TwoFactorService } from '../../platform/auth/two-factor';
import type { ClientInfo } from '../../platform/caller';

/** Checks a username, password and (when the user has one) second factor on the sign-in page, with the same lockout as the API's login. Returns the user id. */
export class InteractionSignIn {
  private readonly throttle: LoginThrottle;
  private readonly twoFactor: TwoFactorService;
  private readonly dummy = argon2.hash(`not-a-password-${Math.random()}`, { type: argon2.argon2id });

  constructor(private readonly knex: Knex, login: Config['login'], limits: () => Promise<Config['login']>, masterKey: Buffer) {
    this.throttle = new LoginThrottle(knex, login, limits);
    this.twoFactor = new TwoFactorService(knex, masterKey);
  }

  /** `otpCode`: the second factor, needed when the user has turned two-factor authentication on. */
  async verify(client: ClientInfo, username: string, password: string, otpCode?: string): Promise<number | null> {
    await this.throttle.check(username);
    const user = await this.knex('users').whereNull('deleted_at').whereRaw('lower(username) = lower(?)', [username]).first('id', 'username', 'password_hash', 'is_active');
    const ok = await argon2.verify(user?.password_hash ?? (await this.dummy), password);
    const second = user && ok && user.is_active ? await this.twoFactor.check(user.id, otpCode || undefined) : 'none';
    if (!user || !ok || !user.is_active || second === 'bad') {
      if (!ok || second === 'bad') await this.throttle.fail(username, client.ip ?? '');
      await audit(this.knex, client, { module: 'oauth', action: 'login_failed', level: 'WARNING', message: `Failed OAuth sign-in for ${username}`, userId: user?.id ?? null, username });
      return null;
    }
    await this.throttle.succeed(username);
    await audit(this.knex, client, { module: 'oauth', action: 'login', message: `${user.username} signed in to authorize an OAuth client`, userId: user.id, username: user.username });
    return user.id;
  }
}
