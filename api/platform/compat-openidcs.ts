import { z } from 'zod';
import { randomToken } from '../../shared/platform/crypto';
import type { AppDeps } from './deps';
import { SECRET_NAMES } from './auth/credentials';
import { route } from './http/route';
import { audit } from './audit';

/** Seed 001 (OpenIDCS) system token: an admin-level bearer token, kept sealed, compared in constant time. */
export function openidcsSystemRoutes(deps: AppDeps) {
  const tags = ['compat: seed 001 OpenIDCS'];
  const common = { tags, surface: 'seed001' as const, permission: 'admin' as const, noStore: true };
  const tokenData = z.object({ token: z.string() });
  return [
    route({
      ...common, method: 'post', path: '/api/system/resets', summary: 'Generate a new system token (the old one stops working)',
      response: tokenData,
      handler: async ({ caller, principal }) => {
        const token = randomToken(32);
        await deps.secrets.set(SECRET_NAMES.systemToken, token, principal.userId);
        await audit(deps.knex, caller, { module: 'system', action: 'system_token_reset', message: 'System token regenerated' });
        return { token };
      },
    }),
    route({
      ...common, method: 'post', path: '/api/system/create', summary: 'Set the system token to a given value',
      body: z.object({ token: z.string().min(16, 'must be at least 16 characters').max(256).regex(/^[A-Za-z0-9._~+/=-]+$/, 'may hold URL-safe characters only') }),
      response: tokenData,
      handler: async ({ caller, principal, body }) => {
        await deps.secrets.set(SECRET_NAMES.systemToken, body.token, principal.userId);
        await audit(deps.knex, caller, { module: 'system', action: 'system_token_set', message: 'System token set' });
        return { token: body.token };
      },
    }),
    route({
      ...common, method: 'get', path: '/api/system/tquery', summary: 'The current system token (admins only)',
      response: z.object({ token: z.string().nullable() }),
      handler: async () => ({ token: (await deps.secrets.get(SECRET_NAMES.systemToken)) ?? null }),
    }),
  ];
}
