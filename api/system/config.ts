import type { Knex } from 'knex';
import { publishSystemSettings, readSystemSettings } from '../../activities/system/live-settings';
import { SETTING_KEYS, type SystemSettings } from '../../shared/system/settings';
import { audit } from '../platform/audit';
import type { Caller } from '../platform/caller';
import type { AppDeps } from '../platform/deps';
import { iso } from '../platform/http/schemas';
import { VERSION } from '../../shared/platform/version';

/** Seed 003's /system/config: typed settings kept in PostgreSQL over the environment's defaults, applied live everywhere. */
export class SystemConfigService {
  constructor(private readonly deps: AppDeps) {}

  async read() {
    const { knex } = this.deps;
    const settings = await readSystemSettings(knex, this.deps.config);
    const stored = await knex('system_settings').select('key', 'updated_at');
    const latest = stored.reduce<Date | null>((a, r) => (!a || new Date(r.updated_at) > a ? new Date(r.updated_at) : a), null);
    const pool = (knex.client as { pool?: { max: number } }).pool;
    return {
      app_name: 'idcflow', app_version: VERSION,
      debug_mode: settings.log_level === 'DEBUG' || settings.log_level === 'TRACE',
      ...settings,
      database_pool_size: pool?.max ?? null,
      // There is no cache in idcflow to switch on; metrics are served at /metrics (Prometheus).
      cache_enabled: false, monitoring_enabled: true,
      sources: Object.fromEntries(SETTING_KEYS.map((k) => [k, stored.some((r) => r.key === k) ? 'database' : 'environment'])),
      updated_at: iso(latest),
    };
  }

  /** Stores the settings named, audited, and tells every process (the change is published when the transaction commits). */
  async update(caller: Caller, update: Partial<SystemSettings>) {
    const { knex } = this.deps;
    const before = this.deps.system.settings.current;
    const settings = await knex.transaction((trx) => this.write(trx, update, caller.principal.userId));
    this.deps.system.settings.set(settings);
    const changes = Object.fromEntries(Object.keys(update).map((k) => [k, { from: before[k as keyof SystemSettings], to: settings[k as keyof SystemSettings] }]));
    await audit(knex, caller, {
      module: 'system', action: 'config_update', resourceType: 'system_config', resourceId: Object.keys(update).join(','),
      message: `System configuration updated: ${Object.keys(update).join(', ')}`, details: { changes },
    });
    return { ...pick(settings, Object.keys(update)), updated_at: new Date().toISOString() };
  }

  /** Writes settings inside `trx` (PUT /system/config and the loader share it) and publishes the result on commit. */
  async write(trx: Knex.Transaction, update: Partial<SystemSettings>, by: number | null, opts: { replace?: boolean } = {}): Promise<SystemSettings> {
    await trx.raw('lock table system_settings in share row exclusive mode');
    // Replacing (the loader): a setting the update leaves out goes back to the environment's default.
    if (opts.replace) await trx('system_settings').whereNotIn('key', Object.keys(update)).delete();
    for (const [key, value] of Object.entries(update)) {
      if (value === undefined) continue;
      await trx('system_settings').insert({ key, value: JSON.stringify(value), updated_by: by, updated_at: trx.fn.now() }).onConflict('key').merge();
    }
    return publishSystemSettings(trx, this.deps.config);
  }
}

const pick = <T extends object>(o: T, keys: string[]) => Object.fromEntries(keys.map((k) => [k, o[k as keyof T]]));
