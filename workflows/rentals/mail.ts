import { proxyActivities } from '@temporalio/workflow';
import type { RentalActivities } from '../../activities/rentals/activities';

const mail = proxyActivities<RentalActivities>({ startToCloseTimeout: '1m', retry: { initialInterval: '2s', maximumInterval: '1m', maximumAttempts: 20 } });

/** Sends one verification mail (the API never talks to SMTP itself). */
export async function rentalVerificationMailWorkflow({ verificationId }: { verificationId: number }) {
  return mail.rentalsVerificationMail({ verificationId });
}
