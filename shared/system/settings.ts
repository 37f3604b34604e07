import { z } from 'zod';
import type { Config } from '../platform/config';

/** Seed 003's log levels, with pino's names accepted too; each maps to the pino level the running loggers take. */
export const LOG_LEVELS = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARNING: 'warn', ERROR: 'error', CRITICAL: 'fatal', SILENT: 'silent' } as const;
export type LogLevel = keyof typeof LOG_LEVELS;
const ALIASES: Record<string, LogLevel> = { WARN: 'WARNING', FATAL: 'CRITICAL' };

const logLevel = z.preprocess(
  (v) => (typeof v === 'string' ? (ALIASES[v.toUpperCase()] ?? v.toUpperCase()) : v),
  z.enum(Object.keys(LOG_LEVELS) as [LogLevel, ...LogLevel[]]),
);

/** The settings an administrator changes at run time (PUT /system/config); each applies live in every process. */
export const settingsSchema = z.object({
  /** The level of every running logger (API replicas, workers, agents). */
  log_level: logLevel,
  /** Megabytes of log entries the log center may keep (stored and served; the log center reads it). */
  max_log_size: z.number().int().min(1).max(102_400),
  /** Days a platform backup is kept (with IDCFLOW_BACKUP_KEEP_COUNT, the newest completed one always stays). */
  backup_retention: z.number().int().min(1).max(36_500),
  /** Seconds an access token (JWT) issued from now on stays valid. */
  session_timeout: z.number().int().min(60).max(30 * 86_400),
  /** API requests per minute for each user, API token or anonymous address; 0 turns the limit off. */
  api_rate_limit: z.number().int().min(0).max(1_000_000),
  /** Self-registration (seed 000's add_user): off until an admin turns it on; then an account signs in once its email is verified. */
  registration_enabled: z.boolean(),
});

export type SystemSettings = z.infer<typeof settingsSchema>;
export type SettingKey = keyof SystemSettings;
export const SETTING_KEYS = Object.keys(settingsSchema.shape) as SettingKey[];

/** An update names at least one setting and nothing else (read-only figures such as app_name are refused by name). */
export const settingsUpdateSchema = settingsSchema.partial().strict()
  .refine((u) => Object.keys(u).length > 0, { message: `must name at least one of ${SETTING_KEYS.join(', ')}` });

const levelOf = (pinoLevel: string): LogLevel => (Object.entries(LOG_LEVELS).find(([, p]) => p === pinoLevel)?.[0] as LogLevel | undefined) ?? 'INFO';

/** What the settings are before anyone changed one: the environment's values. */
export function defaultSettings(config: Config): SystemSettings {
  return {
    log_level: levelOf(config.logLevel),
    max_log_size: config.system.maxLogSizeMb,
    backup_retention: config.backups.keepDays,
    session_timeout: config.accessTokenTtl,
    api_rate_limit: config.system.apiRateLimit,
    registration_enabled: false,
  };
}

/** Stored rows over the defaults; a stored value the schema no longer accepts is ignored (its default stands). */
export function mergeSettings(defaults: SystemSettings, rows: Array<{ key: string; value: unknown }>): SystemSettings {
  const out: Record<string, unknown> = { ...defaults };
  for (const row of rows) {
    const field = settingsSchema.shape[row.key as SettingKey];
    const parsed = field?.safeParse(row.value);
    if (parsed?.success) out[row.key] = parsed.data;
  }
  return out as SystemSettings;
}

export const pinoLevel = (level: LogLevel) => LOG_LEVELS[level];

/** The channel every process listens on for system changes (settings). */
export const SYSTEM_CHANNEL = 'idcflow_system';
