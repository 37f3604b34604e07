import { z } from 'zod';
import { dbIdValue } from '../platform/http/schemas';

export const redeemBody = z.object({
  code: z.string().min(1, 'is required').max(64),
  rental_id: dbIdValue.optional(),
  host_id: dbIdValue.optional(),
});

export const batchBody = z.object({
  days: z.number().int().min(1).max(3650),
  count: z.number().int().min(1).max(1000),
  value_cents: z.number().int().min(0).max(100_000_000).optional(),
  note: z.string().max(255).optional(),
});

/** An ISO-8601 instant or a date (the date's end, UTC, as seed 000 writes expiries as days). */
export const expiry = z.string().max(64).transform((v, ctx) => {
  const d = /^\d{4}-\d{2}-\d{2}$/.test(v) ? new Date(`${v}T23:59:59.999Z`) : new Date(v);
  if (Number.isNaN(d.getTime())) {
    ctx.addIssue({ code: 'custom', message: 'must be a date (YYYY-MM-DD) or an ISO-8601 time' });
    return z.NEVER;
  }
  return d;
});

export const referralCode = z.string().regex(/^[A-Za-z0-9]{4,16}$/, 'must be 4 to 16 letters or digits');

export const rentalSchema = z.object({
  id: z.number(), uuid: z.string(), user_id: z.number(), status: z.string(), expires_at: z.string().nullable(),
  host: z.object({ id: z.number(), name: z.string().nullable() }).nullable(), port: z.number().nullable(), instance_id: z.number().nullable(),
  workflow_id: z.string(), last_error: z.unknown(), created_at: z.string().nullable(), updated_at: z.string().nullable(), deleted_at: z.string().nullable(),
  /** When the relay serves TLS: the name its certificate is for, and its pin as the derpMap gives it. */
  tls: z.object({ hostname: z.string(), cert_name: z.string() }).nullable(),
});
