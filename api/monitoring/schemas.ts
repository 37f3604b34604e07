import { z } from 'zod';
import { CONDITIONS, LEVELS } from '../../shared/monitoring/alerts';
import { METRIC_NAME } from '../../shared/monitoring/metrics';
import { pagination } from '../platform/http/schemas';

const metricName = z.string().max(128).regex(METRIC_NAME, 'a dotted metric name such as system.cpu.usage');
const ruleId = z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, _ . - (starting with a letter or digit)');
const hostName = z.string().trim().min(1).max(128);

export const ruleIdParams = z.object({ id: ruleId });

const ruleFields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(1000).nullable().optional(),
  metric_name: metricName,
  condition: z.enum(CONDITIONS),
  threshold: z.number().finite(),
  level: z.enum(LEVELS),
  enabled: z.boolean().optional(),
  cooldown_minutes: z.number().min(0).max(10080).optional().describe('A rule that fired does not fire again sooner than this after its last firing (default 5)'),
  host: hostName.nullable().optional().describe('Only this host; omitted, every source that reports the metric'),
  notify_emails: z.array(z.email().max(254)).max(20).optional().describe('Who gets a mail per firing; empty, every active admin with an email'),
  webhook_url: z.url({ protocol: /^https?$/ }).max(2000).nullable().optional()
    .describe('POSTed once per firing (event alert.fired), signed per Standard Webhooks, through the webhooks domain: it must resolve to public addresses unless webhook_allow_private'),
  webhook_allow_private: z.boolean().optional().describe('Admins only: the webhook may target loopback, private and link-local addresses'),
};

export const createRuleBody = z.object({ id: ruleId.optional(), ...ruleFields });
export type CreateRuleBody = z.infer<typeof createRuleBody>;
export const updateRuleBody = z.object({
  name: ruleFields.name.optional(), description: ruleFields.description, metric_name: metricName.optional(), condition: ruleFields.condition.optional(),
  threshold: ruleFields.threshold.optional(), level: ruleFields.level.optional(), enabled: ruleFields.enabled, cooldown_minutes: ruleFields.cooldown_minutes,
  host: ruleFields.host, notify_emails: ruleFields.notify_emails, webhook_url: ruleFields.webhook_url, webhook_allow_private: ruleFields.webhook_allow_private,
}).refine((b) => Object.keys(b).length > 0, 'give at least one field to change');
export type UpdateRuleBody = z.infer<typeof updateRuleBody>;

export const ruleSchema = z.object({
  id: z.string(), name: z.string(), description: z.string().nullable(), metric_name: z.string(), condition: z.string(), threshold: z.number(),
  level: z.string(), enabled: z.boolean(), cooldown_minutes: z.number(), host: z.string().nullable(), notify_emails: z.array(z.string()),
  webhook_url: z.string().nullable(), webhook_allow_private: z.boolean(),
  webhook_endpoint_id: z.number().nullable().describe('The webhooks domain\'s endpoint that delivers this rule\'s firings: its deliveries and attempts under /webhooks/{id}/deliveries'),
  webhook_secret: z.string().optional().describe('Shown once, when the webhook is set: the Standard Webhooks secret (whsec_…)'),
  created_at: z.string().nullable(), updated_at: z.string().nullable(),
});

export const alertSchema = z.object({
  id: z.string(), rule_id: z.string(), name: z.string(), description: z.string().nullable(), level: z.string(), status: z.string(), metric_name: z.string(),
  host: z.string().nullable(), source: z.string(), threshold_value: z.number(), current_value: z.number().nullable(),
  created_at: z.string(), updated_at: z.string(), resolved_at: z.string().nullable(), resolve_reason: z.string().nullable(),
});

export const alertsQuery = z.object({
  page: z.coerce.number().int().min(1).default(1),
  size: z.coerce.number().int().min(1).max(100).default(20),
  status: z.enum(['active', 'resolved']).optional(),
  level: z.enum(LEVELS).optional(),
  rule_id: ruleId.optional(),
});

export const metricsQuery = z.object({
  hours: z.coerce.number().int().min(1).max(24 * 3650).default(24),
  host: hostName.optional().describe('One host; omitted, every host combined (sums of sizes and bytes, averages of percentages and loads)'),
  name: metricName.optional().describe('One metric; omitted, every system.* metric'),
});

export const metricPoint = z.object({
  name: z.string(), value: z.number(), timestamp: z.string(),
  tags: z.object({ type: z.string(), host: z.string() }),
  metadata: z.object({ unit: z.string(), step_seconds: z.number(), max: z.number().nullable() }),
});

const nullable = z.number().nullable();
export const dashboardSchema = z.object({
  system_metrics: z.object({
    hosts: z.number(), as_of: z.string().nullable(), reason: z.string().optional(),
    cpu: z.object({ usage: nullable, cores: nullable, load_average: z.array(z.number()).nullable() }),
    memory: z.object({ total: nullable, used: nullable, free: nullable, usage_percent: nullable }),
    disk: z.object({ total: nullable, used: nullable, free: nullable, usage_percent: nullable }),
    network: z.object({ bytes_sent: nullable, bytes_recv: nullable, packets_sent: nullable, packets_recv: nullable }),
  }),
  application_metrics: z.object({
    database: z.object({ pool_size: nullable, checked_out: nullable, active_connections: nullable, reason: z.string().optional() }),
    http: z.object({ requests_per_second: nullable, errors_per_second: nullable }),
    operations: z.object({ running: nullable, failed_last_hour: nullable }),
    cache: z.object({ hit_rate: z.null(), miss_rate: z.null(), memory_usage: z.null(), reason: z.string() }),
  }),
  alerts: z.object({ active: z.number(), critical: z.number(), error: z.number(), warning: z.number(), info: z.number() }),
});

export const pushSampleBody = z.object({
  host: hostName.describe('A registered host (its agent normally pushes by itself)'),
  timestamp: z.iso.datetime({ offset: true }).optional(),
  values: z.record(metricName, z.number().finite()).refine((v) => Object.keys(v).length > 0 && Object.keys(v).length <= 100, 'between 1 and 100 values'),
});

export const rulesList = z.object({ rules: z.array(ruleSchema), pagination });
export const alertsList = z.object({ alerts: z.array(alertSchema), pagination });
