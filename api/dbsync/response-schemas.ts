import { z } from 'zod';
import { CHANGE_TYPES, DB_TYPES, RECORD_STATUSES, RISK_LEVELS, SESSION_STATUSES, SYNC_TYPES, TASK_TYPES } from '../../shared/dbsync/types';

/** Response shapes of the database-instance endpoints, for the OpenAPI document (extra fields pass through). */
const ts = z.string().nullable();
const privilege = z.object({ scope: z.string(), object: z.string().nullable(), privilege: z.string() });

export const credentialSchema = z.looseObject({
  id: z.number(), name: z.string(), credential_type: z.string(), db_type: z.enum(DB_TYPES).nullable(), username: z.string(),
  password: z.literal('********'), has_password: z.boolean(), description: z.string().nullable(), is_active: z.boolean(), instance_count: z.number(),
  created_at: ts, updated_at: ts,
});

export const instanceSchema = z.looseObject({
  id: z.number(), name: z.string(), db_type: z.enum(DB_TYPES), host: z.string(), port: z.number(), database_name: z.string().nullable(),
  credential_id: z.number().nullable(), credential_name: z.string().nullable(), environment: z.string(), tags: z.array(z.string()),
  ssl: z.string(), is_active: z.boolean(), status: z.enum(['unknown', 'online', 'offline']), last_connected: ts, last_error: z.string().nullable(),
  server_version: z.string().nullable(), last_sync_at: ts, account_count: z.number().optional(), created_at: ts, updated_at: ts,
});

export const testResultSchema = z.looseObject({
  success: z.boolean(), error_type: z.enum(['dns', 'refused', 'auth', 'tls', 'timeout', 'network', 'permission', 'unknown']).nullable(),
  message: z.string(), server_version: z.string().nullable(), latency_ms: z.number(),
});

export const recordSchema = z.looseObject({
  id: z.number(), session_id: z.string(), instance_id: z.number(), instance_name: z.string(), db_type: z.string(), status: z.enum(RECORD_STATUSES),
  items_synced: z.number(), items_created: z.number(), items_updated: z.number(), items_deleted: z.number(), error_message: z.string().nullable(),
  details: z.record(z.string(), z.unknown()), started_at: ts, completed_at: ts,
});

export const sessionSchema = z.looseObject({
  id: z.string(), session_id: z.string(), sync_type: z.enum(SYNC_TYPES), sync_category: z.string(), status: z.enum(SESSION_STATUSES),
  total_instances: z.number(), successful_instances: z.number(), failed_instances: z.number(), cancelled_instances: z.number(),
  created_by: z.number().nullable(), job_id: z.string().nullable(), operation_id: z.string().nullable(), error: z.string().nullable(), started_at: ts, completed_at: ts,
});

export const sessionDetailSchema = sessionSchema.extend({
  items: z.object({ synced: z.number(), created: z.number(), updated: z.number(), deleted: z.number() }),
  records: z.array(recordSchema),
});

export const accountSchema = z.looseObject({
  id: z.number(), instance_id: z.number(), db_type: z.string(), account_key: z.string(), username: z.string(), host: z.string().nullable(),
  is_superuser: z.boolean(), is_locked: z.boolean(), can_login: z.boolean(), capabilities: z.array(z.string()), roles: z.array(z.string()),
  privileges: z.array(privilege), attributes: z.record(z.string(), z.unknown()), is_active: z.boolean(),
  first_seen_at: ts, last_seen_at: ts, last_change_at: ts, deactivated_at: ts,
});

export const changeSchema = z.looseObject({
  id: z.number(), instance_id: z.number(), account_id: z.number().nullable(), account_key: z.string(), change_type: z.enum(CHANGE_TYPES),
  diff: z.record(z.string(), z.unknown()), session_id: z.string().nullable(), message: z.string().nullable(), changed_at: ts,
});

export const classificationSchema = z.looseObject({
  id: z.number(), code: z.string(), name: z.string(), description: z.string().nullable(), risk_level: z.enum(RISK_LEVELS), priority: z.number(),
  color: z.string().nullable(), is_system: z.boolean(), is_active: z.boolean(), created_at: ts, updated_at: ts,
});

export const ruleSchema = z.looseObject({
  id: z.number(), classification_id: z.number(), name: z.string(), db_type: z.string().nullable(), expression: z.unknown(), version: z.number(), is_active: z.boolean(),
});

export const batchSchema = z.looseObject({
  id: z.string(), batch_id: z.string(), batch_type: z.string(), status: z.string(), total_accounts: z.number(), matched_accounts: z.number(),
  total_matches: z.number(), job_id: z.string().nullable(), error: z.string().nullable(), started_at: ts, completed_at: ts,
});

export const matchSchema = z.looseObject({
  id: z.number(), batch_id: z.string(), account_id: z.number(), account_key: z.string(), username: z.string(), instance_id: z.number(),
  instance_name: z.string(), db_type: z.string(), classification_id: z.number(), classification_code: z.string(), classification_name: z.string(),
  risk_level: z.string(), rule_id: z.number(), rule_version: z.number(), matched_at: ts,
});

export const jobSchema = z.looseObject({
  id: z.string(), job_id: z.string(), name: z.string(), task_type: z.enum(TASK_TYPES), db_type: z.string().nullable(), instance_ids: z.array(z.number()).nullable(),
  schedule: z.string(), timezone: z.string(), calendars: z.array(z.record(z.string(), z.unknown())), description: z.string().nullable(),
  is_enabled: z.boolean(), is_paused: z.boolean(), state: z.enum(['active', 'paused', 'disabled']), next_run_at: ts, last_run_at: ts,
  created_at: ts, updated_at: ts,
});
