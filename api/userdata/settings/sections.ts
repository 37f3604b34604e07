import { z } from 'zod';
import { validationError } from '../../../shared/platform/errors';
import type { Config } from '../../../shared/platform/config';
import { DEFAULT_PASSWORD_POLICY } from '../../../shared/userdata/password-policy';

const hostname = z.string().min(1).max(253).regex(/^[A-Za-z0-9.-]+$/, 'must be a host name');

/** Seed 004's server settings, by section. Every field optional in an update: an update merges into what is kept. */
export const sectionSchemas = {
  app_settings: z.object({
    site_name: z.string().min(1).max(100),
    debug: z.boolean(),
    maintenance_mode: z.boolean(),
    maintenance_message: z.string().max(500),
    allowed_domains: z.array(hostname).max(100),
    session_lifetime: z.number().int().min(60).max(365 * 86400),
  }).partial().strict(),
  security_settings: z.object({
    password_policy: z.object({
      min_length: z.number().int().min(8, 'must be at least 8 (the floor of every password field)').max(128),
      require_numbers: z.boolean(),
      require_special_chars: z.boolean(),
      require_uppercase: z.boolean(),
    }).partial().strict(),
    login_attempts: z.object({ max_attempts: z.number().int().min(1).max(100), lockout_duration: z.number().int().min(1).max(86400) }).partial().strict(),
    two_factor_auth: z.object({ enabled: z.boolean(), methods: z.array(z.enum(['email', 'authenticator'])).max(2) }).partial().strict(),
  }).partial().strict(),
  email_settings: z.object({
    smtp_server: hostname.nullable(),
    smtp_port: z.number().int().min(1).max(65535),
    smtp_username: z.string().max(255).nullable(),
    smtp_password: z.string().max(1024).nullable(),
    use_tls: z.boolean(),
    from_email: z.email().max(255),
    from_name: z.string().max(100),
  }).partial().strict(),
  server_settings: z.object({
    server_token: z.string().min(24, 'must be at least 24 characters').max(256).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
    api_rate_limit: z.number().int().min(1).max(1_000_000),
    max_upload_size: z.number().int().min(1024).max(1024 ** 3),
  }).partial().strict(),
};

export type SectionName = keyof typeof sectionSchemas;
export const SECTION_NAMES = Object.keys(sectionSchemas) as SectionName[];
export type SettingsUpdate = { [K in SectionName]?: z.infer<(typeof sectionSchemas)[K]> };

/** Fields kept out of server_settings rows: hashed (server_token) or sealed (smtp_password) in settings_secrets. */
export const SECRET_FIELDS: Partial<Record<SectionName, string>> = { server_settings: 'server_token', email_settings: 'smtp_password' };

/** What a fresh installation answers before anyone changed a setting. */
export function defaultSettings(config: Config) {
  return {
    app_settings: { site_name: 'idcflow', debug: false, maintenance_mode: false, maintenance_message: '', allowed_domains: [] as string[], session_lifetime: config.refreshTokenTtl },
    security_settings: {
      password_policy: { ...DEFAULT_PASSWORD_POLICY },
      login_attempts: { max_attempts: config.login.maxFailures, lockout_duration: config.login.lockoutSeconds },
      two_factor_auth: { enabled: false, methods: [] as string[] },
    },
    email_settings: { smtp_server: null as string | null, smtp_port: 587, smtp_username: null as string | null, use_tls: true, from_email: 'noreply@localhost', from_name: 'idcflow' },
    server_settings: { api_rate_limit: 1000, max_upload_size: 10 * 1024 * 1024 },
  };
}

export type Settings = ReturnType<typeof defaultSettings>;

/** The sections of an update; none at all is a 422. */
export function sectionsOf<T extends object>(update: T): T {
  if (!Object.values(update).some((v) => v !== undefined)) throw validationError([{ field: 'body', location: 'body', message: `must name at least one of ${SECTION_NAMES.join(', ')}` }]);
  return update;
}
