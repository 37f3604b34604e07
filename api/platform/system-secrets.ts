import type { Knex } from 'knex';
import { seal, unseal } from '../../shared/platform/crypto';

/** Named system-level secrets (seed 001's API token, seed 004's server token), sealed with the master key. */
export class SystemSecrets {
  private cache = new Map<string, { value: string | undefined; at: number }>();
  constructor(
    private readonly knex: Knex,
    private readonly masterKey: Buffer,
    private readonly ttlMs = 5000,
  ) {}

  async get(name: string): Promise<string | undefined> {
    const hit = this.cache.get(name);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.value;
    const row = await this.knex('system_secrets').where({ name }).first();
    const value = row ? unseal(row.sealed, this.masterKey) : undefined;
    this.cache.set(name, { value, at: Date.now() });
    return value;
  }

  async set(name: string, value: string, updatedBy: number | null): Promise<void> {
    await this.knex('system_secrets')
      .insert({ name, sealed: seal(value, this.masterKey), updated_by: updatedBy, updated_at: this.knex.fn.now() })
      .onConflict('name')
      .merge();
    this.cache.delete(name);
  }
}
