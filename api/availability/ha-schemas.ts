import { z } from 'zod';
import { dbId, dbIdValue } from '../platform/http/schemas';
import { operationSchema } from '../platform/operations/present';
import { imageReference } from '../../shared/compute/image-reference';

export const hostHealthSchema = z.object({
  host_id: z.number(), name: z.string(), enabled: z.boolean(), status: z.string(), health: z.enum(['unknown', 'healthy', 'unhealthy']), reasons: z.array(z.string()),
  consecutive_failures: z.number(), consecutive_successes: z.number(), checked_at: z.string().nullable(), changed_at: z.string().nullable(),
  generation: z.number(), fenced_at: z.string().nullable(), auto_failover: z.boolean(), use_agent: z.boolean(),
  agent: z.object({ online: z.boolean(), last_seen: z.string().nullable() }).nullable(), instances: z.number(),
});
export const clusterHealthSchema = z.object({
  status: z.enum(['healthy', 'degraded', 'unhealthy']), healthy: z.number(), unhealthy: z.number(), unknown: z.number(), hosts: z.array(hostHealthSchema),
});
export const healthRoundSchema = z.object({ checked: z.number(), healthy: z.array(z.string()), unhealthy: z.array(z.string()), failovers: z.array(z.string()) });
export const healthScheduleSchema = z.object({
  id: z.string(), interval_seconds: z.number().nullable(), enabled: z.boolean(), last_run: z.string().nullable(), next_run: z.string().nullable(),
  thresholds: z.object({ unhealthy_after: z.number(), healthy_after: z.number() }),
});
export const healthScheduleBody = z.object({ interval_seconds: z.number().int().min(1).max(86400), enabled: z.boolean().default(true) }).strict();
export const hostSettingsBody = z.object({ auto_failover: z.boolean() }).strict();
export const hostParams = z.object({ id: dbId });
/** An instance by its numeric id or its uuid. */
export const instanceParams = z.object({ id: z.union([dbId, z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'an instance id or uuid')]) });

const hostIds = z.array(dbIdValue).min(1).max(100);
export const failoverBody = z.object({ host_id: dbIdValue, target_host_ids: hostIds.optional() }).strict();
export const loadBalanceBody = z.object({ spread: z.number().int().min(1).max(1000).optional(), max_moves: z.number().int().min(1).max(1000).optional(), host_ids: hostIds.min(2).optional() }).strict();
export const replaceBody = z.object({ image: imageReference.optional(), command: z.array(z.string().max(1000)).max(64).optional() }).strict()
  .refine((b) => b.image || b.command, 'give image or command');
export const recoveryBody = z.object({ host_ids: hostIds.optional() }).strict().optional();
export const seedRecoveryBody = z.object({ server_ids: hostIds.optional() }).passthrough().optional();
export const pinBody = z.object({ pinned: z.boolean() }).strict();
export const pinSchema = z.object({ instance_id: z.number(), uuid: z.string(), pinned: z.boolean() });
export const trafficSchema = z.object({ container_id: z.number(), container_name: z.string(), host: z.string(), traffic: z.object({ in: z.number(), out: z.number() }), at: z.string() });
export const accepted = z.object({ operation: operationSchema });

/** Seed 000 names a server by its numeric id and a container by its id or its name. */
export const seedServerParams = z.object({ server_id: dbId });
export const seedContainerParams = z.object({ container_id: z.union([dbId, z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a container id or name')]) });
export const seedFailoverBody = z.object({ server_id: dbIdValue, target_server_ids: hostIds.optional() }).passthrough();
export const seedLoadBalanceBody = z.object({ spread: z.number().int().min(1).max(1000).optional(), max_moves: z.number().int().min(1).max(1000).optional(), server_ids: hostIds.min(2).optional() }).passthrough().optional();
export const seedReplaceBody = z.object({
  container_id: z.union([dbIdValue, z.string().min(1).max(128)]).optional(), container_name: z.string().min(1).max(128).optional(),
  image: imageReference.optional(), command: z.array(z.string().max(1000)).max(64).optional(),
}).refine((b) => b.container_id !== undefined || b.container_name, { message: 'give container_id or container_name', path: ['container_id'] })
  .refine((b) => b.image || b.command, { message: 'give image or command', path: ['image'] });
