import { z } from 'zod';
import { settingsSchema, settingsUpdateSchema } from '../../shared/system/settings';
import { healthUrlProblem, NODE_KINDS } from '../../shared/system/nodes';
import { hostOrAddress, pageQuery, pagination } from '../platform/http/schemas';
import { sectionSchemas, SECRET_FIELDS, type SectionName } from '../userdata/settings/sections';

const nullableNumber = z.number().nullable();

export const systemInfo = z.object({
  system: z.object({
    hostname: z.string(), os: z.string(), kernel: z.string(), architecture: z.string(), uptime: z.number(), load_average: z.array(z.number()),
    cpu_count: z.number(), memory: z.object({ total_bytes: z.number(), free_bytes: z.number() }),
  }),
  application: z.object({
    name: z.string(), version: z.string(), build_date: z.string().nullable(), node_version: z.string(), environment: z.string(),
    process: z.object({ pid: z.number(), uptime: z.number(), node_id: z.string().nullable(), memory_rss_bytes: z.number() }),
  }),
  database: z.object({
    type: z.string(), version: z.string().nullable(), status: z.enum(['connected', 'disconnected']), name: z.string().optional(), size_bytes: z.number().optional(),
    server_connections: z.number().optional(), max_connections: z.number().optional(), error: z.string().optional(),
    pool_size: nullableNumber, active_connections: nullableNumber, idle_connections: nullableNumber, waiting_requests: nullableNumber,
  }),
});

const settingsOut = settingsSchema.extend({ log_level: z.string() });

export const systemConfig = settingsOut.extend({
  app_name: z.string(), app_version: z.string(), debug_mode: z.boolean(), database_pool_size: nullableNumber, cache_enabled: z.boolean(), monitoring_enabled: z.boolean(),
  sources: z.record(z.string(), z.enum(['database', 'environment'])),
  updated_at: z.string().nullable(),
});

export const configUpdate = settingsUpdateSchema;
export const configUpdated = settingsOut.partial().extend({ updated_at: z.string() });

/** The configuration document of seed 001's saving/loader: versioned, validated whole before anything changes. */
export const CONFIG_DOCUMENT_FORMAT = 'idcflow.configuration';
export const CONFIG_DOCUMENT_VERSION = 1;

/** Seed 004's server settings without their secret fields (the server token and the SMTP password never leave). */
const serverSettingsPart = z.object(
  Object.fromEntries(Object.entries(sectionSchemas).map(([name, schema]) => {
    const secret = SECRET_FIELDS[name as SectionName];
    return [name, (secret ? (schema as z.ZodObject<z.ZodRawShape>).omit({ [secret]: true }) : schema).optional()];
  })) as { [K in SectionName]: z.ZodOptional<(typeof sectionSchemas)[K]> },
).strict();

export const healthUrl = z.string().max(2048).superRefine((v, ctx) => {
  const problem = healthUrlProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const nodeIdValue = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:-]+$/, 'may hold letters, digits and _ . : - only');
const capabilities = z.array(z.string().min(1).max(64)).max(32);
const metadata = z.record(z.string().max(64), z.union([z.string().max(1024), z.number(), z.boolean(), z.null()])).refine((m) => Object.keys(m).length <= 32, 'holds at most 32 entries');

export const externalNodeFields = z.object({
  id: nodeIdValue,
  host: hostOrAddress.optional(),
  port: z.number().int().min(1).max(65535).optional(),
  health_url: healthUrl.optional(),
  capabilities: capabilities.default([]),
  metadata: metadata.default({}),
});

export const configDocument = z.object({
  format: z.literal(CONFIG_DOCUMENT_FORMAT),
  version: z.literal(CONFIG_DOCUMENT_VERSION, { message: `must be ${CONFIG_DOCUMENT_VERSION}: this release reads version ${CONFIG_DOCUMENT_VERSION} documents` }),
  exported_at: z.string().max(64).optional(),
  application: z.object({ name: z.string().max(64), version: z.string().max(64) }).partial().optional(),
  system_settings: settingsSchema.partial().strict().optional(),
  server_settings: serverSettingsPart.optional(),
  cluster_nodes: z.array(externalNodeFields.extend({ health_url: healthUrl })).max(1000).optional(),
}).strict();

export type ConfigDocument = z.infer<typeof configDocument>;

export const listNodesQuery = pageQuery.extend({
  kind: z.enum(NODE_KINDS).optional(),
  status: z.enum(['healthy', 'unhealthy', 'stopped', 'unknown']).optional(),
});
export const nodeParams = z.object({ id: nodeIdValue });

const probeResult = z.object({ ok: z.boolean(), status_code: z.number().nullable(), response_time_ms: z.number(), error: z.string().nullable(), checked_at: z.string(), method: z.string(), url: z.string().optional() });

export const clusterNode = z.object({
  id: z.string(), kind: z.enum(NODE_KINDS), host: z.string(), port: z.number().nullable(), status: z.enum(['healthy', 'unhealthy', 'stopped', 'unknown']),
  last_heartbeat: z.string().nullable(), load_factor: z.number().nullable(), capabilities: z.array(z.string()), metadata: z.record(z.string(), z.unknown()),
  health_url: z.string().nullable(), started_at: z.string().nullable(), last_checked: z.string().nullable(), last_check: probeResult.nullable(), is_current: z.boolean(),
});
export const nodeList = z.object({ nodes: z.array(clusterNode), pagination });
export const clusterStatus = z.object({
  current_node_id: z.string().nullable(), is_leader: z.boolean(), coordination: z.string(),
  total_nodes: z.number(), healthy_nodes: z.number(), unhealthy_nodes: z.number(), stopped_nodes: z.number(), unknown_nodes: z.number(),
  heartbeat_seconds: z.number(), stale_after_seconds: z.number(),
  nodes: z.array(clusterNode),
  services: z.record(z.string(), z.object({ nodes: z.array(z.string()), metadata: z.record(z.string(), z.unknown()), last_updated: z.string().nullable() })),
  load_balancer: z.object({ strategy: z.string(), node_weights: z.record(z.string(), z.number()), available_strategies: z.array(z.string()) }),
});
export const nodeAdded = z.object({ message: z.string(), node: clusterNode });
export const healthCheckResult = z.object({
  node_id: z.string(), is_healthy: z.boolean(), status: z.enum(['healthy', 'unhealthy', 'stopped']), last_checked: z.string(),
  check: z.union([probeResult, z.object({ method: z.literal('heartbeat'), last_heartbeat: z.string().nullable(), stale_after_seconds: z.number() })]),
});
