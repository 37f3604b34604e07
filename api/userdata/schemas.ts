import { z } from 'zod';
import { USER_DATA_LIMITS } from '../../shared/userdata/limits';
import { dbId } from '../platform/http/schemas';

export const dataKey = z.string().regex(USER_DATA_LIMITS.keyPattern, 'must be 1-128 letters, digits or _ . : -');
/** Any JSON value (the body is JSON already); its size is checked by the service (413 over the limit). */
export const dataValue = z.unknown().refine((v) => v !== undefined, { message: 'is required' });

/** Seed 004's credentials in the body (the route helper reads them; the schema lets them through). */
export const bodyCredentials = {
  api_token: z.string().max(4096).optional(),
  server_token: z.string().max(4096).optional(),
  username: z.string().min(1).max(64).optional(),
};

export const bulkOperation = z.object({
  key: dataKey,
  action: z.enum(['add', 'update', 'delete']),
  value: z.unknown().optional(),
  username: z.string().min(1).max(64).optional(),
});

export const bulkBody = z.object({
  ...bodyCredentials,
  operations: z.array(bulkOperation).min(1, 'must hold at least one operation').max(USER_DATA_LIMITS.maxBulkOperations),
  mode: z.enum(['atomic', 'partial']).default('atomic'),
});

export const bulkDeleteBody = z.object({
  ...bodyCredentials,
  operations: z.array(z.object({ key: dataKey, action: z.literal('delete').default('delete'), username: z.string().min(1).max(64).optional() }))
    .min(1, 'must hold at least one operation').max(USER_DATA_LIMITS.maxBulkOperations),
  mode: z.enum(['atomic', 'partial']).default('atomic'),
});

export const nativeTarget = z.object({ user_id: dbId.optional() });
export const keyParams = z.object({ key: dataKey });

export const recordSchema = z.object({
  key: z.string(),
  value: z.unknown(),
  user_id: z.number(),
  username: z.string(),
  version: z.number(),
  etag: z.string(),
  created_at: z.string().nullable(),
  updated_at: z.string().nullable(),
});
