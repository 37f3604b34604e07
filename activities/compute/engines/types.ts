import type { Duplex } from 'node:stream';
import type { PowerAction } from '../../../shared/compute/catalogue';
import type { ConsoleAccess, EngineInstance, HostStats, ImageFetch, ImageInfo, InstanceSpec, InstanceStats } from '../../../shared/compute/contracts';

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
