import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { route } from '../platform/http/route';
import { seedDate } from '../users/compat-user-data';
import { bodyCredentials } from '../userdata/schemas';
import { OAuthClients } from './clients/service';
import { clientFields, clientIdParams, createClientFields } from './schemas';

/** Seed 004's OAuth client registration (the user-data service's /api/oauth/clients). */
export function oauthClientCompatRoutes(deps: AppDeps) {
  const clients = new OAuthClients(deps);
  const common = { tags: ['compat: seed 004 oauth'], surface: 'seed004' as const, credentials: 'body' as const };
  const credentials = { api_token: bodyCredentials.api_token, server_token: bodyCredentials.server_token, username: bodyCredentials.username };
  return [
    route({
      ...common, method: 'post', path: '/api/oauth/clients', permission: 'create', status: 201, message: 'OAuth客户端创建成功',
      summary: 'Register an OAuth client; its secret is in this answer only',
      body: z.object({ ...credentials, ...createClientFields }),
      handler: async ({ caller, body }) => {
        const { client, secret } = await clients.create(caller, body);
        return {
          client: {
            client_id: client.client_id, ...(secret ? { client_secret: secret } : {}), name: client.name, redirect_uris: client.redirect_uris,
            client_type: client.client_type, is_trusted: client.is_trusted, created_at: seedDate(client.created_at),
          },
        };
      },
    }),
    route({
      ...common, method: 'put', path: '/api/oauth/clients', permission: 'update', message: 'OAuth客户端更新成功',
      summary: 'Update an OAuth client you registered (admins: any)',
      body: z.object({ ...credentials, client_id: clientIdParams.shape.client_id }).extend(z.object(clientFields).partial().shape),
      handler: async ({ caller, body }) => {
        const { api_token: _a, server_token: _s, username: _u, client_id: clientId, ...patch } = body;
        const c = await clients.update(caller, clientId, patch);
        return {
          client: {
            client_id: c.client_id, name: c.name, redirect_uris: c.redirect_uris, is_active: c.is_active, is_trusted: c.is_trusted,
            scopes: c.scopes, allowed_grant_types: c.allowed_grant_types, rate_limit: c.rate_limit, updated_at: seedDate(c.updated_at),
          },
        };
      },
    }),
  ];
}
