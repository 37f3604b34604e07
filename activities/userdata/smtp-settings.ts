import type { Knex } from 'knex';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { unseal } from '../../shared/platform/crypto';
import type { Config } from '../../shared/platform/config';

/** The mailer's SMTP server from the email settings (seed 004's server settings), when an admin set one there. */
export async function smtpFromSettings(knex: Knex, config: Config): Promise<{ options: SMTPTransport.Options; from: string } | null> {
  const row = await knex('server_settings').where({ section: 'email_settings' }).first('value');
  const s = row?.value as { smtp_server?: string | null; smtp_port?: number; smtp_username?: string | null; use_tls?: boolean; from_email?: string; from_name?: string } | undefined;
  if (!s?.smtp_server) return null;
  const secret = await knex('settings_secrets').where({ name: 'smtp_password' }).first('sealed');
  const password = secret?.sealed ? unseal(secret.sealed, config.masterKey) : undefined;
  const port = s.smtp_port ?? 587;
  return {
    options: {
      host: s.smtp_server,
      port,
      secure: port === 465,
      // use_tls (the default) insists on STARTTLS; off, the connection may stay plain.
      requireTLS: s.use_tls !== false && port !== 465,
      ignoreTLS: s.use_tls === false,
      ...(s.smtp_username ? { auth: { user: s.smtp_username, pass: password ?? '' } } : {}),
    },
    from: s.from_email ? (s.from_name ? `"${s.from_name.replace(/["\\]/g, '')}" <${s.from_email}>` : s.from_email) : config.mailFrom,
  };
}
