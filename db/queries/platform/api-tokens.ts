import type { Knex } from 'knex';
import { ownedBy, type Viewer } from './scope';

/** A row of api_tokens as the API reads it (the secret's hash stays in the table). */
export interface ApiTokenRow {
  id: number;
  user_id: number;
  name: string;
  prefix: string;
  scopes: string[];
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
  created_at: Date;
  /** The token that minted this one (null when a signed-in session made it). */
  parent_token_id: number | null;
}

const COLUMNS = ['id', 'user_id', 'name', 'prefix', 'scopes', 'expires_at', 'last_used_at', 'revoked_at', 'created_at', 'parent_token_id'];

/** API tokens: a user's own, or anyone's for an admin (another user's token is not there: a 404). */
export class ApiTokens {
  constructor(private readonly knex: Knex) {}

  list(viewer: Viewer, userId: number): Promise<ApiTokenRow[]> {
    return ownedBy(this.knex('api_tokens'), viewer, 'user_id').where({ user_id: userId }).orderBy('id').select(COLUMNS) as Promise<ApiTokenRow[]>;
  }

  async find(viewer: Viewer, id: number): Promise<ApiTokenRow | undefined> {
    const row: ApiTokenRow | undefined = await ownedBy(this.knex('api_tokens'), viewer, 'user_id').where({ id }).first(COLUMNS);
    return row;
  }

  /**
   * Inserts a token. One minted by a token (`parentId`) is inserted only while that parent is live, its row held until
   * the insert commits, so a revocation of the parent running meanwhile waits and then revokes the child too; `expiry`
   * gets the parent's expiry (null: none, or no parent) and says the child's. Undefined when the parent is revoked.
   */
  async insert(
    row: Omit<ApiTokenRow, 'id' | 'last_used_at' | 'revoked_at' | 'created_at' | 'expires_at' | 'parent_token_id'> & { token_hash: string },
    parentId: number | null,
    expiry: (parentExpiry: Date | null) => Date | null,
  ): Promise<ApiTokenRow | undefined> {
    return this.knex.transaction(async (trx) => {
      let parentExpiry: Date | null = null;
      if (parentId !== null) {
        const parent: { expires_at: Date | null } | undefined = await trx('api_tokens').where({ id: parentId }).whereNull('revoked_at').forShare().first('expires_at');
        if (!parent) return undefined;
        parentExpiry = parent.expires_at ? new Date(parent.expires_at) : null;
      }
      const [created] = await trx('api_tokens')
        .insert({ ...row, scopes: JSON.stringify(row.scopes), expires_at: expiry(parentExpiry), parent_token_id: parentId })
        .returning(COLUMNS);
      return created as ApiTokenRow;
    });
  }

  /**
   * Revokes the token and every token descended from it, in one statement (migration 029's trigger does the same for
   * any other path). Answers the token as revoked and how many of its descendants were live until now.
   */
  async revokeTree(id: number): Promise<{ token: ApiTokenRow; descendants: number }> {
    return this.knex.transaction(async (trx) => {
      const { rows } = await trx.raw<{ rows: Array<{ id: number }> }>(`
        with recursive tree as (
          select id from api_tokens where id = ?
          union all
          select t.id from api_tokens t join tree on t.parent_token_id = tree.id
        )
        update api_tokens set revoked_at = now() where id in (select id from tree) and revoked_at is null returning id`, [id]);
      const token: ApiTokenRow = await trx('api_tokens').where({ id }).first(COLUMNS);
      return { token, descendants: rows.filter((r) => r.id !== id).length };
    });
  }

  /** Revokes every live token of the user (a password change that asked for it); answers how many. */
  async revokeAllOf(userId: number, trx: Knex = this.knex): Promise<number> {
    return trx('api_tokens').where({ user_id: userId }).whereNull('revoked_at').update({ revoked_at: trx.fn.now() });
  }
}
