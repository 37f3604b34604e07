import type { Knex } from 'knex';
import { ownedBy, type Viewer } from '../platform/scope';

/** A webhook endpoint: its owner's (an alert rule's own endpoint may have none), and every admin's. */
export interface WebhookEndpointRow {
  id: number;
  user_id: number | null;
  alert_rule_id: string | null;
  url: string;
  description: string | null;
  event_types: string[];
  resource_type: string | null;
  resource_id: string | null;
  operation_type: string | null;
  secrets_sealed: string;
  enabled: boolean;
  disabled_reason: string | null;
  allow_private: boolean;
  consecutive_failures: number;
  created_at: Date;
  updated_at: Date;
}

export interface WebhookDeliveryRow {
  id: string;
  endpoint_id: number;
  event_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
  delivered_at: Date | null;
}

export interface WebhookAttemptRow {
  id: string | number;
  delivery_id: string;
  attempt: number;
  at: Date;
  status_code: number | null;
  response_excerpt: string | null;
  error: string | null;
  duration_ms: number;
}

/** The endpoints `viewer` may see: their own (admins: all). */
export const webhookEndpointsOf = (db: Knex | Knex.Transaction, viewer: Viewer) => ownedBy(db<WebhookEndpointRow>('webhook_endpoints'), viewer, 'user_id');

export async function findWebhookEndpoint(db: Knex, viewer: Viewer, id: number): Promise<WebhookEndpointRow | undefined> {
  return webhookEndpointsOf(db, viewer).where({ id }).first();
}

/** `viewer`'s endpoints in id order; an admin may name one owner. */
export async function listWebhookEndpoints(db: Knex, viewer: Viewer, ownerId?: number): Promise<WebhookEndpointRow[]> {
  const q = webhookEndpointsOf(db, viewer).orderBy('id');
  if (viewer.admin && ownerId) q.where({ user_id: ownerId });
  return q;
}

export async function insertWebhookEndpoint(db: Knex, row: Omit<WebhookEndpointRow, 'id' | 'alert_rule_id' | 'enabled' | 'disabled_reason' | 'consecutive_failures' | 'created_at' | 'updated_at'>): Promise<WebhookEndpointRow> {
  const [inserted] = await db('webhook_endpoints').insert(row).returning('*');
  return inserted as WebhookEndpointRow;
}

/** Changes an endpoint `viewer` may change; undefined when there is none such. */
export async function updateWebhookEndpoint(db: Knex, viewer: Viewer, id: number, patch: Partial<Omit<WebhookEndpointRow, 'id' | 'user_id' | 'updated_at'>>): Promise<WebhookEndpointRow | undefined> {
  const [row] = await webhookEndpointsOf(db, viewer).where({ id }).update({ ...patch, updated_at: db.fn.now() }).returning('*');
  return row as WebhookEndpointRow | undefined;
}

export async function deleteWebhookEndpoint(db: Knex, viewer: Viewer, id: number): Promise<number> {
  return webhookEndpointsOf(db, viewer).where({ id }).delete();
}

/** The deliveries of an endpoint `viewer` may see (none of another's), newest first, with their attempts. */
export async function webhookDeliveriesOf(db: Knex, viewer: Viewer, endpointId: number, limit = 100): Promise<Array<{ delivery: WebhookDeliveryRow; attempts: WebhookAttemptRow[] }>> {
  const rows: WebhookDeliveryRow[] = await db<WebhookDeliveryRow>('webhook_deliveries').where({ endpoint_id: endpointId })
    .whereIn('endpoint_id', webhookEndpointsOf(db, viewer).select('id')).orderBy('created_at', 'desc').limit(limit);
  const attempts: WebhookAttemptRow[] = rows.length ? await db<WebhookAttemptRow>('webhook_attempts').whereIn('delivery_id', rows.map((r) => r.id)).orderBy('attempt') : [];
  return rows.map((delivery) => ({ delivery, attempts: attempts.filter((a) => a.delivery_id === delivery.id) }));
}

/** Sets a delivery of an endpoint `viewer` may see pending again (a replay); undefined when there is none such. */
export async function requeueWebhookDelivery(db: Knex, viewer: Viewer, endpointId: number, deliveryId: string): Promise<WebhookDeliveryRow | undefined> {
  const [row] = await db('webhook_deliveries').where({ id: deliveryId, endpoint_id: endpointId })
    .whereIn('endpoint_id', webhookEndpointsOf(db, viewer).select('id'))
    .update({ status: 'pending', updated_at: db.fn.now() }).returning('*');
  return row as WebhookDeliveryRow | undefined;
}

export async function insertWebhookDelivery(db: Knex, row: Pick<WebhookDeliveryRow, 'id' | 'endpoint_id' | 'event_id' | 'event_type'> & { payload: string }): Promise<WebhookDeliveryRow> {
  const [inserted] = await db('webhook_deliveries').insert(row).returning('*');
  return inserted as WebhookDeliveryRow;
}

/** The endpoint an alert rule manages (its webhook), if any. */
export async function ruleWebhookEndpoint(db: Knex | Knex.Transaction, ruleId: string): Promise<WebhookEndpointRow | undefined> {
  return db<WebhookEndpointRow>('webhook_endpoints').where({ alert_rule_id: ruleId }).first();
}

/** A rule's own endpoint, owned by whoever set the webhook. */
export async function insertRuleWebhookEndpoint(db: Knex | Knex.Transaction, row: Pick<WebhookEndpointRow, 'user_id' | 'alert_rule_id' | 'url' | 'allow_private' | 'description' | 'event_types'>
  & Partial<Pick<WebhookEndpointRow, 'secrets_sealed' | 'enabled' | 'disabled_reason' | 'consecutive_failures'>>): Promise<void> {
  await db('webhook_endpoints').insert(row);
}
