import type { Knex } from 'knex';
import { seal, unseal } from '../../../shared/platform/crypto';
import { audit } from '../../platform/audit';
import { ServerTokens } from '../../platform/auth/server-token';
import type { Caller } from '../../platform/caller';
import type { AppDeps } from '../../platform/deps';
import { SECRET_FIELDS, SECTION_NAMES, defaultSettings, type SectionName, type Settings, type SettingsUpdate } from './sections';

const isPlainObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Merges an update into a section, one level of nested objects deep (password_policy, login_attempts, …). */
function merge(base: Record<string, unknown>, update: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(update)) out[k] = isPlainObject(v) && isPlainObject(base[k]) ? { ...base[k], ...v } : v;
  return out;
}

const SMTP_PASSWORD = 'smtp_password';

/** Server settings kept in PostgreSQL: read merged over the defaults; updated by section, audited. */
export class SettingsStore {
  private cached?: { settings: Settings; at: number };
  private readonly serverTokens: ServerTokens;

  constructor(private readonly deps: AppDeps, private readonly ttlMs = 1000) {
    this.serverTokens = new ServerTokens(deps.knex, deps.config, deps.secrets);
  }

  async read(db: Knex | Knex.Transaction = this.deps.knex): Promise<Settings> {
    const rows = await db('server_settings').select('section', 'value');
    const settings = defaultSettings(this.deps.config) as unknown as Record<string, Record<string, unknown>>;
    for (const row of rows) if (settings[row.section]) settings[row.section] = merge(settings[row.section], row.value);
    return settings as unknown as Settings;
  }

  /** The settings, at most ttlMs old: for checks made on every request (maintenance mode). */
  async current(): Promise<Settings> {
    if (!this.cached || Date.now() - this.cached.at > this.ttlMs) this.cached = { settings: await this.read(), at: Date.now() };
    return this.cached.settings;
  }

  async update(caller: Caller, update: SettingsUpdate): Promise<SectionName[]> {
    const sections = SECTION_NAMES.filter((s) => update[s] !== undefined);
    const by = caller.principal.userId;
    await this.deps.knex.transaction(async (trx) => {
      await trx.raw('lock table server_settings in share row exclusive mode');
      const current = await this.read(trx);
      for (const section of sections) {
        const { [SECRET_FIELDS[section] ?? '']: secret, ...plain } = update[section] as Record<string, unknown>;
        if (section === 'server_settings' && typeof secret === 'string') await this.serverTokens.set(trx, secret, by);
        if (section === 'email_settings' && secret !== undefined) await this.setSmtpPassword(trx, secret as string | null, by);
        const value = merge(current[section] as Record<string, unknown>, plain);
        await trx('server_settings').insert({ section, value: JSON.stringify(value), updated_by: by, updated_at: trx.fn.now() }).onConflict('section').merge();
      }
    });
    this.cached = undefined;
    const fields = Object.fromEntries(sections.map((s) => [s, Object.keys(update[s] as object)]));
    await audit(this.deps.knex, caller, {
      module: 'settings', action: 'update', resourceType: 'server_settings', resourceId: sections.join(','),
      message: `Server settings updated: ${sections.join(', ')}${update.server_settings?.server_token ? ' (server token rotated)' : ''}`,
      details: { fields },
    });
    return sections;
  }

  private async setSmtpPassword(trx: Knex.Transaction, password: string | null, by: number | null) {
    if (password === null) {
      await trx('settings_secrets').where({ name: SMTP_PASSWORD }).delete();
      return;
    }
    await trx('settings_secrets').insert({ name: SMTP_PASSWORD, sealed: seal(password, this.deps.config.masterKey), updated_by: by, updated_at: trx.fn.now() })
      .onConflict('name').merge();
  }

  /** The SMTP password, unsealed, for the mailer only. */
  async smtpPassword(): Promise<string | null> {
    const row = await this.deps.knex('settings_secrets').where({ name: SMTP_PASSWORD }).first('sealed');
    return row?.sealed ? unseal(row.sealed, this.deps.config.masterKey) : null;
  }
}
