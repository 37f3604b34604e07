/** Pure compute vocabulary shared by the API, workflows and activities: engines, power actions, states, placement, IPv4 pools. */
import { compareVersions } from './agent-version';

export const ENGINE_TYPES = ['docker', 'simulator', 'vmware_workstation', 'vmware_esxi', 'proxmox', 'libvirt_qemu', 'lxd', 'hyperv', 'virtualbox'] as const;
export type EngineType = (typeof ENGINE_TYPES)[number];

export interface EngineInfo {
  type: EngineType;
  name: string;
  enabled: boolean;
  platform: string[];
  arch: string[];
  is_remote: boolean;
  /** Host `options` the driver understands. */
  options: Record<string, string>;
  messages: string[];
  /** Why a disabled engine cannot be used. */
  reason: string | null;
  /** Seed 001's names for the same engine, accepted as aliases. */
  aliases: string[];
}

const notImplemented = (what: string) => `The ${what} driver is not implemented in idcflow; hosts of this type cannot be added or driven`;

export const ENGINES: Record<EngineType, EngineInfo> = {
  docker: {
    type: 'docker', name: 'Docker Engine API (containers)', enabled: true, platform: ['linux'], arch: ['x86_64', 'aarch64'], is_remote: true,
    options: {
      network: 'Docker network to attach containers to (static IPs from the host pool are applied on it)',
      tls_ca: 'PEM CA certificate for tcp+TLS endpoints', tls_cert: 'PEM client certificate for tcp+TLS endpoints',
    },
    messages: ['address: unix:///path/docker.sock, tcp://host:2376 (TLS with tls_ca/tls_cert/tls_key), or ssh://host[:port] (user/password or private_key)', 'Works with Docker Engine and Podman\'s Docker-compatible API', 'disk_gb is recorded but not enforced by this engine', 'Console: a terminal (a login shell through exec) in a running container, through the console gateway of the worker or agent driving the host'],
    reason: null, aliases: ['DockerSetup', 'OCInterface', 'Docker'],
  },
  simulator: {
    type: 'simulator', name: 'Simulator (no real infrastructure)', enabled: true, platform: ['any'], arch: ['any'], is_remote: false,
    options: {
      latency_ms: 'Delay of every simulated engine call (default 0)',
      fail_actions: 'List of actions that always fail: create, start, stop, delete, update, password, list, status',
      fail_rate: 'Probability (0..1) that any simulated call fails',
      cpu: 'Simulated host CPU count', ram_mb: 'Simulated host memory', disk_gb: 'Simulated host disk',
    },
    messages: ['SIMULATOR: instances exist only in the memory of the worker that drives this host; for demos and load tests'],
    reason: null, aliases: ['Simulator'],
  },
  vmware_workstation: { type: 'vmware_workstation', name: 'VMware Workstation', enabled: false, platform: ['windows', 'linux'], arch: ['x86_64'], is_remote: false, options: {}, messages: [], reason: notImplemented('VMware Workstation'), aliases: ['VMWareSetup', 'VMware'] },
  vmware_esxi: { type: 'vmware_esxi', name: 'VMware ESXi / vSphere', enabled: false, platform: ['esxi'], arch: ['x86_64'], is_remote: true, options: {}, messages: [], reason: notImplemented('VMware ESXi'), aliases: ['vSphereESXi', 'ESXi'] },
  proxmox: { type: 'proxmox', name: 'Proxmox VE', enabled: false, platform: ['linux'], arch: ['x86_64'], is_remote: true, options: {}, messages: [], reason: notImplemented('Proxmox VE'), aliases: ['ProxmoxSetup', 'PromoxSetup', 'Proxmox'] },
  libvirt_qemu: {
    type: 'libvirt_qemu', name: 'libvirt / QEMU (virtual machines)', enabled: true, platform: ['linux'], arch: ['x86_64'], is_remote: true,
    options: {
      image_dir: 'Directory of base images on the host: <image>.qcow2 or <image>.img, with <image>.kernel/.initrd/.cmdline for direct kernel boot (default: the host\'s images_path, else /var/lib/idcflow/images)',
      state_dir: 'Directory of the VMs\' disks, cloud-init seeds and serial logs (default /var/lib/idcflow/instances)',
      network: 'libvirt network for NICs (else bridge, else user-mode networking)', bridge: 'Host bridge for NICs',
      accel: 'auto (KVM when a probe guest boots with it, else TCG), kvm or tcg', shutdown_seconds: 'How long stop waits for an ACPI shutdown before a hard stop (default 30)',
    },
    messages: ['address: a libvirt URI (qemu:///system, or local), driven with virsh by the agent on the host', 'Disks are qcow2 overlays on a base image, grown to disk_gb; a cloud-init NoCloud seed carries the hostname, the root password hash and the addresses', 'Console: the VM\'s VNC screen (bound to 127.0.0.1 on the host) through the console gateway, shown with noVNC', 'Password: written to the cloud-init seed, applied by the guest on its next boot'],
    reason: null, aliases: ['QEMUSetup', 'QEMU', 'libvirt'],
  },
  lxd: { type: 'lxd', name: 'LXD', enabled: false, platform: ['linux'], arch: ['x86_64', 'aarch64'], is_remote: true, options: {}, messages: [], reason: notImplemented('LXD'), aliases: ['LXContainer', 'LXDSetup', 'LXD'] },
  hyperv: { type: 'hyperv', name: 'Hyper-V', enabled: false, platform: ['windows'], arch: ['x86_64'], is_remote: true, options: {}, messages: [], reason: notImplemented('Hyper-V'), aliases: ['HyperVSetup', 'HyperV'] },
  virtualbox: { type: 'virtualbox', name: 'VirtualBox', enabled: false, platform: ['windows', 'linux', 'macos'], arch: ['x86_64'], is_remote: false, options: {}, messages: [], reason: notImplemented('VirtualBox'), aliases: ['VirtualBox', 'VBoxSetup'] },
};

/** An engine type from its idcflow name or one of seed 001's names (case-insensitive). */
export function resolveEngineType(name: string): EngineType | null {
  const lower = name.toLowerCase();
  for (const info of Object.values(ENGINES)) {
    if (info.type === lower || info.aliases.some((a) => a.toLowerCase() === lower)) return info.type;
  }
  return null;
}

/** Power actions: seed 001's document (start, stop, suspend, reset, shutdown) and the original's (hard_stop, hard_reset, pause, resume). */
export const POWER_ACTIONS = ['start', 'stop', 'shutdown', 'hard_stop', 'suspend', 'pause', 'resume', 'reset', 'hard_reset'] as const;
export type PowerAction = (typeof POWER_ACTIONS)[number];

export const INSTANCE_STATES = ['creating', 'running', 'stopped', 'suspended', 'updating', 'deleting', 'deleted', 'error', 'missing', 'unknown'] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];

/** The state a power action leads to. */
export function stateAfter(action: PowerAction): InstanceState {
  switch (action) {
    case 'stop': case 'shutdown': case 'hard_stop': return 'stopped';
    case 'suspend': case 'pause': return 'suspended';
    default: return 'running';
  }
}

export const PLACEMENT_STRATEGIES = ['round_robin', 'least_connections', 'weighted'] as const;
export type PlacementStrategy = (typeof PLACEMENT_STRATEGIES)[number];

export interface PlacementCandidate {
  id: number;
  name: string;
  /** Live instances on the host now. */
  count: number;
  weight: number;
}

/**
 * Seed 003's load-balancer strategies, for placing a new instance: round_robin (the next host after the last one
 * chosen, by id), least_connections (fewest instances), weighted (fewest instances per unit of weight; node_weights
 * by host name override the host's own weight). Ties go to the lowest id. `candidates` must be non-empty.
 */
export function choosePlacement<C extends PlacementCandidate>(strategy: PlacementStrategy, candidates: C[], state: { lastHostId: number; weights: Record<string, number> }): C {
  const byId = [...candidates].sort((a, b) => a.id - b.id);
  if (strategy === 'least_connections') return byId.reduce((a, b) => (b.count < a.count ? b : a));
  if (strategy === 'weighted') {
    const weight = (h: C) => Math.max(0.0001, state.weights[h.name] ?? h.weight ?? 1);
    return byId.reduce((a, b) => ((b.count + 1) / weight(b) < (a.count + 1) / weight(a) ? b : a));
  }
  return byId.find((h) => h.id > state.lastHostId) ?? byId[0];
}

export interface Nic {
  name: string;
  net_mode?: string;
  mac?: string | null;
  ip4?: string | null;
  ip6?: string | null;
  gateway?: string | null;
  mask?: string | null;
  dns?: string[];
}

/** A port the engine publishes on the host: `host` on every host address forwards to `container` in the instance. */
export interface PublishedPort {
  host: number;
  container: number;
  protocol: 'tcp' | 'udp';
}

export interface IpPool {
  name?: string;
  /** e.g. 10.0.0.0/24, or start/end */
  cidr?: string;
  start?: string;
  end?: string;
  gateway?: string;
  mask?: string;
  dns?: string[];
}

export function ipv4ToInt(ip: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

export const intToIpv4 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** The usable addresses of a pool, in order (network, broadcast and gateway excluded for CIDRs). */
export function poolRange(pool: IpPool): { first: number; last: number } | null {
  if (pool.cidr) {
    const [ip, bits] = pool.cidr.split('/');
    const base = ipv4ToInt(ip);
    const prefix = Number(bits);
    if (base === null || !Number.isInteger(prefix) || prefix < 8 || prefix > 32) return null;
    const size = 2 ** (32 - prefix);
    const network = base - (base % size);
    return prefix >= 31 ? { first: network, last: network + size - 1 } : { first: network + 1, last: network + size - 2 };
  }
  const first = pool.start ? ipv4ToInt(pool.start) : null;
  const last = pool.end ? ipv4ToInt(pool.end) : null;
  return first !== null && last !== null && first <= last ? { first, last } : null;
}

export function maskOf(pool: IpPool): string | null {
  if (pool.mask) return pool.mask;
  if (!pool.cidr) return null;
  const prefix = Number(pool.cidr.split('/')[1]);
  return intToIpv4(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
}

export const hostTaskQueue = (hostName: string) => `host:${hostName}`;

/** An agent is online when its last heartbeat is younger than the offline bound. */
export const agentOnline = (lastSeen: Date | string | null | undefined, offlineSeconds: number, now = Date.now()) =>
  Boolean(lastSeen && now - new Date(lastSeen).getTime() < offlineSeconds * 1000);

/**
 * An agent serves its host when it heartbeats and runs a version the platform accepts: the workers send nothing to an
 * older one (an agent from before identities still heartbeats into the database by itself).
 */
export const agentServes = (h: { agent_last_seen: Date | string | null; agent_version: string | null }, offlineSeconds: number, minVersion: string) =>
  agentOnline(h.agent_last_seen, offlineSeconds) && Boolean(h.agent_version) && compareVersions(h.agent_version!, minVersion) >= 0;

/** What every engine names the instance of a uuid (its `ref`): a container, a domain. */
export const containerName = (uuid: string) => `idcflow-${uuid}`;
