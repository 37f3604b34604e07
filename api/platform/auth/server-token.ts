import type { Knex } from 'knex';
import { safeEqual, sha256 } from '../../../shared/platform/crypto';
import type { Config } from '../../../shared/platform/config';
import type { SystemSecrets } from '../system-secrets';

const NAME = 'server_token';

/**
 * Seed 004's server_token. Once set through the server settings it is kept as a sha256 hash (it is high-entropy) and
 * read on every check, so a rotated token stops at once in every API process; until then IDCFLOW_SERVER_TOKEN (or an
 * older sealed system secret) is the initial value.
 */
export class ServerTokens {
  constructor(
    private readonly knex: Knex,
    private readonly config: Config,
    private readonly secrets: SystemSecrets,
  ) {}

  async matches(token: string): Promise<boolean> {
    const row = await this.knex('settings_secrets').where({ name: NAME }).first('hash');
    if (row?.hash) return safeEqual(sha256(token), row.hash);
    const initial = this.config.serverToken ?? (await this.secrets.get(NAME));
    return Boolean(initial) && safeEqual(token, initial!);
  }

  async set(db: Knex | Knex.Transaction, token: string, updatedBy: number | null): Promise<void> {
    await db('settings_secrets')
      .insert({ name: NAME, hash: sha256(token), sealed: null, updated_by: updatedBy, updated_at: db.fn.now() })
      .onConflict('name').merge();
  }
}
