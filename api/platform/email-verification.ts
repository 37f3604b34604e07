import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { AppError } from '../../shared/platform/errors';
import { verificationTokenMatches } from '../../shared/platform/email-verification';
import { emailVerificationMailWorkflow } from '../../workflows/platform/verification-mail';
import type { AppDeps } from './deps';
import type { ClientInfo } from './caller';
import { audit } from './audit';
import { completeSignup } from '../../db/queries/users/signup';

/** One verification mail per user and address in this window, whatever the requests. */
const RESEND_SECONDS = 60;

/**
 * Email verification for every domain: a signed, single-use, expiring link mailed to an address (registration, an email
 * change); the address is verified only while it is still the user's address when the link is opened.
 */
export class EmailVerificationService {
  constructor(private readonly deps: AppDeps) {}

  /** Mails a link for `email` (the user's current address) unless one went to it within the last minute. */
  async send(client: ClientInfo, user: { id: number; email: string }): Promise<void> {
    const { knex, config, temporal } = this.deps;
    const recent = await knex('email_verifications').where({ user_id: user.id }).whereRaw('lower(email) = lower(?)', [user.email])
      .where('created_at', '>', knex.raw(`now() - interval '${RESEND_SECONDS} seconds'`)).first('id');
    if (recent) return;
    const [v] = await knex('email_verifications').insert({
      user_id: user.id, email: user.email, nonce: crypto.randomBytes(16).toString('hex'), expires_at: new Date(Date.now() + config.verifyEmailTtlSeconds * 1000),
    }).returning('id');
    await temporal.workflow.start(emailVerificationMailWorkflow, { workflowId: `email-verification-${v.id}`, taskQueue: config.taskQueue, args: [{ verificationId: v.id }] });
    await audit(knex, client, { module: 'users', action: 'verification_sent', message: `Verification mail for user ${user.id}`, userId: user.id, resourceType: 'user', resourceId: user.id });
  }

  /** After a user's address changed: links to the former address stop working, and the new one gets a link. */
  async changed(client: ClientInfo, userId: number, email: string): Promise<void> {
    await retireOtherVerifications(this.deps.knex, userId, email);
    await this.send(client, { id: userId, email });
  }

  /** Consumes a link: signed, unexpired, used once; the address verified is the one the mail went to. */
  async verify(client: ClientInfo, id: number, token: string) {
    const { knex, config } = this.deps;
    const invalid = new AppError('VALIDATION_ERROR', 'The verification link is not valid, was already used or has expired', { field: 'token', errors: [{ field: 'token', message: 'is not valid' }] });
    const v = await knex('email_verifications').where({ id }).first();
    if (!v || !verificationTokenMatches(config.masterKey, v, token) || v.used_at || new Date(v.expires_at) <= new Date()) throw invalid;
    const verified = await knex.transaction(async (trx) => {
      const claimed = await trx('email_verifications').where({ id }).whereNull('used_at').update({ used_at: trx.fn.now() });
      if (!claimed) return 0;
      const updated = await trx('users').where({ id: v.user_id }).whereNull('deleted_at').whereRaw('lower(email) = lower(?)', [v.email]).update({ email_verified: true, updated_at: trx.fn.now() });
      // A sign-up's first verification: the account may sign in now, with the default quotas.
      if (updated) await completeSignup(trx, v.user_id);
      return updated;
    });
    if (!verified) throw invalid;
    await audit(knex, client, { module: 'users', action: 'email_verified', message: `Email of user ${v.user_id} verified`, userId: v.user_id, resourceType: 'user', resourceId: v.user_id });
    return { user_id: v.user_id as number, email: v.email as string, email_verified: true };
  }
}

/**
 * The patch for a change of a user's email: a new address (case aside) is unverified until the link mailed to it is
 * opened (`EmailVerificationService.send` after the change is saved). Links to an earlier address stop working.
 */
export function emailChange(current: string | null, next: string | undefined): { email: string; email_verified: false } | null {
  if (next === undefined || next.toLowerCase() === (current ?? '').toLowerCase()) return null;
  return { email: next, email_verified: false };
}

/** Unused links to a user's former addresses are spent at once. */
async function retireOtherVerifications(knex: Knex, userId: number, email: string) {
  await knex('email_verifications').where({ user_id: userId }).whereNull('used_at').whereRaw('lower(email) <> lower(?)', [email]).update({ used_at: knex.fn.now() });
}
