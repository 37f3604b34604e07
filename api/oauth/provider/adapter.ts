import type { Knex } from 'knex';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { sha256 } from '../../../shared/platform/crypto';
import { activeClient } from '../../../db/queries/oauth/clients';
import { clientMetadata } from '../clients/metadata';

const TABLE = 'oauth_payloads';

/**
 * The artefacts that are bearer credentials: kept under sha256 of their id, and without the id (`jti`) in the
 * payload, so reading the table (a backup, a leaked dump) yields no token that works. Sessions, grants and
 * interactions are kept by id (the grant id is no credential; sessions and interactions are bound to cookies).
 */
export const HASHED_KINDS: ReadonlySet<string> = new Set(['AccessToken', 'RefreshToken', 'AuthorizationCode', 'ClientCredentials']);

/** The key a stored artefact of `kind` is kept under. */
export const storedId = (kind: string, id: string) => (HASHED_KINDS.has(kind) ? sha256(id) : id);

/** oidc-provider's storage in PostgreSQL: codes, tokens, sessions, grants, interactions; clients from oauth_clients. */
export function postgresAdapter(knex: Knex) {
  return class PostgresAdapter implements Adapter {
    private readonly hashed: boolean;
    constructor(private readonly kind: string) {
      this.hashed = HASHED_KINDS.has(kind);
    }

    private key(id: string) {
      return storedId(this.kind, id);
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
      const { jti: _jti, ...rest } = payload;
      const row = {
        kind: this.kind,
        id: this.key(id),
        payload: JSON.stringify(this.hashed ? rest : payload),
        grant_id: payload.grantId ?? null,
        user_code: payload.userCode ?? null,
        uid: payload.uid ?? null,
        expires_at: expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
      };
      await knex(TABLE).insert(row).onConflict(['kind', 'id']).merge();
    }

    private async one(where: Record<string, string>, id?: string): Promise<AdapterPayload | undefined> {
      const row = await knex(TABLE).where({ kind: this.kind, ...where })
        .where((q) => q.whereNull('expires_at').orWhere('expires_at', '>', knex.fn.now())).first('payload', 'consumed_at');
      if (!row) return undefined;
      return { ...row.payload, ...(this.hashed && id ? { jti: id } : {}), ...(row.consumed_at ? { consumed: Math.floor(new Date(row.consumed_at).getTime() / 1000) } : {}) };
    }

    async find(id: string) {
      if (this.kind === 'Client') {
        const client = await activeClient(knex, id);
        return client ? clientMetadata(client) : undefined;
      }
      return this.one({ id: this.key(id) }, id);
    }

    findByUserCode(userCode: string) {
      return this.one({ user_code: userCode });
    }

    findByUid(uid: string) {
      return this.one({ uid });
    }

    async consume(id: string) {
      await knex(TABLE).where({ kind: this.kind, id: this.key(id) }).update({ consumed_at: knex.fn.now() });
    }

    async destroy(id: string) {
      await knex(TABLE).where({ kind: this.kind, id: this.key(id) }).delete();
    }

    async revokeByGrantId(grantId: string) {
      await knex(TABLE).where({ grant_id: grantId }).delete();
    }
  };
}
