import type { InstanceState, Nic, PublishedPort, EngineType } from './catalogue';
import type { ImageFormat } from './images';

// The shapes compute passes between layers: the API, the runbooks, the activities and the engines.

/** What a driver needs to create an instance; names are deterministic so a retried create finds the first one. */
export interface InstanceSpec {
  uuid: string;
  name: string;
  image: string | null;
  osName: string | null;
  command: string[] | null;
  cpu: number;
  ramMb: number;
  diskGb: number;
  nics: Nic[];
  /** Ports published on the host (docker); none when absent. */
  ports?: PublishedPort[];
  /** The owning user's id, written into VM metadata so a scan can tell whose a VM is. */
  owner?: number | null;
  /** Only inside activities, never in workflow histories. */
  password?: string | null;
  /** OpenSSH public keys the guest accepts (libvirt: the cloud-init seed's ssh_authorized_keys). */
  sshKeys?: string[];
  /** Files written into the container before it starts (docker); secret contents travel sealed. */
  files?: InstanceFile[];
}

/** A file for an instance: `content`, or `contentSealed` (sealed with the master key, opened only inside the engine call). */
export interface InstanceFile {
  path: string;
  mode?: number;
  content?: string;
  contentSealed?: string;
}

/** An instance as the engine sees it. `ref` is how the engine names it (a container name, a VM id). */
export interface EngineInstance {
  ref: string;
  uuid: string;
  name: string;
  state: InstanceState;
  image: string | null;
  ip4: string | null;
  mac: string | null;
  /** Every address the engine reports for the instance (all NICs, both families), when it knows more than `ip4`. */
  addresses?: string[];
  cpu: number | null;
  ramMb: number | null;
  /** Created by idcflow (carries its labels), as opposed to found on the engine. */
  managed: boolean;
  /** The owner and disk size the engine recorded (libvirt: idcflow's metadata in the domain XML), for a scan's import. */
  owner?: number | null;
  diskGb?: number | null;
}

export interface InstanceStats {
  cpu_percent: number | null;
  mem_used_mb: number | null;
  mem_limit_mb: number | null;
  net_rx_bytes: number | null;
  net_tx_bytes: number | null;
  pids: number | null;
  cpu_time_ns?: number | null;
  disk_read_bytes?: number | null;
  disk_write_bytes?: number | null;
}

export interface HostStats {
  source: string;
  cpu_count: number | null;
  cpu_percent: number | null;
  load_average: number[] | null;
  mem_total_mb: number | null;
  mem_used_mb: number | null;
  disk_total_gb: number | null;
  disk_used_gb: number | null;
  instances_total: number | null;
  instances_running: number | null;
  engine_version: string | null;
  notes: string[];
}

/** How a console is reached: a URL of the engine's own, or a terminal or VNC screen through the worker's console gateway. */
export type ConsoleAccess = { type: 'terminal' | 'vnc' } | { type: string; url: string; expires_at: string | null };

/** A base image in a host's image_dir, as the images endpoints show it. */
export interface ImageInfo {
  name: string;
  file: string;
  format: ImageFormat;
  size_bytes: number;
  sha256: string;
  modified_at: string;
  /** <name>.kernel beside it: the VM boots that kernel directly (with <name>.initrd and <name>.cmdline when present). */
  kernel_boot: boolean;
}

export interface ImageFetch {
  name: string;
  url: string;
  sha256: string;
  format: ImageFormat;
  maxBytes: number;
  /** Private networks (CIDRs) the download may reach besides public addresses (IDCFLOW_OUTBOUND_ALLOW_PRIVATE of the API that asked). */
  allowPrivate?: string[];
}

/** What a client asked for when creating an instance: the spec without its secrets (the password travels sealed), where and for whom. */
export interface InstanceRequest extends Omit<InstanceSpec, 'owner' | 'password'> {
  hostId: number | null;
  engineType: EngineType | null;
  ownerId: number | null;
}

export interface HostRoute {
  id: number;
  name: string;
  engineType: string;
  useAgent: boolean;
  /** Heartbeating, and running a version the platform accepts. */
  agentOnline: boolean;
  agentLastSeen: string | null;
}

export interface InstanceSnapshot {
  id: number;
  uuid: string;
  name: string;
  hostId: number;
  hostName: string;
  ref: string | null;
  state: InstanceState;
  ownerId: number | null;
  spec: InstanceSpec;
}

/** Bounds every compute workflow gets from the API's configuration. */
export interface ComputeBounds {
  agentWaitSeconds: number;
  instanceWaitSeconds: number;
}
