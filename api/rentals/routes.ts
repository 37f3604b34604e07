import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { NO_STORE, Reply, route } from '../platform/http/route';
import { booleanish, dbId, idParams } from '../platform/http/schemas';
import { batchBody, expiry, redeemBody, referralCode, rentalSchema } from './schemas';
import { rentalServices } from './services';
import { relayCa } from '../../db/queries/rentals/relay-ca';

/** idcflow's own rental routes under /api/v1: codes, rentals, derpMaps, distributors. */
export function rentalRoutes(deps: AppDeps) {
  const { serials, rentals, acl, distributors } = rentalServices(deps);
  const tags = ['rentals'];
  const dtags = ['distributors'];
  const redeemed = z.object({ rental: rentalSchema, days: z.number(), created: z.boolean(), expires_at: z.string().nullable() });
  return [
    route({
      method: 'post', path: '/rentals/serial-batches', tags, permission: 'create', status: 201, summary: 'Generate a batch of serial codes (admins; approved distributors within their allowance). The codes are shown only here.',
      body: batchBody, message: 'Serial codes generated',
      handler: async ({ caller, body }) => new Reply(await serials.generate(caller, body), { status: 201, headers: NO_STORE }),
    }),
    route({
      method: 'get', path: '/rentals/serial-batches', tags, permission: 'view', summary: 'Serial-code batches (an admin sees all; a distributor their own) with how many codes are used',
      handler: ({ principal }) => serials.list(principal),
    }),
    route({
      method: 'post', path: '/rentals/redeem', tags, permission: 'create', summary: 'Redeem a serial code: a new rental (its relay is created), or `rental_id` extended by the code\'s days',
      body: redeemBody, response: redeemed, message: 'Serial code redeemed',
      handler: ({ caller, body }) => rentals.redeem(caller, body),
    }),
    route({
      method: 'get', path: '/rentals', tags, permission: 'view', summary: 'Rentals (yours; an admin sees all, or one user\'s)',
      query: z.object({ user_id: dbId.optional(), include_deleted: booleanish.optional() }),
      response: z.object({ rentals: z.array(rentalSchema) }),
      handler: async ({ principal, query }) => ({ rentals: await rentals.list(principal, query) }),
    }),
    route({
      method: 'get', path: '/rentals/derp-map', tags, permission: 'view', summary: 'The derpMap fragment of your active rentals (for your tailnet policy file)',
      handler: async ({ principal }) => acl.derpMapOf(principal.userId ?? -1),
    }),
    route({
      method: 'get', path: '/rentals/relay-ca', tags, permission: 'view',
      summary: 'The certificate of idcflow\'s relay CA (PEM), which issues the relays\' TLS certificates; Tailscale clients pin each relay\'s own certificate through the derpMap\'s CertName instead',
      response: z.object({ certificate: z.string() }),
      handler: async () => ({ certificate: (await relayCa(deps.knex, deps.config.masterKey)).cert }),
    }),
    route({
      method: 'get', path: '/rentals/:id', tags, permission: 'view', summary: 'A rental', params: idParams, response: rentalSchema,
      handler: async ({ principal, params }) => rentals.present(await rentals.find(principal, params.id)),
    }),
    route({
      method: 'post', path: '/rentals/:id/renew', tags, permission: 'admin', summary: 'Set an exact new expiry (admins): the lifecycle\'s timers move and a suspended relay starts again',
      params: idParams, body: z.object({ expires_at: expiry }), response: rentalSchema, message: 'Rental renewed',
      handler: ({ caller, params, body }) => rentals.renew(caller, params.id, body.expires_at, caller.idempotencyKey),
    }),
    route({
      method: 'delete', path: '/rentals/:id', tags, permission: 'delete', summary: 'Delete a rental: its relay container is removed (an instance.delete operation) and its port freed; waits (bounded)',
      params: idParams, response: z.object({ rental: rentalSchema, done: z.boolean() }), message: 'Rental deleted',
      handler: async ({ caller, params }) => {
        const r = await rentals.remove(caller, params.id);
        return new Reply(r, { status: r.done ? 200 : 202, message: r.done ? 'Rental deleted' : 'Accepted: the rental is being deleted' });
      },
    }),
    route({
      method: 'post', path: '/rentals/:uuid/admit', tags, auth: 'public', summary: 'derper --verify-client-url: {"Allow": true} while the rental is active and unexpired',
      params: z.object({ uuid: z.string().uuid() }), body: z.object({ NodePublic: z.string().max(200).optional(), Source: z.string().max(200).optional() }).passthrough(),
      handler: async ({ params }) => new Reply({ Allow: await rentals.admits(params.uuid) }, { raw: true }),
    }),
    route({
      method: 'get', path: '/distributors/tiers', tags: dtags, permission: 'view', summary: 'Distributor tiers: commission rate and serial-code allowance',
      handler: () => distributors.tiers(),
    }),
    route({
      method: 'post', path: '/distributors/apply', tags: dtags, permission: 'create', status: 201, summary: 'Apply to be a distributor with a referral code of your choice; an admin decides',
      body: z.object({ referral_code: referralCode, note: z.string().max(500).optional() }), message: 'Application received',
      handler: ({ caller, principal, body }) => distributors.apply(caller, principal.userId ?? -1, body.referral_code, body.note),
    }),
    route({
      method: 'get', path: '/distributors', tags: dtags, permission: 'admin', summary: 'Distributors and applications',
      query: z.object({ status: z.enum(['pending', 'approved', 'rejected']).optional() }),
      handler: ({ query }) => distributors.list(query.status),
    }),
    route({
      method: 'get', path: '/distributors/me', tags: dtags, permission: 'view', summary: 'Your distributor record, your referred customers and your commission ledger',
      handler: ({ principal }) => distributors.overview(principal),
    }),
    route({
      method: 'post', path: '/distributors/:id/approve', tags: dtags, permission: 'admin', summary: 'Approve an application into a tier', params: idParams,
      body: z.object({ tier: z.string().min(1).max(64).optional() }), message: 'Distributor approved',
      handler: ({ caller, params, body }) => distributors.decide(caller, params.id, true, body.tier),
    }),
    route({
      method: 'post', path: '/distributors/:id/reject', tags: dtags, permission: 'admin', summary: 'Reject an application', params: idParams, message: 'Application rejected',
      handler: ({ caller, params }) => distributors.decide(caller, params.id, false),
    }),
    route({
      method: 'get', path: '/distributors/ledger', tags: dtags, permission: 'view', summary: 'Commission ledger (a distributor sees their own; an admin all, or one distributor\'s)',
      query: z.object({ distributor_id: dbId.optional(), status: z.enum(['pending', 'paid']).optional() }),
      handler: ({ principal, query }) => distributors.ledger(principal, query),
    }),
    route({
      method: 'post', path: '/distributors/ledger/:id/pay', tags: dtags, permission: 'admin', summary: 'Mark a pending commission as paid', params: idParams, message: 'Commission paid',
      handler: ({ caller, params }) => distributors.pay(caller, params.id),
    }),
  ];
}
