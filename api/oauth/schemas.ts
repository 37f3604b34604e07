import { z } from 'zod';
import { OFFERED_GRANT_TYPES, OFFERED_SCOPES, redirectUriProblem } from '../../shared/oauth/scopes';

const redirectUri = z.string().max(2000).superRefine((uri, ctx) => {
  const problem = redirectUriProblem(uri);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A client's fields as seed 004 names them; all optional in an update. */
export const clientFields = {
  name: z.string().trim().min(1, 'is required').max(100),
  description: z.string().max(1000).nullable(),
  redirect_uris: z.array(redirectUri).max(20),
  allowed_grant_types: z.array(z.enum(OFFERED_GRANT_TYPES)).min(1).max(3),
  scopes: z.array(z.enum(OFFERED_SCOPES as [string, ...string[]])).max(OFFERED_SCOPES.length),
  logo_url: z.url({ protocol: /^https$/ }).max(2000).nullable(),
  is_trusted: z.boolean(),
  is_active: z.boolean(),
  rate_limit: z.number().int().min(1).max(1_000_000).nullable(),
};

export const createClientFields = {
  ...clientFields,
  description: clientFields.description.optional(),
  redirect_uris: clientFields.redirect_uris.default([]),
  allowed_grant_types: clientFields.allowed_grant_types.default(['authorization_code', 'refresh_token']),
  scopes: clientFields.scopes.default(['openid', 'profile']),
  logo_url: clientFields.logo_url.optional(),
  is_trusted: clientFields.is_trusted.default(false),
  is_active: clientFields.is_active.default(true),
  rate_limit: clientFields.rate_limit.optional(),
  /** public: no secret (a browser or native app), PKCE required. */
  client_type: z.enum(['confidential', 'public']).default('confidential'),
};

export const createClientBody = z.object(createClientFields);
export type CreateClient = z.infer<typeof createClientBody>;
export const updateClientBody = z.object(clientFields).partial();
export type UpdateClient = z.infer<typeof updateClientBody>;

export const clientIdParams = z.object({ client_id: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'is not a client id') });

export const clientSchema = z.object({
  client_id: z.string(),
  client_type: z.enum(['confidential', 'public']),
  name: z.string(),
  description: z.string().nullable(),
  redirect_uris: z.array(z.string()),
  allowed_grant_types: z.array(z.string()),
  scopes: z.array(z.string()),
  logo_url: z.string().nullable(),
  is_trusted: z.boolean(),
  is_active: z.boolean(),
  rate_limit: z.number().nullable(),
  owner_id: z.number().nullable(),
  created_at: z.string().nullable(),
  updated_at: z.string().nullable(),
});
