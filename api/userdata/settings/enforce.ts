import { AppError, validationError } from '../../../shared/platform/errors';
import { passwordProblems } from '../../../shared/userdata/password-policy';
import { isAdmin } from '../../platform/auth/principal';
import type { Authenticator } from '../../platform/http/route';
import type { AppDeps } from '../../platform/deps';
import type { LoginLimits } from '../../platform/auth/login-throttle';
import { SettingsStore } from './store';

/** Refuses a password the security settings' policy does not allow: a 422 naming the field, everywhere a password is set. */
export class PasswordRules {
  private readonly store: SettingsStore;
  constructor(deps: AppDeps) {
    this.store = new SettingsStore(deps, 0);
  }

  async check(password: string, field = 'password'): Promise<void> {
    const { password_policy: policy } = (await this.store.read()).security_settings;
    const problems = passwordProblems(policy, password);
    if (problems.length) throw validationError(problems.map((message) => ({ field, location: 'body', message })), `${field} ${problems.join('; ')}`);
  }
}

/** Maintenance mode: every authenticated request of a non-admin answers 503 with the configured message. */
export function withMaintenance(authenticate: Authenticator, deps: AppDeps): Authenticator {
  const store = new SettingsStore(deps);
  return async (ctx, from) => {
    const principal = await authenticate(ctx, from);
    if (principal && !isAdmin(principal)) {
      const { app_settings: app } = await store.current();
      if (app.maintenance_mode) {
        throw new AppError('SERVICE_UNAVAILABLE', app.maintenance_message || 'The service is under maintenance', { reason: 'maintenance' }, { 'Retry-After': '300' });
      }
    }
    return principal;
  };
}

/** The login lockout of the security settings (the window stays IDCFLOW_LOGIN_WINDOW_SECONDS), at most a second old. */
export function loginLimitsFromSettings(deps: AppDeps): () => Promise<LoginLimits> {
  const store = new SettingsStore(deps);
  return async () => {
    const { login_attempts: attempts } = (await store.current()).security_settings;
    return { maxFailures: attempts.max_attempts, windowSeconds: deps.config.login.windowSeconds, lockoutSeconds: attempts.lockout_duration };
  };
}
