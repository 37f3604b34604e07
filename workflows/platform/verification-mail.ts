import { proxyActivities } from '@temporalio/workflow';
import type { MailActivities } from '../../activities/platform/mail';

const mail = proxyActivities<MailActivities>({ startToCloseTimeout: '1m', retry: { initialInterval: '2s', maximumInterval: '1m', maximumAttempts: 20 } });

/** Sends one verification mail (the API never talks to SMTP itself). */
export async function emailVerificationMailWorkflow({ verificationId }: { verificationId: number }) {
  return mail.sendVerificationMail({ verificationId });
}
