import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { Reply, NO_STORE, route } from '../platform/http/route';
import { OAuthClients, presentClient } from './clients/service';
import { clientIdParams, clientSchema, createClientBody, updateClientBody } from './schemas';
import { SigningKeys } from './provider/keys';
import { providerHostFor } from './provider/routes';
import { OAuthConsents } from './consents';

/** /api/v1/oauth: clients (owners and admins), the user's consents, and the provider's key rotation. */
export function oauthRoutes(deps: AppDeps) {
  const clients = new OAuthClients(deps);
  const consents = new OAuthConsents(deps.knex);
  const tags = ['oauth'];
  return [
    route({
      tags, method: 'get', path: '/oauth/clients', permission: 'view', summary: 'Your OAuth clients (admins: all)',
      response: z.object({ clients: z.array(clientSchema) }),
      handler: async ({ principal }) => ({ clients: await clients.list(principal) }),
    }),
    route({
      tags, method: 'post', path: '/oauth/clients', permission: 'create', status: 201, message: 'OAuth client registered; store the secret now, it is not shown again',
      summary: 'Register an OAuth client (the secret is in this answer only)', body: createClientBody,
      response: clientSchema.extend({ client_secret: z.string().nullable() }),
      handler: async ({ caller, body }) => {
        const { client, secret } = await clients.create(caller, body);
        return new Reply({ ...client, client_secret: secret }, { headers: NO_STORE });
      },
    }),
    route({
      tags, method: 'get', path: '/oauth/clients/:client_id', permission: 'view', summary: 'One OAuth client', params: clientIdParams, response: clientSchema,
      handler: async ({ principal, params }) => presentClient(await clients.visible(principal, params.client_id)),
    }),
    route({
      tags, method: 'patch', path: '/oauth/clients/:client_id', permission: 'update', summary: 'Update an OAuth client', params: clientIdParams, body: updateClientBody, response: clientSchema,
      handler: async ({ caller, params, body }) => clients.update(caller, params.client_id, body),
    }),
    route({
      tags, method: 'delete', path: '/oauth/clients/:client_id', permission: 'delete', summary: 'Delete an OAuth client and revoke its tokens', params: clientIdParams, message: 'OAuth client deleted',
      handler: async ({ caller, params }) => { await clients.remove(caller, params.client_id); return null; },
    }),
    route({
      tags, method: 'post', path: '/oauth/clients/:client_id/secret', permission: 'update', summary: 'Issue a new client secret (the old one stops at once); shown once',
      params: clientIdParams, response: z.object({ client_id: z.string(), client_secret: z.string() }),
      handler: async ({ caller, params }) => new Reply(await clients.rotateSecret(caller, params.client_id), { headers: NO_STORE }),
    }),
    route({
      tags, method: 'get', path: '/oauth/consents', permission: 'view', summary: 'The clients you have authorized',
      response: z.object({ consents: z.array(z.object({ client_id: z.string(), name: z.string().nullable(), scope: z.string(), expires_at: z.string().nullable() })) }),
      handler: async ({ principal }) => ({ consents: await consents.list(principal) }),
    }),
    route({
      tags, method: 'delete', path: '/oauth/consents/:client_id', permission: 'view', summary: 'Withdraw your consent to a client: its tokens for you stop at once',
      params: clientIdParams, message: 'Consent withdrawn',
      handler: async ({ caller, params }) => { await consents.revoke(caller, params.client_id); return null; },
    }),
    route({
      tags, method: 'post', path: '/oauth/keys/rotate', permission: 'admin', summary: 'Make a new signing key; the old one still verifies what it signed',
      response: z.object({ kid: z.string() }),
      handler: async () => {
        const kid = await new SigningKeys(deps.knex, deps.config.masterKey).rotate();
        providerHostFor(deps).reset();
        return { kid };
      },
    }),
  ];
}
