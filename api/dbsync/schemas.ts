import { z } from 'zod';
import {  DB_TYPES, RISK_LEVELS, TASK_TYPES } from '../../shared/dbsync/types';
import type { Knex } from 'knex';
import { dbId, dbIdValue, hostOrAddress, paginateRows } from '../platform/http/schemas';


/** A row id that fits PostgreSQL's integer columns (larger ones are a 422, not a database error). */
export const rowIdParams = z.object({ id: dbId });

export const sslMode = z.enum(['disable', 'prefer', 'require', 'verify-full']);
const port = z.coerce.number().int().min(1, 'must be 1-65535').max(65535, 'must be 1-65535');

export const credentialBody = z.object({
  name: z.string().min(1, 'is required').max(100),
  username: z.string().min(1, 'is required').max(128),
  password: z.string().min(1, 'is required').max(1024),
  db_type: z.enum(DB_TYPES).nullable().optional(),
  credential_type: z.string().max(32).default('database'),
  description: z.string().max(1000).nullable().optional(),
  is_active: z.boolean().default(true),
}).strict();
export const credentialUpdate = credentialBody.partial().omit({ credential_type: true }).strict();

export const instanceBody = z.object({
  name: z.string().min(1, 'is required').max(100),
  db_type: z.enum(DB_TYPES),
  host: hostOrAddress,
  port: port.optional(),
  database_name: z.string().max(128).nullable().optional(),
  credential_id: dbIdValue,
  description: z.string().max(1000).nullable().optional(),
  environment: z.enum(['production', 'staging', 'development', 'testing']).default('production'),
  tags: z.array(z.string().max(50)).max(20).default([]),
  ssl: sslMode.optional(),
  is_active: z.boolean().default(true),
}).strict();
export const instanceUpdate = instanceBody.partial().strict();

export const listInstancesQuery = z.object({
  search: z.string().max(100).optional(),
  db_type: z.enum(DB_TYPES).optional(),
  environment: z.string().max(32).optional(),
  status: z.enum(['unknown', 'online', 'offline']).optional(),
  is_active: z.enum(['true', 'false']).optional(),
});

export const adhocTestBody = z.object({
  db_type: z.enum(DB_TYPES),
  host: hostOrAddress,
  port: port.optional(),
  username: z.string().min(1, 'is required').max(128),
  password: z.string().max(1024).default(''),
  database: z.string().max(128).nullable().optional(),
  ssl: sslMode.default('prefer'),
  timeout: z.number().int().min(1).max(60).optional().describe('seconds'),
});

export const startSyncBody = z.object({
  instance_ids: z.array(dbIdValue).max(1000).optional(),
  db_type: z.enum(DB_TYPES).optional(),
}).strict();

export const classificationBody = z.object({
  code: z.string().min(1, 'is required').max(64).regex(/^[a-z0-9_]+$/, 'may hold a-z, 0-9 and _ only'),
  name: z.string().min(1, 'is required').max(100),
  description: z.string().max(1000).nullable().optional(),
  risk_level: z.enum(RISK_LEVELS).default('low'),
  priority: z.number().int().min(0).max(1000).default(0),
  color: z.string().max(16).nullable().optional(),
  is_active: z.boolean().default(true),
}).strict();
export const classificationUpdate = classificationBody.omit({ code: true }).partial().strict();

export const ruleBody = z.object({
  name: z.string().min(1, 'is required').max(100),
  db_type: z.enum(DB_TYPES).nullable().optional(),
  expression: z.unknown(),
  is_active: z.boolean().default(true),
}).strict();
export const ruleUpdate = ruleBody.partial().strict();

/** An IANA time zone name (what Temporal Schedules accept). */
const timeZone = z.string().max(64).refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone name such as UTC or Asia/Shanghai');

export const jobBody = z.object({
  name: z.string().min(1, 'is required').max(100),
  task_type: z.enum(TASK_TYPES),
  db_type: z.enum(DB_TYPES).nullable().optional(),
  instance_ids: z.array(dbIdValue).max(1000).nullable().optional(),
  schedule: z.string().min(1, 'is required').max(128),
  timezone: timeZone.default('UTC'),
  description: z.string().max(1000).nullable().optional(),
  is_enabled: z.boolean().default(true),
}).strict();
export const jobUpdate = jobBody.partial().strict();

export const listQuery = z.object({
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  size: z.coerce.number().int().min(1).max(100).optional(),
  per_page: z.coerce.number().int().min(1).max(100).optional(),
});
export type ListQuery = z.infer<typeof listQuery>;
export const pageOf = (q: ListQuery) => ({ page: q.page, size: q.size ?? q.per_page ?? 20 });

export type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function pageRows(query: Knex.QueryBuilder, q: ListQuery) {
  const { page, size } = pageOf(q);
  return paginateRows<Row>(query, page, size);
}

