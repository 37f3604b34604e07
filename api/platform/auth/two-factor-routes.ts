import { z } from 'zod';
import { AppError, forbidden } from '../../../shared/platform/errors';
import type { AppDeps } from '../deps';
import { route } from '../http/route';
import type { Principal } from './principal';
import { TwoFactorService } from './two-factor';
import { CurrentPassword } from './current-password';

const otpCode = z.string().trim().min(6, 'is required').max(32);
const statusSchema = z.object({ enabled: z.boolean(), pending: z.boolean(), recovery_codes_left: z.number() });

/** The signed-in user's own second factor (`/auth/2fa/*`); a system credential has no user to enroll. */
export function twoFactorRoutes(deps: AppDeps) {
  const service = new TwoFactorService(deps.knex, deps.config.masterKey);
  // Enrolling and turning off need the current password, paced per account with the password change's count.
  const currentPassword = new CurrentPassword(deps.knex, deps.config.login);
  const tags = ['auth'];
  const self = (p: Principal) => {
    if (p.userId === null || (p.via !== 'session' && p.via !== 'api_token')) throw forbidden('Two-factor authentication is managed by the signed-in user');
    return p.userId;
  };
  return [
    route({
      method: 'get', path: '/auth/2fa', tags, permission: 'view', summary: 'Whether your two-factor authentication is on, and how many recovery codes are left',
      response: statusSchema,
      handler: ({ principal }) => service.status(self(principal)),
    }),
    route({
      method: 'post', path: '/auth/2fa/enroll', tags, permission: 'view', noStore: true, summary: 'Start two-factor enrollment, with your current password: a TOTP secret, its otpauth URI and QR code (shown once)',
      description: 'The secret is sealed at rest and never shown again; scan the QR code (or enter the secret) in an authenticator app, then confirm with a first code. Wrong passwords are paced per account (429 with Retry-After).',
      body: z.object({ password: z.string().min(1, 'is required').max(256) }),
      response: z.object({ secret: z.string(), otpauth_uri: z.string(), qr_code: z.string() }),
      message: 'Scan the QR code, then confirm with a code',
      handler: async ({ caller, principal, body }) => {
        const userId = self(principal);
        await currentPassword.verify(userId, body.password, 'password');
        return service.enroll(caller, userId);
      },
    }),
    route({
      method: 'post', path: '/auth/2fa/confirm', tags, permission: 'view', noStore: true, summary: 'Turn two-factor authentication on with a first code; answers the recovery codes (shown once)',
      body: z.object({ code: z.string().trim().regex(/^\d{6}$/, 'must be the 6-digit code of your authenticator') }),
      response: z.object({ enabled: z.boolean(), recovery_codes: z.array(z.string()) }),
      message: 'Two-factor authentication is on',
      handler: ({ caller, principal, body }) => service.confirm(caller, self(principal), body.code),
    }),
    route({
      method: 'post', path: '/auth/2fa/disable', tags, permission: 'view', noStore: true, summary: 'Turn two-factor authentication off, with your password and a code (or a recovery code)',
      body: z.object({ password: z.string().min(1, 'is required').max(256), code: otpCode }),
      response: z.object({ enabled: z.boolean() }),
      message: 'Two-factor authentication is off',
      handler: async ({ caller, principal, body }) => {
        const userId = self(principal);
        await currentPassword.verify(userId, body.password, 'password');
        try {
          return await service.disable(caller, userId, body.code);
        } catch (err) {
          // A wrong code counts too, so the code cannot be guessed here without end.
          if (err instanceof AppError && err.code === 'INVALID_CREDENTIALS') await currentPassword.penalize(userId);
          throw err;
        }
      },
    }),
  ];
}
