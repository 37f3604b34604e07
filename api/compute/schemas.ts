import { z } from 'zod';
import { IMAGE_FORMATS, IMAGE_NAME } from '../../shared/compute/images';
import { sshPublicKeyProblem } from '../../shared/compute/ssh-keys';
import {
  ENGINE_TYPES, INSTANCE_STATES, PLACEMENT_STRATEGIES, POWER_ACTIONS, resolveEngineType,
} from '../../shared/compute/catalogue';
import { dbId, dbIdValue, platformName } from '../platform/http/schemas';
import { imageReference } from '../../shared/compute/image-reference';


const ipv4 = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}$/, 'must be an IPv4 address');
export const nicSchema = z.object({
  name: z.string().min(1).max(32).default('eth0'),
  net_mode: z.string().max(32).optional(),
  mac: z.string().regex(/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/, 'must be a MAC address').nullish(),
  ip4: ipv4.nullish(),
  ip6: z.string().max(64).nullish(),
  gateway: ipv4.nullish(),
  mask: ipv4.nullish(),
  dns: z.array(z.string().max(64)).max(4).optional(),
});
export const ipPoolSchema = z.object({
  name: z.string().max(64).optional(),
  cidr: z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, 'must be a.b.c.d/nn').optional(),
  start: ipv4.optional(),
  end: ipv4.optional(),
  gateway: ipv4.optional(),
  mask: ipv4.optional(),
  dns: z.array(z.string().max(64)).max(4).optional(),
}).refine((p) => p.cidr || (p.start && p.end), 'give cidr, or start and end');

const engineType = z.string().min(1).max(32).transform((v, ctx) => {
  const t = resolveEngineType(v);
  if (!t) {
    ctx.addIssue({ code: 'custom', message: `unknown engine type; one of ${ENGINE_TYPES.join(', ')}` });
    return z.NEVER;
  }
  return t;
});
const hostName = z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash and underscore');

export const hostFields = {
  address: z.string().min(1).max(255),
  username: z.string().max(64).nullish(),
  password: z.string().max(1024).nullish(),
  private_key: z.string().max(16384).nullish(),
  tls_key: z.string().max(16384).nullish(),
  system_path: z.string().max(255).nullish(),
  images_path: z.string().max(255).nullish(),
  launch_path: z.string().max(255).nullish(),
  nat_port_start: z.number().int().min(1).max(65535).nullish(),
  nat_port_end: z.number().int().min(1).max(65535).nullish(),
  public_addresses: z.array(z.string().max(255)).max(64).optional(),
  ip_pools: z.array(ipPoolSchema).max(32).optional(),
  plans: z.array(z.record(z.string(), z.unknown())).max(64).optional(),
  options: z.record(z.string(), z.unknown()).optional(),
  instance_limit: z.number().int().min(0).max(100000).optional(),
  weight: z.number().int().min(1).max(1000).optional(),
  enabled: z.boolean().optional(),
  use_agent: z.boolean().optional(),
  allowed_registries: z.array(z.string().trim().toLowerCase().regex(/^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:]+\])(?::[0-9]{1,5})?$/, 'a registry host such as docker.io, ghcr.io or registry.example.com:5000'))
    .max(32).nullable().optional().describe('Docker hosts: the registries instances\' images may come from (null: the platform default, IDCFLOW_DOCKER_REGISTRIES)'),
};
const portRange = (b: { nat_port_start?: number | null; nat_port_end?: number | null }) => !(b.nat_port_start && b.nat_port_end && b.nat_port_start > b.nat_port_end);
export const createHostBody = z.object({ name: hostName, engine_type: engineType, ...hostFields }).refine(portRange, { message: 'nat_port_start must not exceed nat_port_end', path: ['nat_port_start'] });
export const updateHostBody = z.object({ engine_type: engineType.optional(), ...hostFields, address: hostFields.address.optional() }).refine(portRange, { message: 'nat_port_start must not exceed nat_port_end', path: ['nat_port_start'] });
export type CreateHostBody = z.infer<typeof createHostBody>;
export type UpdateHostBody = z.infer<typeof updateHostBody>;

export const hostSchema = z.object({
  id: z.number(), name: z.string(), engine_type: z.string(), enabled: z.boolean(),
  address: z.string().optional(), username: z.string().nullable().optional(), has_password: z.boolean().optional(), has_private_key: z.boolean().optional(), has_tls_key: z.boolean().optional(),
  system_path: z.string().nullable().optional(), images_path: z.string().nullable().optional(), launch_path: z.string().nullable().optional(),
  nat_port_start: z.number().nullable().optional(), nat_port_end: z.number().nullable().optional(),
  public_addresses: z.array(z.string()), ip_pools: z.array(z.record(z.string(), z.unknown())).optional(), plans: z.array(z.record(z.string(), z.unknown())),
  options: z.record(z.string(), z.unknown()).optional(), instance_limit: z.number(), weight: z.number().optional(), use_agent: z.boolean(),
  allowed_registries: z.array(z.string()).nullable().optional(),
  agent: z.object({
    task_queue: z.string(), online: z.boolean(), last_seen: z.string().nullable(), version: z.string().nullable(),
    version_problem: z.string().nullable().describe('Why the platform refuses this host\'s agent version (the agent is then not sent any work), or null'),
  }),
  instances: z.number(), status: z.record(z.string(), z.unknown()).nullable(), status_at: z.string().nullable(),
  created_at: z.string().nullable(), updated_at: z.string().nullable(),
});

export const instanceSchema = z.object({
  id: z.number(), uuid: z.string(), name: z.string(), host: z.object({ id: z.number(), name: z.string(), engine_type: z.string() }),
  os_name: z.string().nullable(), image: z.string().nullable(), command: z.array(z.string()).nullable(),
  cpu: z.number(), ram_mb: z.number(), disk_gb: z.number(), nics: z.array(z.record(z.string(), z.unknown())),
  owner_id: z.number().nullable(), owners: z.array(z.string()), state: z.string(), origin: z.string(), engine_ref: z.string().nullable(),
  has_password: z.boolean(), ssh_keys: z.array(z.string()), usage: z.record(z.string(), z.unknown()).nullable(), usage_at: z.string().nullable(),
  last_error: z.record(z.string(), z.unknown()).nullable(), created_at: z.string().nullable(), updated_at: z.string().nullable(),
});

const uuidField = platformName;
export const createInstanceBody = z.object({
  uuid: uuidField.optional(),
  name: z.string().min(1).max(128),
  host_id: dbIdValue.optional(),
  host: z.string().max(64).optional(),
  engine_type: engineType.optional(),
  os_name: z.string().max(255).optional(),
  image: imageReference.optional(),
  command: z.array(z.string().max(1024)).max(64).optional(),
  cpu: z.number().int().min(1).max(256).default(1),
  ram_mb: z.number().int().min(16).max(4194304).default(512),
  disk_gb: z.number().int().min(0).max(65536).default(10),
  nics: z.array(nicSchema).max(8).optional(),
  password: z.string().min(6).max(128).optional(),
  ssh_keys: z.array(z.string().max(16384).superRefine((k, ctx) => { const p = sshPublicKeyProblem(k); if (p) ctx.addIssue({ code: 'custom', message: p }); }).transform((k) => k.trim()))
    .max(32).optional().describe('OpenSSH public keys the guest accepts (libvirt_qemu: written into the cloud-init seed)'),
  owner_id: dbIdValue.optional(),
});
export type CreateInstanceBody = z.infer<typeof createInstanceBody>;
export const updateInstanceBody = z.object({
  name: z.string().min(1).max(128).optional(),
  cpu: z.number().int().min(1).max(256).optional(),
  ram_mb: z.number().int().min(16).max(4194304).optional(),
  disk_gb: z.number().int().min(0).max(65536).optional(),
  image: createInstanceBody.shape.image,
  os_name: z.string().max(255).optional(),
}).refine((b) => Object.values(b).some((v) => v !== undefined), 'give at least one field to change');
export type UpdateInstanceBody = z.infer<typeof updateInstanceBody>;
export const powerBody = z.object({ action: z.enum(POWER_ACTIONS) });
export const passwordBody = z.object({ password: z.string().min(6).max(128).regex(/^[^\n:]*$/, 'may not contain newlines or colons') });
export const listInstancesQuery = z.object({
  host_id: dbId.optional(),
  state: z.enum(INSTANCE_STATES).optional(),
  owner_id: dbId.optional(),
  search: z.string().max(128).optional(),
});
export const usageReport = z.object({
  vm_uuid: z.string().min(1).max(64),
  token: z.string().max(256).optional(),
  cpu_usage: z.number().min(0).max(100000).optional(),
  mem_usage: z.number().min(0).optional(),
  disk_usage: z.number().min(0).optional(),
}).passthrough();
const quotaLimit = z.number().int().min(0).max(2_147_483_647);
export const quotaBody = z.object({ cpu: quotaLimit, ram_mb: quotaLimit, disk_gb: quotaLimit, instances: quotaLimit });
export const lbBody = z.object({ strategy: z.enum(PLACEMENT_STRATEGIES).optional(), node_weights: z.record(z.string(), z.number().positive().max(1000)).optional() });

/** A base image to download into a libvirt host's image_dir. */
export const imageName = z.string().regex(IMAGE_NAME, 'a file name without extension: letters, digits, dot, dash, underscore, not starting with a dot')
  .refine((n) => !n.includes('..'), 'may not contain ..');
export const uploadImageBody = z.object({
  name: imageName,
  url: z.url({ protocol: /^https?$/ }).max(2000).describe('Where the host downloads the image from (http or https), streamed to disk'),
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hexadecimal digits').describe('The SHA-256 of the file: the download is refused unless it matches'),
  format: z.enum(IMAGE_FORMATS).default('qcow2').describe('qcow2 (stored as <name>.qcow2) or raw (<name>.img); checked with qemu-img'),
});
export const imageSchema = z.object({
  name: z.string(), file: z.string(), format: z.enum(IMAGE_FORMATS), size_bytes: z.number(), sha256: z.string(), modified_at: z.string(), kernel_boot: z.boolean(),
  instances: z.number().describe('Instances recorded on this host with this image'),
});
