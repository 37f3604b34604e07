import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { exportJWK, generateKeyPair } from 'jose';
import { seal, unseal } from '../../../shared/platform/crypto';

type Jwk = Record<string, unknown> & { kid: string };

/** The provider's signing keys: generated once (the first process to start makes them), sealed with the master key. */
export class SigningKeys {
  constructor(private readonly knex: Knex, private readonly masterKey: Buffer) {}

  private async generate(db: Knex | Knex.Transaction): Promise<void> {
    const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
    const kid = crypto.randomUUID();
    const jwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
    await db('oauth_keys').insert({ kid, sealed: seal(JSON.stringify(jwk), this.masterKey) });
  }

  /** Every key, the signing one (newest unretired) first; retired ones stay so tokens they signed still verify. */
  async load(): Promise<Jwk[]> {
    await this.knex.transaction(async (trx) => {
      await trx.raw("select pg_advisory_xact_lock(hashtext('idcflow:oauth_keys'))");
      const active = await trx('oauth_keys').whereNull('retired_at').first('kid');
      if (!active) await this.generate(trx);
    });
    const rows = await this.knex('oauth_keys').orderByRaw('retired_at is not null, created_at desc');
    return rows.map((r: { sealed: string }) => JSON.parse(unseal(r.sealed, this.masterKey)) as Jwk);
  }

  /** A new signing key; the old one is retired (it still verifies). The provider must be rebuilt to use it. */
  async rotate(): Promise<string> {
    return this.knex.transaction(async (trx) => {
      await trx.raw("select pg_advisory_xact_lock(hashtext('idcflow:oauth_keys'))");
      await trx('oauth_keys').whereNull('retired_at').update({ retired_at: trx.fn.now() });
      await this.generate(trx);
      const row = await trx('oauth_keys').whereNull('retired_at').first('kid');
      return row.kid as string;
    });
  }
}
