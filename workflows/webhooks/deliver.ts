import { proxyActivities, sleep } from '@temporalio/workflow';
import type { WebhookActivities } from '../../activities/webhooks/deliveries';

const retry = { maximumAttempts: 5, initialInterval: '1s' } as const;
// An attempt heartbeats while it waits for the receiver: a worker killed mid-POST has it retried within seconds.
const { attemptWebhookDelivery } = proxyActivities<WebhookActivities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout: '10 seconds', retry });
const { failWebhookDelivery } = proxyActivities<WebhookActivities>({ startToCloseTimeout: '2 minutes', retry });

/**
 * Delivers one webhook: an attempt now, then one after each wait of `retrySeconds` (Standard Webhooks' schedule by
 * default: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h); after the last, the delivery is failed (and its endpoint perhaps disabled).
 */
export async function deliverWebhookWorkflow(input: { deliveryId: string; retrySeconds: number[] }): Promise<{ delivered: boolean; attempts: number }> {
  for (let attempt = 1; ; attempt++) {
    const { done, delivered } = await attemptWebhookDelivery({ deliveryId: input.deliveryId, attempt });
    if (done) return { delivered, attempts: attempt };
    if (attempt > input.retrySeconds.length) break;
    await sleep(input.retrySeconds[attempt - 1] * 1000);
  }
  await failWebhookDelivery({ deliveryId: input.deliveryId });
  return { delivered: false, attempts: input.retrySeconds.length + 1 };
}
