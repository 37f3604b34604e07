import crypto from 'node:crypto';
import { AppError, conflict, notFound } from '../../shared/platform/errors';
import { checkWebhookTarget } from './targets';
import { audit } from '../platform/audit';
import { isAdmin, requirePermission, viewerOf } from '../platform/auth/principal';
import {
  deleteWebhookEndpoint, findWebhookEndpoint, insertWebhookDelivery, insertWebhookEndpoint, listWebhookEndpoints, requeueWebhookDelivery, updateWebhookEndpoint,
  webhookDeliveriesOf, type WebhookAttemptRow, type WebhookDeliveryRow, type WebhookEndpointRow,
} from '../../db/queries/webhooks/endpoints';
import type { Caller } from '../platform/caller';
import type { AppDeps } from '../platform/deps';
import { iso } from '../platform/http/schemas';
import { newWebhookSecret, sealSecrets, validSecrets, type EndpointSecret } from '../../shared/webhooks/secrets';
import { newDeliveryId, startDelivery } from '../../activities/webhooks/publish';
import type { CreateEndpoint, UpdateEndpoint } from './schemas';

type EndpointRow = WebhookEndpointRow;

/** What an alert rule's own endpoint takes from its rule (the rest may be changed here: enabled, description). */
const MANAGED_FIELDS = ['url', 'event_types', 'resource_type', 'resource_id', 'operation_type', 'allow_private'] as const;

/** Users' and admins' webhook endpoints: subscriptions, signing secrets, deliveries and replays. */
export class WebhookService {
  constructor(private readonly deps: AppDeps) {}

  present(row: EndpointRow) {
    return {
      id: row.id, user_id: row.user_id ?? null, alert_rule_id: row.alert_rule_id ?? null, url: row.url, description: row.description ?? null, event_types: row.event_types,
      filters: { resource_type: row.resource_type ?? null, resource_id: row.resource_id ?? null, operation_type: row.operation_type ?? null },
      enabled: row.enabled, disabled_reason: row.disabled_reason ?? null, allow_private: row.allow_private, consecutive_failures: row.consecutive_failures,
      secrets: validSecrets(row.secrets_sealed, this.deps.config.masterKey).map((s) => ({ expires_at: s.expires_at })),
      created_at: iso(row.created_at), updated_at: iso(row.updated_at),
    };
  }

  async list(caller: Caller, userId?: number) {
    return { endpoints: (await listWebhookEndpoints(this.deps.knex, viewerOf(caller.principal), userId)).map((r) => this.present(r)) };
  }

  /** Yours; an admin's any. Others' answer 404. */
  async find(caller: Caller, id: number): Promise<EndpointRow> {
    const row = await findWebhookEndpoint(this.deps.knex, viewerOf(caller.principal), id);
    if (!row) throw notFound('Webhook endpoint', id);
    return row;
  }

  async create(caller: Caller, body: CreateEndpoint) {
    if (caller.principal.userId === null) throw new AppError('INSUFFICIENT_PERMISSIONS', 'A webhook endpoint belongs to a user: sign in as one (this token acts for no user)');
    if (body.allow_private) requirePermission(caller.principal, 'admin');
    await checkWebhookTarget(body.url, Boolean(body.allow_private));
    const secret = newWebhookSecret();
    const row = await insertWebhookEndpoint(this.deps.knex, {
      user_id: caller.principal.userId, url: body.url, description: body.description ?? null, event_types: body.event_types,
      resource_type: body.resource_type ?? null, resource_id: body.resource_id ?? null, operation_type: body.operation_type ?? null,
      allow_private: Boolean(body.allow_private), secrets_sealed: sealSecrets([{ secret, expires_at: null }], this.deps.config.masterKey),
    });
    await audit(this.deps.knex, caller, { module: 'webhooks', action: 'create', message: `Webhook endpoint ${row.id} created for ${body.url}`, resourceType: 'webhook', resourceId: row.id });
    return { ...this.present(row), secret };
  }

  async update(caller: Caller, id: number, body: UpdateEndpoint) {
    const row = await this.find(caller, id);
    const managed = MANAGED_FIELDS.filter((f) => body[f] !== undefined);
    if (row.alert_rule_id && managed.length) throw conflict(`Webhook endpoint ${id} belongs to alert rule ${row.alert_rule_id}: change ${managed.join(', ')} on the rule`, { alert_rule_id: row.alert_rule_id });
    if (body.allow_private !== undefined) requirePermission(caller.principal, 'admin');
    // An admin's leave to target private addresses was given for one URL: a new URL from anyone else goes without it.
    const allowPrivate = body.allow_private ?? (body.url !== undefined && !isAdmin(caller.principal) ? false : row.allow_private);
    if (body.url !== undefined || body.allow_private === false) await checkWebhookTarget(body.url ?? row.url, allowPrivate);
    const patch: Record<string, unknown> = { allow_private: allowPrivate };
    for (const key of ['url', 'description', 'event_types', 'resource_type', 'resource_id', 'operation_type', 'allow_private'] as const) if (body[key] !== undefined) patch[key] = body[key];
    if (body.enabled !== undefined) Object.assign(patch, { enabled: body.enabled }, body.enabled ? { disabled_reason: null, consecutive_failures: 0 } : { disabled_reason: 'disabled by its owner' });
    const updated = await updateWebhookEndpoint(this.deps.knex, viewerOf(caller.principal), id, patch);
    if (!updated) throw notFound('Webhook endpoint', id);
    await audit(this.deps.knex, caller, { module: 'webhooks', action: 'update', message: `Webhook endpoint ${id} updated`, resourceType: 'webhook', resourceId: id, details: { fields: Object.keys(body) } });
    return this.present(updated);
  }

  async remove(caller: Caller, id: number) {
    const row = await this.find(caller, id);
    if (row.alert_rule_id) throw conflict(`Webhook endpoint ${id} belongs to alert rule ${row.alert_rule_id}: remove the rule's webhook_url instead`, { alert_rule_id: row.alert_rule_id });
    await deleteWebhookEndpoint(this.deps.knex, viewerOf(caller.principal), id);
    await audit(this.deps.knex, caller, { module: 'webhooks', action: 'delete', message: `Webhook endpoint ${id} deleted`, resourceType: 'webhook', resourceId: id });
    return this.present(row);
  }

  /** A new secret; the previous one stays valid for the rotation window, so receivers can switch without losing deliveries. */
  async rotate(caller: Caller, id: number) {
    const row = await this.find(caller, id);
    const hours = this.deps.config.webhooks.rotationHours;
    const until = new Date(Date.now() + hours * 3600_000).toISOString();
    const [current] = validSecrets(row.secrets_sealed, this.deps.config.masterKey);
    const secret = newWebhookSecret();
    const secrets: EndpointSecret[] = [{ secret, expires_at: null }, ...(current && hours > 0 ? [{ secret: current.secret, expires_at: until }] : [])];
    await updateWebhookEndpoint(this.deps.knex, viewerOf(caller.principal), id, { secrets_sealed: sealSecrets(secrets, this.deps.config.masterKey) });
    await audit(this.deps.knex, caller, { module: 'webhooks', action: 'rotate-secret', message: `Webhook endpoint ${id}: signing secret rotated`, resourceType: 'webhook', resourceId: id });
    return { secret, previous_valid_until: secrets.length > 1 ? until : null };
  }

  async deliveries(caller: Caller, id: number) {
    await this.find(caller, id);
    const rows = await webhookDeliveriesOf(this.deps.knex, viewerOf(caller.principal), id);
    return { deliveries: rows.map((r) => this.presentDelivery(r.delivery, r.attempts)) };
  }

  /** Sends a delivery again with its own webhook-id (receivers deduplicate by it), whatever its earlier outcome. */
  async replay(caller: Caller, id: number, deliveryId: string) {
    const endpoint = await this.find(caller, id);
    if (!endpoint.enabled) throw new AppError('CONFLICT', `Webhook endpoint ${id} is disabled; enable it first`, { disabled_reason: endpoint.disabled_reason });
    const row = await requeueWebhookDelivery(this.deps.knex, viewerOf(caller.principal), id, deliveryId);
    if (!row) throw notFound('Webhook delivery', deliveryId);
    await startDelivery(this.deps.temporal, this.deps.config, deliveryId, Date.now());
    await audit(this.deps.knex, caller, { module: 'webhooks', action: 'replay', message: `Webhook delivery ${deliveryId} replayed`, resourceType: 'webhook', resourceId: id });
    return this.presentDelivery(row, []);
  }

  /** A `webhook.test` event to this endpoint alone. */
  async test(caller: Caller, id: number) {
    const endpoint = await this.find(caller, id);
    if (!endpoint.enabled) throw new AppError('CONFLICT', `Webhook endpoint ${id} is disabled; enable it first`, { disabled_reason: endpoint.disabled_reason });
    const eventId = `test:${id}:${crypto.randomUUID()}`;
    const timestamp = new Date().toISOString();
    const delivery = await insertWebhookDelivery(this.deps.knex, {
      id: newDeliveryId(), endpoint_id: endpoint.id, event_id: eventId, event_type: 'webhook.test',
      payload: JSON.stringify({ type: 'webhook.test', timestamp, data: { endpoint_id: id, message: 'A test delivery from idcflow' } }),
    });
    await startDelivery(this.deps.temporal, this.deps.config, delivery.id);
    return this.presentDelivery(delivery, []);
  }

  private presentDelivery(r: WebhookDeliveryRow, attempts: WebhookAttemptRow[]) {
    return {
      id: r.id, event_type: r.event_type, event_id: r.event_id, status: r.status, attempts: r.attempts, last_status_code: r.last_status_code ?? null,
      last_error: r.last_error ?? null, payload: r.payload, created_at: iso(r.created_at), delivered_at: iso(r.delivered_at),
      attempt_log: attempts.map((a) => ({ attempt: a.attempt, at: iso(a.at), status_code: a.status_code ?? null, response_excerpt: a.response_excerpt ?? null, error: a.error ?? null, duration_ms: a.duration_ms })),
    };
  }
}
