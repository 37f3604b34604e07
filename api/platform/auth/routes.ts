import { z } from 'zod';
import { AppError } from '../../../shared/platform/errors';
import { ROLE_PERMISSIONS } from '../../../shared/platform/permissions';
import type { AppDeps } from '../deps';
import { Reply, route } from '../http/route';
import { AuthService } from './service';
import { UserService, userSchema, presentUser } from '../../users/service';
import type { User } from '../../../db/models/users/user';
import type { UserProfile } from './principal';

const tokenPair = z.object({
  access_token: z.string(),
  refresh_token: z.string(),
  token_type: z.literal('bearer'),
  expires_in: z.number(),
});

// A cached check's row is the same object until a change drops it: it is presented once.
const presented = new WeakMap<UserProfile, ReturnType<typeof presentUser>>();
function presentedProfile(profile: UserProfile) {
  let user = presented.get(profile);
  if (!user) presented.set(profile, (user = presentUser(profile as User)));
  return user;
}

export function authRoutes(deps: AppDeps) {
  const auth = new AuthService(deps);
  const users = new UserService(deps);
  const tags = ['auth'];
  return [
    route({
      method: 'post', path: '/auth/login', tags, auth: 'public', noStore: true, summary: 'Sign in with username and password',
      description: 'Repeated failures answer 429 and lock the account for a while for clients that never signed in to it; a device holding the account\'s device cookie (Set-Cookie idcflow_device, sent at each sign-in) or an address it signed in from before is counted on its own and stays open to its owner. An address with many failures is slowed down, and its password checks are bounded per minute (429). A self-registered account signs in once its email is verified (401 with `details.email_verification_required`). An account with two-factor authentication needs `otp_code`: without it the answer is 401 with `details.two_factor_required`.',
      body: z.object({
        username: z.string().min(1, 'is required').max(64), password: z.string().min(1, 'is required').max(256),
        otp_code: z.string().trim().min(6).max(32).optional().describe('The second factor, when the account has one: the authenticator\'s 6-digit code or a recovery code'),
      }),
      response: tokenPair.extend({
        user: z.object({ id: z.number(), username: z.string(), email: z.string().nullable(), full_name: z.string().nullable(), role: z.string(), permissions: z.array(z.string()) }),
      }),
      message: 'Login successful',
      handler: async ({ client, body }) => {
        const { device, ...signedIn } = await auth.login(client, body.username, body.password, body.otp_code);
        return new Reply(signedIn, { headers: { 'Set-Cookie': auth.devices.header(device) } });
      },
    }),
    route({
      method: 'post', path: '/auth/refresh', tags, auth: 'public', noStore: true, summary: 'Exchange a refresh token for a new token pair (rotation)',
      description: 'Send the refresh token as {"refresh_token"} or as "Authorization: Bearer <refresh_token>". Each refresh token works once; presenting a used one revokes its session.',
      body: z.object({ refresh_token: z.string().min(1).optional() }).optional(),
      response: tokenPair,
      message: 'Token refreshed',
      handler: ({ ctx, client, body }) => {
        const bearer = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'))?.[1];
        const token = body?.refresh_token ?? bearer;
        if (!token) throw new AppError('INVALID_CREDENTIALS', 'A refresh_token is required');
        return auth.refresh(client, token);
      },
    }),
    route({
      method: 'post', path: '/auth/logout', tags, permission: 'view', summary: 'Sign out: revoke this session (and the refresh token given, if any)',
      body: z.object({ refresh_token: z.string().optional() }).optional(),
      response: z.object({ sessions_revoked: z.number() }),
      message: 'Logged out',
      handler: ({ caller, body }) => auth.logout(caller, body?.refresh_token),
    }),
    route({
      method: 'get', path: '/auth/me', tags, permission: 'view', summary: 'The signed-in user',
      response: userSchema.partial().extend({ username: z.string(), role: z.string(), permissions: z.array(z.string()), via: z.string() }),
      handler: async ({ principal }) => {
        if (principal.userId === null) return { username: principal.username, role: principal.role, permissions: principal.permissions, via: principal.via };
        // The row the (cached) session or token check read: every change to it reaches this replica through NOTIFY.
        const user = principal.profile ? presentedProfile(principal.profile) : presentUser(await users.find(principal.userId) as User);
        return { ...user, permissions: principal.permissions, via: principal.via };
      },
    }),
    route({
      method: 'get', path: '/auth/permissions', tags, permission: 'view', summary: 'Roles and the permissions each grants',
      response: z.record(z.string(), z.array(z.string())),
      handler: async () => ROLE_PERMISSIONS,
    }),
  ];
}
