import crypto from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { stateAfter, type PowerAction } from '../../../shared/compute/catalogue';
import type { EngineDriver } from './types';
import type { ConsoleAccess, EngineInstance, HostStats, InstanceSpec, InstanceStats } from '../../../shared/compute/contracts';
import { containerName } from './types';

export interface SimulatorOptions {
  latency_ms?: number;
  fail_actions?: string[];
  fail_rate?: number;
  cpu?: number;
  ram_mb?: number;
  disk_gb?: number;
}

interface SimInstance extends EngineInstance {
  diskGb: number;
  passwordHash: string | null;
  createdAt: number;
}

/** Simulated engines' state, per host, in this process's memory: a simulator has no real infrastructure behind it. */
const hosts = new Map<string, Map<string, SimInstance>>();

/** Seeds an instance "found" on a simulated host, for scan demos and tests (the simulator's equivalent of a VM made by hand). */
export function simulatorSeed(hostKey: string, inst: { ref: string; name: string; state?: EngineInstance['state'] }) {
  const store = hosts.get(hostKey) ?? new Map<string, SimInstance>();
  hosts.set(hostKey, store);
  store.set(inst.ref, {
    ref: inst.ref, uuid: inst.ref, name: inst.name, state: inst.state ?? 'running', image: 'simulated', ip4: null, mac: null, cpu: 1, ramMb: 512,
    managed: false, diskGb: 10, passwordHash: null, createdAt: Date.now(),
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An honest in-process engine for demos and load tests: configurable latency and failure injection; nothing real is created. */
export class SimulatorDriver implements EngineDriver {
  readonly type = 'simulator';
  private readonly store: Map<string, SimInstance>;

  constructor(private readonly hostKey: string, private readonly opts: SimulatorOptions) {
    this.store = hosts.get(hostKey) ?? new Map();
    hosts.set(hostKey, this.store);
  }

  private async call(action: string) {
    if (this.opts.latency_ms) await sleep(this.opts.latency_ms);
    if (this.opts.fail_actions?.includes(action)) {
      throw ApplicationFailure.nonRetryable(`Simulator: injected failure on '${action}' (host option fail_actions)`, 'ENGINE_ERROR');
    }
    if (this.opts.fail_rate && Math.random() < this.opts.fail_rate) throw new Error(`Simulator: random injected failure on '${action}' (fail_rate ${this.opts.fail_rate})`);
  }

  private get(ref: string): SimInstance {
    const inst = this.store.get(ref);
    if (!inst) throw ApplicationFailure.nonRetryable(`Simulator: no instance ${ref} on this host`, 'RESOURCE_NOT_FOUND');
    return inst;
  }

  private view(i: SimInstance): EngineInstance {
    const { diskGb: _d, passwordHash: _p, createdAt: _c, ...rest } = i;
    return { ...rest };
  }

  async create(spec: InstanceSpec): Promise<EngineInstance> {
    await this.call('create');
    const ref = containerName(spec.uuid);
    const existing = this.store.get(ref);
    if (existing) return this.view(existing);
    const mac = spec.nics[0]?.mac ?? `02:00:${crypto.createHash('sha256').update(spec.uuid).digest('hex').slice(0, 8).match(/../g)!.join(':')}`;
    const inst: SimInstance = {
      ref, uuid: spec.uuid, name: spec.name, state: 'stopped', image: spec.image ?? spec.osName, ip4: spec.nics[0]?.ip4 ?? null, mac,
      // The simulator "configures" the addresses it was given (the host's pools, an admin's placement), as a VM's cloud-init would.
      addresses: spec.nics.flatMap((n) => [n.ip4, n.ip6]).filter((a): a is string => Boolean(a)),
      cpu: spec.cpu, ramMb: spec.ramMb, managed: true, diskGb: spec.diskGb,
      passwordHash: spec.password ? crypto.createHash('sha256').update(spec.password).digest('hex') : null, createdAt: Date.now(),
    };
    this.store.set(ref, inst);
    return this.view(inst);
  }

  async update(ref: string, spec: InstanceSpec): Promise<EngineInstance> {
    await this.call('update');
    const inst = this.get(ref);
    Object.assign(inst, { name: spec.name, cpu: spec.cpu, ramMb: spec.ramMb, diskGb: spec.diskGb, image: spec.image ?? spec.osName });
    return this.view(inst);
  }

  async delete(ref: string): Promise<boolean> {
    await this.call('delete');
    return this.store.delete(ref);
  }

  async power(ref: string, action: PowerAction): Promise<EngineInstance> {
    await this.call(action === 'start' ? 'start' : action === 'stop' || action === 'shutdown' || action === 'hard_stop' ? 'stop' : 'power');
    const inst = this.get(ref);
    if ((action === 'resume') && inst.state !== 'suspended') throw ApplicationFailure.nonRetryable(`Simulator: ${ref} is ${inst.state}, not suspended`, 'CONFLICT');
    if ((action === 'suspend' || action === 'pause') && inst.state !== 'running') throw ApplicationFailure.nonRetryable(`Simulator: ${ref} is ${inst.state}, not running`, 'CONFLICT');
    inst.state = stateAfter(action);
    return this.view(inst);
  }

  async status(ref: string): Promise<EngineInstance | null> {
    await this.call('status');
    const inst = this.store.get(ref);
    return inst ? this.view(inst) : null;
  }

  async stats(ref: string): Promise<InstanceStats> {
    await this.call('status');
    const inst = this.get(ref);
    const running = inst.state === 'running';
    return { cpu_percent: running ? 1 : 0, mem_used_mb: running ? Math.round((inst.ramMb ?? 0) / 4) : 0, mem_limit_mb: inst.ramMb, net_rx_bytes: 0, net_tx_bytes: 0, pids: running ? 1 : 0 };
  }

  async list(): Promise<EngineInstance[]> {
    await this.call('list');
    return [...this.store.values()].map((i) => this.view(i));
  }

  async setPassword(ref: string, password: string): Promise<void> {
    await this.call('password');
    this.get(ref).passwordHash = crypto.createHash('sha256').update(password).digest('hex');
  }

  async console(ref: string): Promise<ConsoleAccess> {
    this.get(ref);
    return { type: 'simulator', url: `simulator://console/${encodeURIComponent(this.hostKey)}/${encodeURIComponent(ref)}`, expires_at: null };
  }

  async hostStats(): Promise<HostStats> {
    await this.call('status');
    const all = [...this.store.values()];
    const running = all.filter((i) => i.state === 'running');
    return {
      source: 'simulator', cpu_count: this.opts.cpu ?? 16, cpu_percent: Math.min(100, running.reduce((s, i) => s + (i.cpu ?? 0), 0) * 100 / (this.opts.cpu ?? 16)),
      load_average: null, mem_total_mb: this.opts.ram_mb ?? 65536, mem_used_mb: running.reduce((s, i) => s + (i.ramMb ?? 0), 0),
      disk_total_gb: this.opts.disk_gb ?? 2000, disk_used_gb: all.reduce((s, i) => s + i.diskGb, 0),
      instances_total: all.length, instances_running: running.length, engine_version: 'simulator', notes: ['Simulated figures: no real host behind this engine'],
    };
  }
}
