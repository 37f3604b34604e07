import nodemailer from 'nodemailer';
import type { ActivityDeps } from './deps';
import { smtpFromSettings } from '../userdata/smtp-settings';
import { verificationToken } from '../../shared/platform/email-verification';

/**
 * Sends one email at most once per key: the outbox row is claimed before sending and a retry
 * of a sent mail returns at once. SMTP answers are at-least-once; the Message-ID is derived from the key.
 */
export function createMailActivities({ knex, config, logger }: ActivityDeps) {
  const fallback = config.smtpUrl ? nodemailer.createTransport(config.smtpUrl) : null;
  const activities = {
    async sendMail(m: { key: string; to: string; subject: string; text: string }): Promise<{ sent: boolean; reason?: string }> {
      await knex('mail_outbox').insert({ idempotency_key: m.key, recipient: m.to, subject: m.subject }).onConflict('idempotency_key').ignore();
      const row = await knex('mail_outbox').where({ idempotency_key: m.key }).first();
      if (row.status === 'sent') return { sent: true };
      // The email settings (an admin's, in PostgreSQL) win over IDCFLOW_SMTP_URL.
      const settings = await smtpFromSettings(knex, config);
      const transport = settings ? nodemailer.createTransport(settings.options) : fallback;
      const from = settings?.from ?? config.mailFrom;
      if (!transport) {
        await knex('mail_outbox').where({ id: row.id }).update({ status: 'skipped', error: 'IDCFLOW_SMTP_URL is not set' });
        return { sent: false, reason: 'SMTP is not configured (IDCFLOW_SMTP_URL or the email settings)' };
      }
      const domain = from.match(/@([^>\s]+)/)?.[1] ?? 'idcflow.local';
      await transport.sendMail({ from, to: m.to, subject: m.subject, text: m.text, messageId: `<${encodeURIComponent(m.key)}@${domain}>` });
      await knex('mail_outbox').where({ id: row.id }).update({ status: 'sent', sent_at: knex.fn.now(), error: null });
      logger.info({ key: m.key, to: m.to }, 'mail sent');
      return { sent: true };
    },

    /** A verification mail: its link is signed with the master key, so a retry sends the same link (and the outbox only one mail). */
    async sendVerificationMail({ verificationId }: { verificationId: number }): Promise<{ sent: boolean; reason?: string }> {
      const v = await knex('email_verifications as v').join('users as u', 'u.id', 'v.user_id').where('v.id', verificationId).first('v.*', 'u.username');
      if (!v) return { sent: false, reason: 'gone' };
      const link = `${config.publicUrl}/api/verify_email?id=${v.id}&token=${verificationToken(config.masterKey, v)}`;
      return activities.sendMail({
        key: `email-verification-${v.id}`, to: v.email, subject: 'Verify your email address',
        text: `Hello ${v.username},\n\nopen this link to verify your email address (it works once, until ${new Date(v.expires_at).toISOString()}):\n\n${link}\n`,
      });
    },
  };
  return activities;
}

export type MailActivities = ReturnType<typeof createMailActivities>;
