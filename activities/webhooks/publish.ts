import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Config } from '../../shared/platform/config';
import { temporalConnectionOptions } from '../../shared/platform/temporal-connection';
import type { WebhookEvent } from '../../shared/webhooks/events';
import type { ActivityDeps } from '../platform/deps';
import type { deliverWebhookWorkflow } from '../../workflows/webhooks/deliver';

const clients = new Map<string, Client>();
function temporalFor(config: Config): Client {
  let client = clients.get(config.temporalAddress);
  if (!client) {
    client = new Client({ connection: Connection.lazy(temporalConnectionOptions(config)), namespace: config.temporalNamespace });
    clients.set(config.temporalAddress, client);
  }
  return client;
}

export const deliveryWorkflowId = (deliveryId: string, replay = 0) => `webhook-delivery-${deliveryId}${replay ? `-replay-${replay}` : ''}`;

/** Starts the workflow that delivers one delivery (a repeated start of the same id is a no-op, even after it ended). */
export async function startDelivery(temporal: Client, config: Config, deliveryId: string, replay = 0): Promise<void> {
  try {
    // By name: activities import workflows' types only (the worker's bundle registers the function under this name).
    await temporal.workflow.start<typeof deliverWebhookWorkflow>('deliverWebhookWorkflow', {
      taskQueue: config.taskQueue,
      workflowId: deliveryWorkflowId(deliveryId, replay),
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      args: [{ deliveryId, retrySeconds: config.webhooks.retrySeconds }],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/** `startDelivery` from an activity (a client of the worker's own Temporal). */
export const startDeliveryFromActivity = (config: Config, deliveryId: string) => startDelivery(temporalFor(config), config, deliveryId);

/** A new delivery's id: the webhook-id header, the same on every attempt and replay. */
export const newDeliveryId = () => `msg_${crypto.randomBytes(12).toString('hex')}`;

/**
 * Records a delivery of `event` for every enabled endpoint that subscribed to it and may see it (its owner is an admin,
 * or the event's audience), then starts their deliveries. Safe to repeat: one delivery per endpoint and event.
 */
export async function publishWebhookEvent(knex: Knex, config: Config, event: WebhookEvent): Promise<string[]> {
  const endpoints = await knex('webhook_endpoints as e').join('users as u', 'u.id', 'e.user_id')
    .where('e.enabled', true).whereNull('e.alert_rule_id') // an alert rule's own endpoint hears of its rule's firings only
    .where((q) => { q.where('u.role', 'admin'); if (event.audienceUserId !== null) q.orWhere('e.user_id', event.audienceUserId); })
    .where((q) => q.whereRaw('cardinality(e.event_types) = 0').orWhereRaw('? = any(e.event_types)', [event.type]))
    .where((q) => q.whereNull('e.resource_type').orWhere('e.resource_type', event.resource?.type ?? ''))
    .where((q) => q.whereNull('e.resource_id').orWhere('e.resource_id', event.resource?.id ?? ''))
    .where((q) => q.whereNull('e.operation_type').orWhere('e.operation_type', event.operationType ?? ''))
    .select('e.id');
  if (!endpoints.length) return [];
  const payload = { type: event.type, timestamp: event.timestamp, data: event.data };
  await knex('webhook_deliveries')
    .insert(endpoints.map((e: { id: number }) => ({ id: newDeliveryId(), endpoint_id: e.id, event_id: event.id, event_type: event.type, payload: JSON.stringify(payload) })))
    .onConflict(['endpoint_id', 'event_id']).ignore();
  const deliveries = await knex('webhook_deliveries').where({ event_id: event.id, status: 'pending' }).whereIn('endpoint_id', endpoints.map((e: { id: number }) => e.id)).pluck('id');
  for (const id of deliveries) await startDelivery(temporalFor(config), config, id);
  return deliveries;
}

/** The event of an operation that has ended, for the webhooks of its creator and of admins. */
export async function publishOperationEnded({ knex, config }: Pick<ActivityDeps, 'knex' | 'config'>, operationId: string): Promise<void> {
  const op = await knex('operations').where({ id: operationId }).first();
  if (!op || !['succeeded', 'failed', 'canceled'].includes(op.status)) return;
  await publishWebhookEvent(knex, config, {
    id: `operation:${op.id}:${op.status}`,
    type: `operation.${op.status}` as WebhookEvent['type'],
    timestamp: new Date(op.finished_at ?? Date.now()).toISOString(),
    audienceUserId: op.created_by,
    resource: { type: op.resource_type, id: op.resource_id },
    operationType: op.type,
    data: {
      id: op.id, type: op.type, status: op.status, resource: { type: op.resource_type, id: op.resource_id, name: op.resource_name }, host: op.host,
      created_by: op.created_by, created_at: op.created_at, finished_at: op.finished_at, error: op.error, links: { self: `/api/v1/operations/${encodeURIComponent(op.id)}` },
    },
  });
}
