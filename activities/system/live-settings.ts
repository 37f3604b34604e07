import type { Knex } from 'knex';
import type { Config } from '../../shared/platform/config';
import type { Logger } from '../../shared/platform/logger';
import { notify, type Notifications } from '../../db/notifications';
import { defaultSettings, mergeSettings, pinoLevel, settingsSchema, SYSTEM_CHANNEL, type SystemSettings } from '../../shared/system/settings';

/** The system settings as stored: rows over the environment's defaults. */
export async function readSystemSettings(knex: Knex | Knex.Transaction, config: Config): Promise<SystemSettings> {
  return mergeSettings(defaultSettings(config), await knex('system_settings').select('key', 'value'));
}

/** What a process hears on the system channel when the settings change: all of them, so no one reads the database. */
export interface SettingsChanged { type: 'settings'; settings: SystemSettings }

/** Tells every process the stored settings (inside a transaction: when it commits). */
export async function publishSystemSettings(db: Knex | Knex.Transaction, config: Config): Promise<SystemSettings> {
  const settings = await readSystemSettings(db, config);
  await notify(db, SYSTEM_CHANNEL, { type: 'settings', settings } satisfies SettingsChanged);
  return settings;
}

/**
 * This process's copy of the system settings, kept in memory (reading one costs nothing per request) and replaced when
 * any process publishes a change on PostgreSQL's `idcflow_system` channel; read again after the LISTEN connection came
 * back, since changes in between were not heard. A log_level change sets the level of the loggers given.
 */
export class LiveSettings {
  private value: SystemSettings;
  private readonly listeners = new Set<(s: SystemSettings) => void>();
  private unsubscribe: Array<() => void> = [];

  constructor(private readonly knex: Knex, private readonly config: Config, private readonly loggers: Logger[]) {
    this.value = defaultSettings(config);
  }

  get current(): SystemSettings {
    return this.value;
  }

  onChange(listener: (s: SystemSettings) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  async start(notifications: Notifications): Promise<void> {
    this.unsubscribe.push(await notifications.subscribe(SYSTEM_CHANNEL, (payload) => this.heard(payload)));
    this.unsubscribe.push(notifications.onReconnect(() => { void this.reload(); }));
    await this.reload();
  }

  stop(): void {
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
  }

  /** Applies settings this process has just written (the notification of them arrives a moment later). */
  set(settings: SystemSettings): void {
    this.apply(settings);
  }

  async reload(): Promise<void> {
    try {
      this.apply(await readSystemSettings(this.knex, this.config));
    } catch (err) {
      this.loggers[0]?.warn({ err: (err as Error).message }, 'could not read the system settings; keeping the ones in use');
    }
  }

  private heard(payload: unknown) {
    const p = payload as Partial<SettingsChanged> | null;
    if (p?.type !== 'settings') return;
    const parsed = settingsSchema.safeParse(p.settings);
    if (parsed.success) this.apply(parsed.data);
    else void this.reload();
  }

  private apply(settings: SystemSettings) {
    this.value = settings;
    for (const logger of this.loggers) logger.level = pinoLevel(settings.log_level);
    for (const listener of this.listeners) listener(settings);
  }
}
