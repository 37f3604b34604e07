import type { Knex } from 'knex';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { clientMetadata, type OAuthClientRow } from '../clients/metadata';

const TABLE = 'oauth_payloads';

/** oidc-provider's storage in PostgreSQL: codes, tokens, sessions, grants, interactions; clients from oauth_clients. */
export function postgresAdapter(knex: Knex) {
  return class PostgresAdapter implements Adapter {
    constructor(private readonly kind: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
      const row = {
        kind: this.kind,
        id,
        payload: JSON.stringify(payload),
        grant_id: payload.grantId ?? null,
        user_code: payload.userCode ?? null,
        uid: payload.uid ?? null,
        expires_at: expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
      };
      await knex(TABLE).insert(row).onConflict(['kind', 'id']).merge();
    }

    private async one(where: Record<string, string>): Promise<AdapterPayload | undefined> {
      if (this.kind === 'Client') {
        const client = await knex<OAuthClientRow>('oauth_clients').where({ client_id: where.id, is_active: true }).first();
        return client ? clientMetadata(client) : undefined;
      }
      const row = await knex(TABLE).where({ kind: this.kind, ...where })
        .where((q) => q.whereNull('expires_at').orWhere('expires_at', '>', knex.fn.now())).first('payload', 'consumed_at');
      if (!row) return undefined;
      return { ...row.payload, ...(row.consumed_at ? { consumed: Math.floor(new Date(row.consumed_at).getTime() / 1000) } : {}) };
    }

    find(id: string) {
      return this.one({ id });
    }

    findByUserCode(userCode: string) {
      return this.one({ user_code: userCode });
    }

    findByUid(uid: string) {
      return this.one({ uid });
    }

    async consume(id: string) {
      await knex(TABLE).where({ kind: this.kind, id }).update({ consumed_at: knex.fn.now() });
    }

    async destroy(id: string) {
      await knex(TABLE).where({ kind: this.kind, id }).delete();
    }

    async revokeByGrantId(grantId: string) {
      await knex(TABLE).where({ grant_id: grantId }).delete();
    }
  };
}
