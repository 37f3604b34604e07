import { z } from 'zod';
import { dbIdValue } from '../platform/http/schemas';
import { isCidr, isIpAddress } from '../../shared/netservices/addresses';
import { isWgKey } from '../../shared/netservices/wireguard';

const name = z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, _ . - (starting with a letter or digit)');

export const createPoolBody = z.object({
  name,
  prefix: z.string().max(64),
  prefix_length: z.number().int().min(1).max(128),
  description: z.string().max(500).optional(),
  open_to_customers: z.boolean().default(false).describe('Customers (users) may allocate from this pool; otherwise only admins and managers'),
});
export type CreatePoolBody = z.infer<typeof createPoolBody>;

export const updatePoolBody = z.object({
  description: z.string().max(500).nullable().optional(),
  open_to_customers: z.boolean().optional(),
}).refine((b) => b.description !== undefined || b.open_to_customers !== undefined, 'give description or open_to_customers');
export type UpdatePoolBody = z.infer<typeof updatePoolBody>;

export const allocateBody = z.object({
  pool_id: dbIdValue,
  client_name: z.string().trim().min(1).max(128),
  description: z.string().max(500).optional(),
  prefix: z.string().max(64).optional().describe('A specific prefix of the pool\'s delegated length; omitted, the next free one'),
});
export type AllocateBody = z.infer<typeof allocateBody>;

export const poolSchema = z.object({
  id: z.number(), name: z.string(), prefix: z.string(), prefix_length: z.number(), description: z.string().nullable(),
  total_prefixes: z.number(), allocated_prefixes: z.number(), available_prefixes: z.number(), status: z.string(), open_to_customers: z.boolean(), created_at: z.string().nullable(),
});

export const allocationSchema = z.object({
  id: z.number(), pool_id: z.number(), client_name: z.string(), description: z.string().nullable(), allocated_prefix: z.string(),
  user_id: z.number().nullable(), status: z.string(), allocated_at: z.string().nullable(),
});

const ipAddress = z.string().max(64).refine(isIpAddress, 'must be an IPv4 or IPv6 address');
const cidr = z.string().max(64).refine(isCidr, 'must be a CIDR such as 10.0.0.0/24 or ::/0');
const wgKey = z.string().refine(isWgKey, 'must be a WireGuard key: 44 characters of base64 (32 bytes)');

export const createServerBody = z.object({
  name,
  interface: z.string().regex(/^[A-Za-z0-9_=+.-]{1,15}$/, 'an interface name of 1-15 characters: letters, digits, _ = + . -').optional(),
  host_id: dbIdValue.optional().describe('The host whose agent runs the interface; default: the host named local'),
  listen_port: z.number().int().min(1).max(65535),
  ipv4_address: z.string().max(64).optional(),
  ipv6_address: z.string().max(64).optional(),
  dns_servers: z.array(ipAddress).max(8).default([]),
  mtu: z.number().int().min(1280).max(9000).optional(),
  endpoint: z.string().trim().min(1).max(255).regex(/^[A-Za-z0-9.:[\]-]+$/, 'a host name or address clients reach the server at').optional(),
  is_active: z.boolean().default(true),
  open_to_customers: z.boolean().default(false).describe('Customers (users) may add clients to this server; otherwise only admins and managers'),
});
export type CreateServerBody = z.infer<typeof createServerBody>;

export const updateServerBody = z.object({
  is_active: z.boolean().optional(),
  open_to_customers: z.boolean().optional(),
}).refine((b) => b.is_active !== undefined || b.open_to_customers !== undefined, 'give is_active or open_to_customers');
export type UpdateServerBody = z.infer<typeof updateServerBody>;

export const serverSchema = z.object({
  id: z.number(), name: z.string(), interface: z.string(), host_id: z.number(), host: z.string().nullable(), listen_port: z.number(),
  ipv4_address: z.string().nullable(), ipv6_address: z.string().nullable(), dns_servers: z.array(z.string()), mtu: z.number().nullable(),
  endpoint: z.string().nullable(), public_key: z.string(), private_key: z.string().optional().describe('Only in the creation answer'),
  is_active: z.boolean(), open_to_customers: z.boolean(), status: z.string(), desired_state: z.string(), last_error: z.string().nullable(), clients_count: z.number(),
  started_at: z.string().nullable(), stopped_at: z.string().nullable(), created_at: z.string().nullable(),
});

export const createClientBody = z.object({
  name,
  server_id: dbIdValue,
  ipv4_address: z.string().max(64).optional().describe('A /32 inside the server\'s IPv4 subnet; omitted, the next free one'),
  ipv6_address: z.string().max(64).optional().describe('A /128 inside the server\'s IPv6 subnet; omitted, the next free one'),
  ipv6_pool_id: dbIdValue.optional().describe('Delegate a prefix from this IPv6 pool to the client instead'),
  public_key: wgKey.optional().describe('The client\'s own public key: its private key never touches the server'),
  dns_servers: z.array(ipAddress).max(8).optional(),
  allowed_ips: z.array(cidr).min(1).max(32).default(['0.0.0.0/0', '::/0']),
  expires_at: z.iso.datetime({ offset: true }).optional(),
  enabled: z.boolean().default(true),
});
export type CreateClientBody = z.infer<typeof createClientBody>;

export const updateClientBody = z.object({
  enabled: z.boolean().optional(),
  expires_at: z.iso.datetime({ offset: true }).nullable().optional(),
}).refine((b) => b.enabled !== undefined || b.expires_at !== undefined, 'give enabled or expires_at');

export const clientSchema = z.object({
  id: z.number(), name: z.string(), server_id: z.number(), user_id: z.number().nullable(),
  ipv4_address: z.string().nullable(), ipv6_address: z.string().nullable(), ipv6_allocation_id: z.number().nullable(),
  public_key: z.string(), private_key: z.string().optional().describe('Only in the creation answer, when idcflow made the key'),
  status: z.string(), enabled: z.boolean(), expires_at: z.string().nullable(), allowed_ips: z.array(z.string()), dns_servers: z.array(z.string()),
  last_handshake: z.string().nullable(), bytes_received: z.number(), bytes_sent: z.number(), endpoint: z.string().nullable(), stats_at: z.string().nullable(),
  config: z.string().optional(), qr_code: z.string().optional(), created_at: z.string().nullable(),
});

const asn = z.number().int().min(1).max(4294967295).describe('An AS number, the full 32-bit range');
export const createSessionBody = z.object({
  name,
  host_id: dbIdValue.optional().describe('The host whose BIRD runs the session; default: the host named local'),
  neighbor: ipAddress,
  remote_as: asn,
  local_as: asn,
  password: z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,80}$/, '1-80 printable characters without spaces, quotes or backslashes').optional(),
  enabled: z.boolean().default(true),
});
export type CreateSessionBody = z.infer<typeof createSessionBody>;

export const sessionSchema = z.object({
  id: z.number(), name: z.string(), host_id: z.number(), neighbor: z.string(), remote_as: z.number(), local_as: z.number(), has_password: z.boolean(),
  enabled: z.boolean(), status: z.string(), info: z.string().nullable(), last_error: z.string().nullable(), uptime: z.number().nullable(),
  routes_received: z.number().nullable(), routes_advertised: z.number().nullable(), last_update: z.string().nullable(), created_at: z.string().nullable(),
});

export const createAnnouncementBody = z.object({
  host_id: dbIdValue.optional(),
  prefix: cidr,
  next_hop: ipAddress.optional(),
  as_path: z.string().max(200).regex(/^\s*(\d{1,10}(\s+\d{1,10})*)?\s*$/, 'AS numbers to prepend, separated by spaces').optional()
    .refine((v) => !v || v.trim().split(/\s+/).filter(Boolean).every((n) => Number(n) >= 1 && Number(n) <= 4294967295), 'each AS number must be 1-4294967295'),
  community: z.string().max(200).regex(/^\s*(\d{1,5}:\d{1,5}([\s,]+\d{1,5}:\d{1,5})*)?\s*$/, 'communities such as 65000:100, separated by spaces or commas').optional()
    .refine((v) => !v || v.split(/[\s,]+/).filter(Boolean).every((c) => c.split(':').every((n) => Number(n) <= 65535)), 'each part of a community must be 0-65535'),
  enabled: z.boolean().default(true),
});
export type CreateAnnouncementBody = z.infer<typeof createAnnouncementBody>;

export const announcementSchema = z.object({
  id: z.number(), host_id: z.number(), prefix: z.string(), next_hop: z.string().nullable(), as_path: z.string().nullable(), community: z.string().nullable(),
  enabled: z.boolean(), status: z.string(), created_at: z.string().nullable(),
});

export const allowedPrefixBody = z.object({ host_id: dbIdValue.optional(), prefix: cidr });
export const allowedPrefixSchema = z.object({ id: z.number(), host_id: z.number(), prefix: z.string(), created_at: z.string().nullable() });
