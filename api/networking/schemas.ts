import { z } from 'zod';
import { PROTOCOLS } from '../../shared/networking/desired';
import { X509Certificate } from 'node:crypto';
import { canonicalIpv6 } from '../../shared/networking/addresses';
import { ACME_CHALLENGES, directoryProblem } from '../../shared/networking/acme';
import { proxyVerificationSchema } from './domain-proof';

const port = z.number().int().min(1).max(65535);
const ipv4 = z.string().max(15).regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, 'must be an IPv4 address');
const ipAddress = z.string().max(45).refine((a) => ipv4.safeParse(a).success || canonicalIpv6(a) !== null, 'must be an IPv4 or IPv6 address');
const STATE = z.enum(['pending', 'active', 'deleting']);

export const createForwardBody = z.object({
  protocol: z.enum(PROTOCOLS).default('tcp'),
  /** Chosen from the host's NAT port range when not given. */
  external_port: port.optional(),
  internal_port: port,
  /** One of the instance's own addresses; its first one when not given. */
  internal_address: ipv4.optional(),
});
export type CreateForwardBody = z.infer<typeof createForwardBody>;

export const forwardSchema = z.object({
  id: z.number(), index: z.number(), instance: z.string(), host: z.string(), protocol: z.enum(PROTOCOLS), external_address: z.string(), external_port: z.number(),
  internal_address: z.string(), internal_port: z.number(), state: STATE, created_at: z.string().nullable(),
});

export const createAddressBody = z.object({
  /** IPv4 or IPv6; chosen from the host's bindable public addresses of the `family` when not given. */
  address: ipAddress.optional(),
  /** When no address is given: 4 (the default, or the internal address's family) or 6. */
  family: z.union([z.literal(4), z.literal(6)]).optional(),
  interface: z.string().min(1).max(32).regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits, dot, dash, colon, underscore').default('eth0'),
  /** IPv4 only; an IPv6 address takes `prefix`. */
  netmask: ipv4.optional(),
  prefix: z.number().int().min(1).max(128).optional(),
  gateway: ipAddress.optional(),
  /** One of the instance's own addresses of the same family (its NICs' ip4 / ip6); its first one when not given. */
  internal_address: ipAddress.optional(),
});
export type CreateAddressBody = z.infer<typeof createAddressBody>;

export const addressSchema = z.object({
  id: z.number(), index: z.number(), instance: z.string(), host: z.string(), family: z.union([z.literal(4), z.literal(6)]), address: z.string(), prefix: z.number(), netmask: z.string().nullable(), gateway: z.string().nullable(),
  interface: z.string(), internal_address: z.string(), state: STATE, created_at: z.string().nullable(),
});

export const createProxyBody = z.object({
  domain: z.string().min(1).max(253),
  target_port: port,
  tls: z.boolean().default(false),
});
export type CreateProxyBody = z.infer<typeof createProxyBody>;

/** A TLS proxy's certificate as the host's agent last read it from Caddy (null until then, and for plain HTTP). */
export const certificateSchema = z.object({
  source: z.enum(['acme', 'internal']), acme_directory: z.string().nullable(), issuer: z.string().nullable(),
  not_before: z.string().nullable(), not_after: z.string().nullable(), error: z.string().nullable(), error_at: z.string().nullable(),
});

export const proxySchema = z.object({
  id: z.number(), index: z.number(), instance: z.string(), host: z.string(), domain: z.string(), target_port: z.number(), internal_address: z.string(), tls: z.boolean(),
  state: STATE, certificate: certificateSchema.nullable(), verification: proxyVerificationSchema, created_at: z.string().nullable(),
});

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export const hostAcmeBody = z.object({
  /** The ACME server's directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory or a step-ca's. */
  directory: z.string().max(2048).superRefine((u, ctx) => {
    const p = directoryProblem(u);
    if (p) ctx.addIssue({ code: 'custom', message: p });
  }),
  email: z.string().max(254).email().optional(),
  /** PEM certificate(s) to trust for the ACME server's own HTTPS (a private server); the system's roots when absent. */
  ca_root_pem: z.string().max(65536).superRefine((pem, ctx) => {
    const certs = pem.match(PEM_CERT) ?? [];
    if (!certs.length) return void ctx.addIssue({ code: 'custom', message: 'must hold PEM certificates (-----BEGIN CERTIFICATE-----)' });
    for (const c of certs) {
      try {
        new X509Certificate(c);
      } catch {
        return void ctx.addIssue({ code: 'custom', message: 'holds a certificate that does not parse' });
      }
    }
  }).optional(),
  /** The challenges Caddy may solve: HTTP-01 on the proxy's HTTP port, TLS-ALPN-01 on its HTTPS port. */
  challenges: z.array(z.enum(ACME_CHALLENGES)).min(1).max(2).default(['http-01', 'tls-alpn-01']),
});
export type HostAcmeBody = z.infer<typeof hostAcmeBody>;

export const hostAcmeSchema = z.object({
  host: z.string(), issuer: z.enum(['acme', 'internal']),
  acme: z.object({
    directory: z.string(), email: z.string().nullable(), challenges: z.array(z.enum(ACME_CHALLENGES)), state: z.enum(['pending', 'active']),
    ca_roots: z.array(z.object({ subject: z.string(), not_after: z.string(), sha256: z.string() })), updated_at: z.string().nullable(),
  }).nullable(),
});

export const networkQuotaBody = z.object({
  nat_ports: z.number().int().min(0).max(65535), proxies: z.number().int().min(0).max(100000), addresses: z.number().int().min(0).max(100000),
  // Network services (WireGuard clients, IPv6 allocations); omitted in a PUT: unchanged.
  wireguard_clients: z.number().int().min(0).max(100000).optional(), ipv6_allocations: z.number().int().min(0).max(100000).optional(),
});
export const networkQuotaSchema = z.object({ user_id: z.number(), quota: networkQuotaBody, used: networkQuotaBody, source: z.enum(['user', 'default']) });

export const hostNetworkSchema = z.object({
  host: z.string(),
  counts: z.object({ port_forwards: z.number(), addresses: z.number(), proxies: z.number() }),
  warnings: z.array(z.string()),
  applies: z.array(z.object({ at: z.string().nullable(), reason: z.string(), corrected: z.boolean(), drift: z.array(z.string()).nullable(), warnings: z.array(z.string()), counts: z.record(z.string(), z.number()), duration_ms: z.number() })),
});
