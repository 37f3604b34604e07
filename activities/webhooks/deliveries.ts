import { ApplicationFailure, Context } from '@temporalio/activity';
import { Webhook } from 'standardwebhooks';
import type { ActivityDeps } from '../platform/deps';
import { createMailActivities } from '../platform/mail';
import { safePost } from './safe-request';
import { validSecrets } from '../../shared/webhooks/secrets';

/** Delivering one webhook: an attempt at a time (the workflow waits between them), then the verdict. */
export function createWebhookActivities(deps: ActivityDeps) {
  const { knex, config, logger } = deps;
  const mail = createMailActivities(deps);
  return {
    /** One signed POST. `done` when delivered, or when there is nothing left to deliver to (endpoint disabled or gone). */
    async attemptWebhookDelivery({ deliveryId, attempt }: { deliveryId: string; attempt: number }): Promise<{ done: boolean; delivered: boolean }> {
      const delivery = await knex('webhook_deliveries').where({ id: deliveryId }).first();
      if (!delivery || delivery.status === 'succeeded') return { done: true, delivered: Boolean(delivery) };
      const endpoint = await knex('webhook_endpoints').where({ id: delivery.endpoint_id }).first();
      if (!endpoint?.enabled) {
        await knex('webhook_deliveries').where({ id: deliveryId }).update({ status: 'skipped', last_error: 'the endpoint is disabled', updated_at: knex.fn.now() });
        return { done: true, delivered: false };
      }
      const body = JSON.stringify(delivery.payload);
      const at = new Date();
      const signature = validSecrets(endpoint.secrets_sealed, config.masterKey, at).map((s) => new Webhook(s.secret).sign(deliveryId, at, body)).join(' ');
      const started = Date.now();
      let status: number | null = null;
      let excerpt: string | null = null;
      let error: string | null = null;
      // Heartbeats while the receiver takes its time: a worker that dies mid-POST has its attempt retried within the
      // heartbeat timeout, not after the start-to-close timeout.
      const activity = Context.current();
      const beat = setInterval(() => activity.heartbeat(), 1000);
      try {
        const answer = await safePost(endpoint.url, { 'webhook-id': deliveryId, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature }, body, endpoint.allow_private, config.webhooks.timeoutSeconds * 1000);
        status = answer.status;
        excerpt = answer.body;
      } catch (err) {
        error = (err as Error).message;
      } finally {
        clearInterval(beat);
      }
      const ok = status !== null && status >= 200 && status < 300;
      await knex.transaction(async (trx) => {
        await trx('webhook_attempts').insert({ delivery_id: deliveryId, attempt, status_code: status, response_excerpt: excerpt, error, duration_ms: Date.now() - started })
          .onConflict(['delivery_id', 'attempt']).merge();
        await trx('webhook_deliveries').where({ id: deliveryId }).update({
          attempts: attempt, last_status_code: status, last_error: error ?? (ok ? null : `HTTP ${status}`), updated_at: trx.fn.now(),
          ...(ok ? { status: 'succeeded', delivered_at: trx.fn.now() } : {}),
        });
        if (ok) await trx('webhook_endpoints').where({ id: endpoint.id }).update({ consecutive_failures: 0 });
      });
      if (!ok) logger.warn({ deliveryId, endpoint: endpoint.id, attempt, status, error }, 'webhook delivery attempt failed');
      return { done: ok, delivered: ok };
    },

    /** Every attempt failed: the delivery is failed; an endpoint failing `disableAfter` deliveries in a row is disabled and its owner told. */
    async failWebhookDelivery({ deliveryId }: { deliveryId: string }): Promise<{ disabled: boolean }> {
      const delivery = await knex('webhook_deliveries').where({ id: deliveryId }).first();
      if (!delivery) throw ApplicationFailure.nonRetryable(`No webhook delivery ${deliveryId}`, 'RESOURCE_NOT_FOUND');
      const endpoint = await knex.transaction(async (trx) => {
        const changed = await trx('webhook_deliveries').where({ id: deliveryId, status: 'pending' }).update({ status: 'failed', updated_at: trx.fn.now() });
        if (changed) await trx('webhook_endpoints').where({ id: delivery.endpoint_id }).increment('consecutive_failures', 1);
        const [row] = await trx('webhook_endpoints').where({ id: delivery.endpoint_id }).where('consecutive_failures', '>=', config.webhooks.disableAfter).where('enabled', true)
          .update({ enabled: false, disabled_reason: `${config.webhooks.disableAfter} deliveries in a row failed (the last: ${delivery.last_error ?? 'no answer'})`, updated_at: trx.fn.now() })
          .returning(['id', 'url', 'user_id', 'disabled_reason']);
        return row as { id: number; url: string; user_id: number; disabled_reason: string } | undefined;
      });
      if (!endpoint) return { disabled: false };
      const owner = await knex('users').where({ id: endpoint.user_id }).first('email', 'username');
      if (owner?.email) {
        await mail.sendMail({
          key: `webhook-disabled:${endpoint.id}:${deliveryId}`, to: owner.email, subject: `idcflow: webhook endpoint ${endpoint.id} was disabled`,
          text: `Hello ${owner.username},\n\nYour webhook endpoint ${endpoint.url} was disabled: ${endpoint.disabled_reason}.\nFix the receiver, then enable it again (PUT /api/v1/webhooks/${endpoint.id} with {"enabled": true}) and replay what it missed.\n`,
        });
      }
      return { disabled: true };
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
