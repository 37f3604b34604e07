import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { NO_STORE, Reply, route } from '../platform/http/route';
import { dbId, dbIdValue } from '../platform/http/schemas';
import { AuthService } from '../platform/auth/service';
import { password, username } from '../users/service';
import { expiry, referralCode } from './schemas';
import { rentalServices } from './services';

/** Seed 000 (DERP rental): accounts, rentals, ACLs and distributors at the document's paths, in plain JSON; invalid data is 400. */
export function derpRentalRoutes(deps: AppDeps) {
  const { accounts, rentals, acl, distributors } = rentalServices(deps);
  const auth = new AuthService(deps);
  const common = { tags: ['compat: seed 000 DERP rental'], surface: 'seed000' as const };
  const userIdParams = z.object({ user_id: dbId });
  const aclBody = z.object({ user_id: dbIdValue, permissions: z.array(z.string().max(64)).max(32).optional() });
  const download = (file: { filename: string; body: string }) =>
    new Reply(file.body, { raw: true, headers: { 'Content-Type': 'application/json; charset=utf-8', 'Content-Disposition': `attachment; filename="${file.filename}"`, ...NO_STORE } });

  return [
    route({
      ...common, method: 'post', path: '/api/add_user', auth: 'public', summary: 'Register (a user account); `referral_code` links you to a distributor',
      body: z.object({ username, password, email: z.email().max(255), referral_code: referralCode.optional() }), message: 'User created successfully',
      handler: ({ client, body }) => accounts.register(client, body),
    }),
    route({
      ...common, method: 'post', path: '/api/login', auth: 'public', summary: 'Sign in: `token` is an idcflow access token (send it as Bearer)',
      body: z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) }), message: 'Login successful',
      handler: async ({ client, body }) => {
        const t = await auth.login(client, body.username, body.password);
        return new Reply({ token: t.access_token, refresh_token: t.refresh_token, expires_in: t.expires_in, user_id: t.user.id }, { headers: { ...NO_STORE, 'Set-Cookie': auth.devices.header(t.device) }, message: 'Login successful' });
      },
    }),
    route({
      ...common, method: 'post', path: '/api/send_verification_email', auth: 'public', summary: 'Mail a signed, single-use, expiring verification link to an unverified account\'s address (same answer for any address)',
      body: z.object({ email: z.email('Invalid email address').max(255) }), message: 'Verification email sent successfully',
      handler: async ({ client, body }) => { await accounts.sendVerification(client, body.email); return {}; },
    }),
    route({
      ...common, method: 'get', path: '/api/verify_email', auth: 'public', summary: 'The link of the verification mail: verifies the address once',
      query: z.object({ id: dbId, token: z.string().min(1).max(128) }), message: 'Email verified successfully',
      handler: ({ client, query }) => accounts.verify(client, query.id, query.token),
    }),
    route({
      ...common, method: 'get', path: '/api/user/rental_info', permission: 'view', summary: 'Your rental: status and expiry of the one expiring last, and all of them',
      handler: ({ principal }) => rentals.info(principal),
    }),
    route({
      ...common, method: 'get', path: '/api/user/history/:user_id', permission: 'view', summary: 'A user\'s rentals and their changes (yours; an admin anyone\'s)', params: userIdParams,
      handler: ({ principal, params }) => rentals.history(principal, params.user_id),
    }),
    route({
      ...common, method: 'post', path: '/api/user/apply_distributor', permission: 'create', summary: 'Apply to be a distributor; `distributor_code` becomes your referral code once an admin approves',
      body: z.object({ user_id: dbIdValue, distributor_code: referralCode, note: z.string().max(500).optional() }), message: 'Distributor application successful',
      handler: async ({ caller, body }) => {
        const d = await distributors.apply(caller, body.user_id, body.distributor_code, body.note);
        return { user_id: d.user_id, status: d.status, referral_code: d.referral_code };
      },
    }),
    route({
      ...common, method: 'get', path: '/api/user/download_acl', permission: 'view', summary: 'Download your derpMap fragment (application/json, as an attachment)',
      handler: async ({ principal }) => download(await acl.download(principal, { id: principal.userId ?? -1 })),
    }),
    route({
      ...common, method: 'post', path: '/api/acl/generate', permission: 'view', summary: 'Build a user\'s derpMap fragment from their active rentals (yours; an admin anyone\'s); logged',
      body: aclBody, message: 'ACL generated successfully',
      handler: ({ caller, body }) => acl.generate(caller, body.user_id, 'generate', body.permissions),
    }),
    route({
      ...common, method: 'post', path: '/api/acl/update', permission: 'view', summary: 'Rebuild a user\'s derpMap fragment (after rentals changed); logged',
      body: aclBody, message: 'ACL updated successfully',
      handler: ({ caller, body }) => acl.generate(caller, body.user_id, 'update', body.permissions),
    }),
    route({
      ...common, method: 'get', path: '/api/acl/logs/:user_id', permission: 'view', summary: 'The generations, updates and downloads of a user\'s derpMap', params: userIdParams,
      handler: ({ principal, params }) => acl.logs(principal, params.user_id),
    }),
    route({
      ...common, method: 'get', path: '/api/acl/download/:username', permission: 'view', summary: 'Download a user\'s derpMap fragment (yours; an admin anyone\'s)',
      params: z.object({ username: z.string().min(1).max(64) }),
      handler: async ({ principal, params }) => download(await acl.download(principal, { username: params.username })),
    }),
    route({
      ...common, method: 'get', path: '/api/rental/check_expiry', permission: 'admin', summary: 'Rentals past their expiry and not yet deleted (suspended, in their grace period)',
      handler: async () => ({ expired_rentals: await rentals.expired() }),
    }),
    route({
      ...common, method: 'post', path: '/api/rental/send_expiry_notifications', permission: 'admin', summary: 'Send a user\'s expiry reminders now (at most one mail per rental and expiry)',
      body: z.object({ user_id: dbIdValue, expiry_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD').optional() }), message: 'Expiry notification sent',
      handler: ({ caller, body }) => rentals.notify(caller, body.user_id, body.expiry_date),
    }),
    route({
      ...common, method: 'post', path: '/api/rental/renew', permission: 'admin', summary: 'Set a rental\'s new expiry (a date, or an exact ISO time)',
      body: z.object({ rental_id: dbIdValue, new_expiry_date: expiry }), message: 'Rental renewed successfully',
      handler: async ({ caller, body }) => ({ rental: await rentals.renew(caller, body.rental_id, body.new_expiry_date, caller.idempotencyKey) }),
    }),
    route({
      ...common, method: 'delete', path: '/api/rental/delete/:serial_id', permission: 'delete', summary: 'Delete a rental (its relay container is removed); waits (bounded)',
      params: z.object({ serial_id: dbId }),
      handler: async ({ caller, params }) => {
        const r = await rentals.remove(caller, params.serial_id);
        if (!r.done) return new Reply({ rental: r.rental }, { status: 202, message: 'Accepted: the rental is being deleted' });
        return new Reply({ rental: r.rental }, { message: 'Rental deleted successfully' });
      },
    }),
  ];
}

