import { AppError } from '../../../shared/platform/errors';
import { AuthService } from '../../platform/auth/service';
import type { AppDeps } from '../../platform/deps';
import type { ClientInfo } from '../../platform/caller';

export type SignInResult =
  | { ok: true; userId: number; deviceCookie: string }
  | { ok: false; status: 401 | 429; retryAfter?: number; message: string };

/**
 * The OAuth sign-in page's check of a username, password and (when the user has one) second factor: the API login's own
 * (AuthService.signIn), so the page is paced, locked and hash-bounded exactly like /api/v1/auth/login, honours the
 * device cookie and known addresses, and refuses a sign-up whose email is not verified yet.
 */
export class InteractionSignIn {
  private readonly auth: AuthService;

  constructor(deps: AppDeps) {
    this.auth = new AuthService(deps);
  }

  async verify(client: ClientInfo, username: string, password: string, otpCode?: string): Promise<SignInResult> {
    try {
      const { user, device } = await this.auth.signIn(client, username, password, otpCode || undefined, 'oauth');
      return { ok: true, userId: user.id, deviceCookie: this.auth.devices.header(device) };
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      if (err.code === 'RATE_LIMIT_EXCEEDED') {
        return { ok: false, status: 429, retryAfter: Number(err.details.retry_after) || 1, message: `Too many attempts; try again in ${Number(err.details.retry_after) || 1} s` };
      }
      if (err.details.email_verification_required) return { ok: false, status: 401, message: 'Verify your email address first: open the link mailed to you' };
      return { ok: false, status: 401, message: 'Invalid username, password or authentication code' };
    }
  }
}
