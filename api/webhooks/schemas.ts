import { z } from 'zod';
import { dbId } from '../platform/http/schemas';
import { WEBHOOK_EVENT_TYPES } from '../../shared/webhooks/events';

const url = z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2000);
const filter = z.string().min(1).max(128).nullable().optional();

export const createEndpointBody = z.object({
  url,
  description: z.string().max(200).optional(),
  event_types: z.array(z.enum(WEBHOOK_EVENT_TYPES)).max(WEBHOOK_EVENT_TYPES.length).default([]),
  resource_type: filter,
  resource_id: filter,
  operation_type: filter,
  allow_private: z.boolean().optional().describe('Admins only: deliver to loopback, private and link-local addresses'),
});
export type CreateEndpoint = z.infer<typeof createEndpointBody>;

export const updateEndpointBody = createEndpointBody.partial().extend({ enabled: z.boolean().optional(), event_types: createEndpointBody.shape.event_types.optional() });
export type UpdateEndpoint = z.infer<typeof updateEndpointBody>;

export const endpointParams = z.object({ id: dbId });
export const deliveryParams = z.object({ id: dbId, delivery_id: z.string().regex(/^msg_[0-9a-f]{24}$/, 'is not a delivery id') });
export const listEndpointsQuery = z.object({ user_id: dbId.optional() });

export const endpointSchema = z.object({
  id: z.number(), user_id: z.number().nullable(), alert_rule_id: z.string().nullable().describe('Set when the endpoint is an alert rule\'s webhook_url: its URL and filters are changed on the rule'), url: z.string(), description: z.string().nullable(), event_types: z.array(z.string()),
  filters: z.object({ resource_type: z.string().nullable(), resource_id: z.string().nullable(), operation_type: z.string().nullable() }),
  enabled: z.boolean(), disabled_reason: z.string().nullable(), allow_private: z.boolean(), consecutive_failures: z.number(),
  secrets: z.array(z.object({ expires_at: z.string().nullable() })).describe('The valid signing secrets (never their values): two during a rotation'),
  created_at: z.string().nullable(), updated_at: z.string().nullable(),
});
export const createdEndpointSchema = endpointSchema.extend({ secret: z.string().describe('The signing secret (whsec_…), shown once') });
export const rotatedSchema = z.object({ secret: z.string(), previous_valid_until: z.string().nullable() });

export const attemptSchema = z.object({ attempt: z.number(), at: z.string().nullable(), status_code: z.number().nullable(), response_excerpt: z.string().nullable(), error: z.string().nullable(), duration_ms: z.number() });
export const deliverySchema = z.object({
  id: z.string(), event_type: z.string(), event_id: z.string(), status: z.string(), attempts: z.number(), last_status_code: z.number().nullable(), last_error: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()), created_at: z.string().nullable(), delivered_at: z.string().nullable(), attempt_log: z.array(attemptSchema),
});
