import type { Duplex } from 'node:stream';
import type { InstanceState, Nic, PowerAction, PublishedPort } from '../../../shared/compute/catalogue';
import type { ImageFetch, ImageInfo } from './libvirt-images';

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

/** An interactive shell inside an instance: bytes both ways on `stream`, a pseudo-terminal that can be resized. */
export interface TerminalSession {
  /** How the engine names this shell (docker: its pid in the container), to hang it up later if need be. */
  id: string;
  stream: Duplex;
  resize(cols: number, rows: number): Promise<void>;
  /** Ends the shell (and what runs in it), not only the connection to it. */
  close(): Promise<void>;
}

/** One driver per engine type, with the operations of seed 001's engines. Every method is safe to repeat. */
export interface EngineDriver {
  readonly type: string;
  /** Creates the instance stopped; a second call with the same uuid returns the existing one. */
  create(spec: InstanceSpec): Promise<EngineInstance>;
  /** Creates and starts the instance in fewer calls than create then power (optional: engines without it do those two). */
  createRunning?(spec: InstanceSpec): Promise<EngineInstance>;
  /** Brings the instance in line with `spec`, ending running if `running` (default: keeping its power state). */
  update(ref: string, spec: InstanceSpec, running?: boolean): Promise<EngineInstance>;
  /** Removes the instance; answers false when it was already gone. */
  delete(ref: string): Promise<boolean>;
  power(ref: string, action: PowerAction): Promise<EngineInstance>;
  /** null when the engine has no such instance. */
  status(ref: string): Promise<EngineInstance | null>;
  stats(ref: string): Promise<InstanceStats>;
  list(): Promise<EngineInstance[]>;
  /** Sets the OS password; 'next_boot' when it takes effect only at the guest's next boot (libvirt without a guest agent). */
  setPassword(ref: string, password: string): Promise<void | { applied: 'now' | 'next_boot' }>;
  console(ref: string): Promise<ConsoleAccess>;
  /** Engines whose console is a terminal (console() answers type 'terminal') open one here, for the console gateway. */
  terminal?(ref: string): Promise<TerminalSession>;
  /** Ends a shell terminal() opened, by its id, from any process (a gateway that restarted after a crash). */
  hangUpTerminal?(ref: string, id: string): Promise<void>;
  /** Engines whose console is a VNC screen (console() answers type 'vnc'): where it listens, for the gateway to proxy. */
  vncEndpoint?(ref: string): Promise<{ host: string; port: number }>;
  hostStats(): Promise<HostStats>;
  /** Engines whose images are files on the host (libvirt_qemu's image_dir): list, fetch from a URL, delete. */
  listImages?(): Promise<ImageInfo[]>;
  fetchImage?(req: ImageFetch): Promise<ImageInfo>;
  deleteImage?(name: string): Promise<boolean>;
}

export { containerName } from '../../../shared/compute/catalogue';
export const LABELS = { managed: 'io.idcflow.managed', uuid: 'io.idcflow.uuid', name: 'io.idcflow.name', spec: 'io.idcflow.spec', host: 'io.idcflow.host', owner: 'io.idcflow.owner' } as const;

/** The docker network of a tenant's containers on a host: one per owner, named deterministically so every retry finds it. */
export const tenantNetworkName = (ownerId: number) => `idcflow-u${ownerId}`;
