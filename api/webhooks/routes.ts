import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { route } from '../platform/http/route';
import { WebhookService } from './service';
import {
  createEndpointBody, createdEndpointSchema, deliveryParams, deliverySchema, endpointParams, endpointSchema, listEndpointsQuery, rotatedSchema, updateEndpointBody,
} from './schemas';

/** Webhook endpoints under /api/v1/webhooks: your own (an admin's: anyone's). */
export function webhookRoutes(deps: AppDeps) {
  const webhooks = new WebhookService(deps);
  const tags = ['webhooks'];
  return [
    route({ method: 'get', path: '/webhooks', tags, permission: 'view', summary: 'Your webhook endpoints (admins: anyone\'s with ?user_id=)', query: listEndpointsQuery, response: z.object({ endpoints: z.array(endpointSchema) }), handler: ({ caller, query }) => webhooks.list(caller, query.user_id) }),
    route({
      method: 'post', path: '/webhooks', tags, permission: 'create', status: 201, noStore: true, summary: 'Subscribe a URL to operation and alert events; the signing secret is shown once',
      description: 'Deliveries follow Standard Webhooks: headers webhook-id, webhook-timestamp and webhook-signature (v1, HMAC-SHA256). Targets must resolve to public addresses unless an admin sets allow_private.',
      body: createEndpointBody, response: createdEndpointSchema, message: 'Webhook endpoint created', handler: ({ caller, body }) => webhooks.create(caller, body),
    }),
    route({ method: 'get', path: '/webhooks/:id', tags, permission: 'view', summary: 'A webhook endpoint', params: endpointParams, response: endpointSchema, handler: async ({ caller, params }) => webhooks.present(await webhooks.find(caller, params.id)) }),
    route({ method: 'put', path: '/webhooks/:id', tags, permission: 'update', summary: 'Change a webhook endpoint; {"enabled": true} re-enables one that was disabled', params: endpointParams, body: updateEndpointBody, response: endpointSchema, message: 'Webhook endpoint updated', handler: ({ caller, params, body }) => webhooks.update(caller, params.id, body) }),
    route({ method: 'delete', path: '/webhooks/:id', tags, permission: 'delete', summary: 'Delete a webhook endpoint and its deliveries', params: endpointParams, response: endpointSchema, message: 'Webhook endpoint deleted', handler: ({ caller, params }) => webhooks.remove(caller, params.id) }),
    route({ method: 'post', path: '/webhooks/:id/rotate-secret', tags, permission: 'update', noStore: true, summary: 'A new signing secret; the previous one stays valid for IDCFLOW_WEBHOOK_ROTATION_HOURS', params: endpointParams, response: rotatedSchema, message: 'Secret rotated', handler: ({ caller, params }) => webhooks.rotate(caller, params.id) }),
    route({ method: 'post', path: '/webhooks/:id/test', tags, permission: 'update', status: 202, summary: 'Send a webhook.test event to this endpoint', params: endpointParams, response: deliverySchema, message: 'Test delivery started', handler: ({ caller, params }) => webhooks.test(caller, params.id) }),
    route({ method: 'get', path: '/webhooks/:id/deliveries', tags, permission: 'view', summary: 'The latest 100 deliveries with every attempt and its answer', params: endpointParams, response: z.object({ deliveries: z.array(deliverySchema) }), handler: ({ caller, params }) => webhooks.deliveries(caller, params.id) }),
    route({ method: 'post', path: '/webhooks/:id/deliveries/:delivery_id/replay', tags, permission: 'update', status: 202, summary: 'Send a delivery again', params: deliveryParams, response: deliverySchema, message: 'Replay started', handler: ({ caller, params }) => webhooks.replay(caller, params.id, params.delivery_id) }),
  ];
}
