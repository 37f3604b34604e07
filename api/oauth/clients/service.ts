import { randomToken, sha256 } from '../../../shared/platform/crypto';
import { AppError, notFound, validationError, type FieldError } from '../../../shared/platform/errors';
import { audit } from '../../platform/audit';
import { isAdmin, viewerOf, type Principal } from '../../platform/auth/principal';
import type { Caller } from '../../platform/caller';
import type { AppDeps } from '../../platform/deps';
import { iso } from '../../platform/http/schemas';
import type { CreateClient, UpdateClient } from '../schemas';
import { deleteClient, insertClient, platformOwner, updateClient, visibleClient, visibleClients, type OAuthClientRow } from '../../../db/queries/oauth/clients';

export const presentClient = (c: OAuthClientRow) => ({
  client_id: c.client_id,
  client_type: c.secret_hash ? 'confidential' as const : 'public' as const,
  name: c.name,
  description: c.description,
  redirect_uris: c.redirect_uris,
  allowed_grant_types: c.grant_types,
  scopes: c.scopes,
  logo_url: c.logo_url,
  is_trusted: c.is_trusted,
  is_active: c.is_active,
  rate_limit: c.rate_limit,
  owner_id: c.owner_id,
  created_at: iso(c.created_at),
  updated_at: iso(c.updated_at),
});

/** The rules between fields, checked on the client as it would be after the change. */
function coherenceProblems(c: Pick<OAuthClientRow, 'redirect_uris' | 'grant_types' | 'scopes' | 'is_trusted' | 'secret_hash'>, principal: Principal): FieldError[] {
  const problems: FieldError[] = [];
  const grants = c.grant_types;
  if (grants.includes('authorization_code') && c.redirect_uris.length === 0) problems.push({ field: 'redirect_uris', message: 'needs at least one URI for the authorization_code grant' });
  if (grants.includes('refresh_token') && !grants.includes('authorization_code')) problems.push({ field: 'allowed_grant_types', message: 'refresh_token needs authorization_code' });
  if (grants.includes('client_credentials') && !c.secret_hash) problems.push({ field: 'allowed_grant_types', message: 'client_credentials needs a confidential client (with a secret)' });
  if (!isAdmin(principal) && c.scopes.includes('admin')) problems.push({ field: 'scopes', message: 'admin is for clients registered by an admin' });
  if (!isAdmin(principal) && c.is_trusted) problems.push({ field: 'is_trusted', message: 'only an admin can make a client trusted' });
  return problems;
}

/**
 * Registered OAuth clients: every one has an owner, who (with admins) sees and manages it; to anyone else it does
 * not exist (404). The secret is shown once and kept hashed. Reads and writes go through db/queries/oauth/clients.ts.
 */
export class OAuthClients {
  constructor(private readonly deps: AppDeps) {}

  /** A client the principal may manage; anyone else's does not exist for them. */
  async visible(principal: Principal, clientId: string): Promise<OAuthClientRow> {
    const row = await visibleClient(this.deps.knex, viewerOf(principal), clientId);
    if (!row) throw notFound('OAuth client', clientId);
    return row;
  }

  async list(principal: Principal) {
    return (await visibleClients(this.deps.knex, viewerOf(principal))).map(presentClient);
  }

  /** Who owns a new client: its registering user; for a caller that is no user (a server or system token), the oldest admin. */
  private async ownerFor(principal: Principal): Promise<number> {
    const owner = principal.userId ?? await platformOwner(this.deps.knex);
    if (owner === null) throw new AppError('CONFLICT', 'There is no admin to own a client registered without a user');
    return owner;
  }

  async create(caller: Caller, body: CreateClient) {
    const secret = body.client_type === 'confidential' ? randomToken(32) : null;
    const row = {
      client_id: randomToken(18),
      secret_hash: secret ? sha256(secret) : null,
      name: body.name,
      description: body.description ?? null,
      redirect_uris: body.redirect_uris,
      grant_types: [...new Set(body.allowed_grant_types)],
      scopes: [...new Set(body.scopes)],
      logo_url: body.logo_url ?? null,
      is_trusted: body.is_trusted,
      is_active: body.is_active,
      rate_limit: body.rate_limit ?? null,
      owner_id: await this.ownerFor(caller.principal),
    };
    const problems = coherenceProblems(row, caller.principal);
    if (problems.length) throw validationError(problems.map((p) => ({ ...p, location: 'body' })));
    const created = await insertClient(this.deps.knex, row);
    await audit(this.deps.knex, caller, { module: 'oauth', action: 'client_create', message: `OAuth client ${row.name} registered`, resourceType: 'oauth_client', resourceId: row.client_id });
    return { client: presentClient(created), secret };
  }

  async update(caller: Caller, clientId: string, body: UpdateClient) {
    const current = await this.visible(caller.principal, clientId);
    const next = {
      ...current,
      ...Object.fromEntries(Object.entries(body).filter(([k, v]) => v !== undefined && k !== 'allowed_grant_types')),
      ...(body.allowed_grant_types ? { grant_types: [...new Set(body.allowed_grant_types)] } : {}),
      ...(body.scopes ? { scopes: [...new Set(body.scopes)] } : {}),
    } as OAuthClientRow;
    const problems = coherenceProblems(next, caller.principal);
    // A trusted client stays trusted when its owner edits other fields.
    const relevant = problems.filter((p) => p.field !== 'is_trusted' || body.is_trusted === true);
    if (relevant.length) throw validationError(relevant.map((p) => ({ ...p, location: 'body' })));
    const updated = await updateClient(this.deps.knex, viewerOf(caller.principal), current.id, {
      name: next.name, description: next.description, logo_url: next.logo_url, is_trusted: next.is_trusted, is_active: next.is_active, rate_limit: next.rate_limit,
      redirect_uris: next.redirect_uris, grant_types: next.grant_types, scopes: next.scopes,
    });
    if (!updated) throw notFound('OAuth client', clientId);
    // A deactivated client's tokens stop at once.
    if (current.is_active && !updated.is_active) await this.revokeTokens(clientId);
    await audit(this.deps.knex, caller, { module: 'oauth', action: 'client_update', message: `OAuth client ${updated.name} updated`, resourceType: 'oauth_client', resourceId: clientId, details: { fields: Object.keys(body) } });
    return presentClient(updated);
  }

  async remove(caller: Caller, clientId: string) {
    const current = await this.visible(caller.principal, clientId);
    await this.revokeTokens(clientId);
    await deleteClient(this.deps.knex, viewerOf(caller.principal), current.id);
    await audit(this.deps.knex, caller, { module: 'oauth', action: 'client_delete', message: `OAuth client ${current.name} deleted`, resourceType: 'oauth_client', resourceId: clientId });
  }

  async rotateSecret(caller: Caller, clientId: string) {
    const current = await this.visible(caller.principal, clientId);
    if (!current.secret_hash) throw new AppError('CONFLICT', 'A public client has no secret');
    const secret = randomToken(32);
    await updateClient(this.deps.knex, viewerOf(caller.principal), current.id, { secret_hash: sha256(secret) });
    await audit(this.deps.knex, caller, { module: 'oauth', action: 'client_secret_rotate', message: `OAuth client ${current.name}: secret rotated`, resourceType: 'oauth_client', resourceId: clientId });
    return { client_id: clientId, client_secret: secret };
  }

  private async revokeTokens(clientId: string) {
    await this.deps.knex('oauth_payloads').whereRaw("payload->>'clientId' = ?", [clientId]).delete();
  }

}
