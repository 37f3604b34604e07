import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import * as tar from 'tar';
import Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/activity';
import type { PowerAction } from '../../../shared/compute/catalogue';
import type { EngineDriver, TerminalSession } from './types';
import type { ConsoleAccess, EngineInstance, HostStats, InstanceFile, InstanceSpec, InstanceStats } from '../../../shared/compute/contracts';
import { containerName, LABELS, tenantNetworkName } from './types';
import { faultPoint } from '../../platform/fault-injection';
import { engineFailure, PID_MARKER, readPidLine, stateOf, statusCode, type DockerEndpoint, dockerOptions } from './docker-connection';

export { dockerOptions, type DockerEndpoint };

const ASIDE = '.replaced';

const specHash = (spec: InstanceSpec) => crypto.createHash('sha256').update(JSON.stringify([spec.image, spec.command, spec.cpu, spec.ramMb, ...(spec.ports?.length ? [spec.ports] : [])])).digest('hex').slice(0, 16);

/** Docker's ExposedPorts and PortBindings for the ports a spec publishes. */
function publishing(spec: InstanceSpec) {
  const ports = spec.ports ?? [];
  if (!ports.length) return { exposed: undefined, bindings: undefined };
  const key = (p: { container: number; protocol: string }) => `${p.container}/${p.protocol}`;
  return {
    exposed: Object.fromEntries(ports.map((p) => [key(p), {}])),
    bindings: Object.fromEntries(ports.map((p) => [key(p), [{ HostPort: String(p.host) }]])),
  };
}

/** Drives any Docker Engine API endpoint (Docker, or Podman's compatible API) with dockerode. Instances are containers. */
export class DockerDriver implements EngineDriver {
  readonly type = 'docker';
  private readonly docker: Docker;
  /** Tenant networks known to exist on this engine (made or found by this driver). */
  private readonly networks = new Set<string>();

  constructor(private readonly ep: DockerEndpoint) {
    this.docker = new Docker(dockerOptions(ep));
  }

  private async inspect(ref: string): Promise<Docker.ContainerInspectInfo | null> {
    try {
      return await this.docker.getContainer(ref).inspect();
    } catch (err) {
      // Podman answers 500 "no such container" for one being removed.
      if (statusCode(err) === 404 || /no such container/i.test((err as Error).message)) return null;
      throw engineFailure('inspect', err);
    }
  }

  private view(info: Docker.ContainerInspectInfo): EngineInstance {
    const labels = info.Config?.Labels ?? {};
    const nets = Object.values(info.NetworkSettings?.Networks ?? {});
    const name = info.Name.replace(/^\//, '');
    return {
      ref: name,
      uuid: labels[LABELS.uuid] ?? name,
      name: labels[LABELS.name] ?? name,
      state: stateOf(info.State),
      image: info.Config?.Image ?? null,
      ip4: nets.find((n) => n.IPAddress)?.IPAddress || (info.NetworkSettings as { IPAddress?: string } | undefined)?.IPAddress || null,
      mac: nets.find((n) => n.MacAddress)?.MacAddress || null,
      addresses: nets.flatMap((n) => [n.IPAddress, n.GlobalIPv6Address]).filter((a): a is string => Boolean(a)),
      cpu: info.HostConfig?.NanoCpus ? info.HostConfig.NanoCpus / 1e9 : null,
      ramMb: info.HostConfig?.Memory ? Math.round(info.HostConfig.Memory / 1048576) : null,
      managed: labels[LABELS.managed] === 'true',
    };
  }

  /**
   * The network a container of `owner` joins: the host's own network when one is configured, else the tenant's network
   * `idcflow-u<owner>` (made on first use, idempotently; isolated from other networks where the engine offers it, as
   * Podman's `isolate`), so tenants' containers never share a segment. Tenant networks are left in place when they
   * empty: they cost nothing, and removing one would race a create joining it.
   */
  private async networkFor(owner: number | null | undefined): Promise<string | null> {
    if (this.ep.network) return this.ep.network;
    if (this.ep.tenantNetworks === false || owner === null || owner === undefined) return null;
    const name = tenantNetworkName(owner);
    if (this.networks.has(name)) return name;
    try {
      await this.docker.createNetwork({
        Name: name, Driver: 'bridge', CheckDuplicate: true, Options: { isolate: 'true' },
        Labels: { [LABELS.managed]: 'true', [LABELS.owner]: String(owner) },
      });
    } catch (err) {
      // Made by an earlier attempt or a concurrent create: Docker answers 409, Podman 409 or 500 "network already exists".
      if (statusCode(err) !== 409 && !/already exists|already in use/i.test((err as Error).message)) throw engineFailure(`create network ${name}`, err);
    }
    this.networks.add(name);
    return name;
  }

  private async mustInspect(ref: string) {
    const info = await this.inspect(ref);
    if (!info) throw ApplicationFailure.nonRetryable(`Docker: no container ${ref}`, 'RESOURCE_NOT_FOUND');
    return info;
  }

  private async mustBeRunning(ref: string, why: string) {
    const info = await this.mustInspect(ref);
    if (stateOf(info.State) !== 'running') throw ApplicationFailure.nonRetryable(`Docker: ${ref} must be running ${why}`, 'CONFLICT');
    return info;
  }

  async create(spec: InstanceSpec): Promise<EngineInstance> {
    return this.createAs(containerName(spec.uuid), spec);
  }

  /** Creates the container of `spec` under another name than its own (a replacement being prepared beside the original). */
  async createAs(name: string, spec: InstanceSpec): Promise<EngineInstance> {
    await this.ensureCreated(name, spec);
    return this.view(await this.mustInspect(name));
  }

  /** Create, start, and the container as it runs: the raw calls and no more (create → start → inspect). */
  async createRunning(spec: InstanceSpec): Promise<EngineInstance> {
    const name = containerName(spec.uuid);
    await this.ensureCreated(name, spec);
    await faultPoint('engineCreateRunning.created');
    try {
      await this.docker.getContainer(name).start();
    } catch (err) {
      // 304: running already (a retry); anything else (a paused container of an earlier attempt…) takes the full power path.
      if (statusCode(err) !== 304) return this.power(name, 'start');
    }
    return this.view(await this.mustInspect(name));
  }

  /**
   * Makes the container unless it exists, with its files. Created first, not looked up first: a retry after a crash finds
   * the container the first attempt made when the engine refuses the name (409).
   */
  private async ensureCreated(name: string, spec: InstanceSpec): Promise<void> {
    const image = spec.image;
    if (!image) throw ApplicationFailure.nonRetryable('Docker: an image is required', 'VALIDATION_ERROR');
    const nic = spec.nics[0];
    const network = await this.networkFor(spec.owner);
    // A pool address is set only on the host's own network (the operator matched its subnet to the pools); a tenant's network numbers its containers itself.
    const staticIp = this.ep.network && nic?.ip4 ? { [this.ep.network]: { IPAMConfig: { IPv4Address: nic.ip4 } } } : undefined;
    const published = publishing(spec);
    const create = () => this.docker.createContainer({
      name,
      ...(published.exposed ? { ExposedPorts: published.exposed } : {}),
      Image: image,
      ...(spec.command?.length ? { Cmd: spec.command } : {}),
      Hostname: spec.uuid.slice(0, 63),
      Labels: { [LABELS.managed]: 'true', [LABELS.uuid]: spec.uuid, [LABELS.name]: spec.name, [LABELS.spec]: specHash(spec), ...(this.ep.hostName ? { [LABELS.host]: this.ep.hostName } : {}) },
      // A MAC only an admin placed, and only on the host's own network (a tenant's is the engine's).
      ...(nic?.mac && this.ep.network ? { MacAddress: nic.mac } : {}),
      HostConfig: {
        NanoCpus: Math.round(spec.cpu * 1e9),
        Memory: spec.ramMb * 1048576,
        ...(network ? { NetworkMode: network } : {}),
        // No raw sockets by default: a container cannot forge frames or packets with another's addresses.
        ...(this.ep.allowNetRaw ? {} : { CapDrop: ['NET_RAW'] }),
        ...(published.bindings ? { PortBindings: published.bindings } : {}),
      },
      ...(staticIp ? { NetworkingConfig: { EndpointsConfig: staticIp } } : {}),
    });
    try {
      await create().catch(async (err: unknown) => {
        if (statusCode(err) !== 404) throw err;
        await this.pull(image); // the host does not have the image yet
        await create();
      });
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      // Made by an earlier attempt: Docker answers 409, Podman 500 "the container name … is already in use".
      if (statusCode(err) !== 409 && !/already in use/i.test((err as Error).message)) throw engineFailure('create', err);
    }
    await this.putFiles(name, spec.files);
  }

  /**
   * Writes the spec's files into the container (created, not yet started) as one archive. The files are staged in a
   * private temporary directory, removed at once; writing them again is harmless.
   */
  private async putFiles(name: string, files: InstanceFile[] | undefined): Promise<void> {
    if (!files?.length) return;
    const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-files-'));
    try {
      for (const f of files) {
        const rel = path.posix.normalize(f.path).replace(/^\/+/, '');
        if (!rel || rel.startsWith('..')) throw ApplicationFailure.nonRetryable(`Docker: bad file path ${f.path}`, 'VALIDATION_ERROR');
        fs.mkdirSync(path.join(stage, path.dirname(rel)), { recursive: true, mode: 0o755 });
        fs.writeFileSync(path.join(stage, rel), f.content ?? '', { mode: f.mode ?? 0o644 });
      }
      const tops = [...new Set(files.map((f) => path.posix.normalize(f.path).replace(/^\/+/, '').split('/')[0]))];
      const archive = tar.c({ cwd: stage, portable: true, sync: false }, tops);
      await this.docker.getContainer(name).putArchive(archive as unknown as NodeJS.ReadableStream, { path: '/' });
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      throw engineFailure('put files', err);
    } finally {
      fs.rmSync(stage, { recursive: true, force: true });
    }
  }

  /** Pulls an image the host lacks, from the registries the engine is configured (and logged in) for. */
  private async pull(image: string): Promise<void> {
    try {
      const stream = await this.docker.pull(image);
      // Engines report a failed pull inside the progress stream, not always as an error of the call.
      const events = await new Promise<Array<{ error?: string; errorDetail?: { message?: string } }>>((resolve, reject) => {
        this.docker.modem.followProgress(stream, (err: Error | null, out: Array<{ error?: string }>) => (err ? reject(err) : resolve(out ?? [])));
      });
      const failed = events.find((e) => e.error || e.errorDetail);
      if (failed) throw new Error(failed.error ?? failed.errorDetail?.message ?? 'pull failed');
      await this.docker.getImage(image).inspect();
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`Docker: image ${image} is not on the host and could not be pulled: ${(err as Error).message}`.slice(0, 1000), 'VALIDATION_ERROR');
    }
  }

  /**
   * Containers cannot change image, command or limits in place: recreate under the same name. Safe to repeat after a crash at
   * any point: the container is first renamed aside (`<ref>.replaced`) and removed only once its replacement exists, so a retry
   * finishes the swap, and an update back to the aside container's spec (the undo) puts it back. `running`: the power state to
   * end in, as it was before the change (default: the container's current one).
   */
  async update(ref: string, spec: InstanceSpec, running?: boolean): Promise<EngineInstance> {
    const aside = `${ref}${ASIDE}`;
    const current = await this.inspect(ref);
    let old = await this.inspect(aside);
    if (!current && !old) throw ApplicationFailure.nonRetryable(`Docker: no container ${ref}`, 'RESOURCE_NOT_FOUND');
    const wanted = (i: Docker.ContainerInspectInfo) => i.Config?.Labels?.[LABELS.spec] === specHash(spec) && i.Config?.Labels?.[LABELS.name] === spec.name;
    running ??= stateOf((old ?? current)!.State) === 'running';
    if (old && wanted(old)) {
      if (current) await this.delete(ref); // the replacement of an update being undone
      await this.rename(aside, ref);
      old = null;
    } else if (!current || !wanted(current)) {
      if (current && old) await this.delete(ref); // a replacement made for another spec
      else if (current) {
        await this.rename(ref, aside);
        old = current;
      }
      await faultPoint('engineUpdate.aside');
      await this.createAs(ref, { ...spec, image: spec.image ?? old!.Config?.Image ?? null });
    }
    if (old) {
      await this.delete(aside);
      await faultPoint('engineUpdate.swap');
    }
    const now = await this.mustInspect(ref);
    return running && stateOf(now.State) !== 'running' ? this.power(ref, 'start') : this.view(now);
  }

  async rename(from: string, to: string): Promise<void> {
    try {
      await this.docker.getContainer(from).rename({ name: to });
    } catch (err) {
      throw engineFailure('rename', err);
    }
  }

  async delete(ref: string): Promise<boolean> {
    try {
      await this.docker.getContainer(ref).remove({ force: true, v: true });
      return true;
    } catch (err) {
      if (statusCode(err) === 404) return false;
      throw engineFailure('delete', err);
    }
  }

  async power(ref: string, action: PowerAction): Promise<EngineInstance> {
    const c = this.docker.getContainer(ref);
    const current = stateOf((await this.mustInspect(ref)).State);
    try {
      switch (action) {
        case 'start': if (current === 'suspended') await c.unpause(); else if (current !== 'running') await c.start(); break;
        case 'stop': case 'shutdown': if (current === 'suspended') await c.unpause(); if (current !== 'stopped') await c.stop({ t: action === 'shutdown' ? 30 : 10 }); break;
        case 'hard_stop': if (current !== 'stopped') await c.kill(); break;
        case 'suspend': case 'pause': if (current === 'running') await c.pause(); else if (current !== 'suspended') throw ApplicationFailure.nonRetryable(`Docker: ${ref} is ${current}, not running`, 'CONFLICT'); break;
        case 'resume': if (current === 'suspended') await c.unpause(); else if (current !== 'running') throw ApplicationFailure.nonRetryable(`Docker: ${ref} is ${current}, not suspended`, 'CONFLICT'); break;
        case 'reset': await c.restart({ t: 10 }); break;
        case 'hard_reset': if (current === 'running') await c.kill(); await c.start(); break;
      }
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      // 304 "already started/stopped" is success.
      if (statusCode(err) !== 304) throw engineFailure(action, err);
    }
    return this.view(await this.mustInspect(ref));
  }

  async status(ref: string): Promise<EngineInstance | null> {
    const info = await this.inspect(ref);
    return info ? this.view(info) : null;
  }

  async stats(ref: string): Promise<InstanceStats> {
    try {
      const s = await this.docker.getContainer(ref).stats({ stream: false });
      const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
      const sysDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
      const cpus = s.cpu_stats?.online_cpus ?? 1;
      const nets = Object.values(s.networks ?? {});
      return {
        cpu_percent: sysDelta > 0 ? Math.round((cpuDelta / sysDelta) * cpus * 10000) / 100 : 0,
        mem_used_mb: s.memory_stats?.usage != null ? Math.round(s.memory_stats.usage / 1048576) : null,
        mem_limit_mb: s.memory_stats?.limit != null ? Math.round(s.memory_stats.limit / 1048576) : null,
        net_rx_bytes: nets.reduce((t, n) => t + (n.rx_bytes ?? 0), 0),
        net_tx_bytes: nets.reduce((t, n) => t + (n.tx_bytes ?? 0), 0),
        pids: s.pids_stats?.current ?? null,
      };
    } catch (err) {
      throw engineFailure('stats', err);
    }
  }

  async list(): Promise<EngineInstance[]> {
    let containers: Docker.ContainerInfo[];
    try {
      containers = await this.docker.listContainers({ all: true });
    } catch (err) {
      throw engineFailure('list', err);
    }
    const mine = (c: Docker.ContainerInfo) => !c.Labels?.[LABELS.host] || !this.ep.hostName || c.Labels[LABELS.host] === this.ep.hostName;
    const nameOf = (c: Docker.ContainerInfo) => (c.Names?.[0] ?? c.Id).replace(/^\//, '');
    // A container set aside by an update in progress is still its instance's, not one more instance.
    return containers.filter((c) => mine(c) && !nameOf(c).endsWith(ASIDE)).map((c) => {
      const name = nameOf(c);
      const labels = c.Labels ?? {};
      const nets = Object.values(c.NetworkSettings?.Networks ?? {});
      const net = nets[0];
      return {
        ref: name, uuid: labels[LABELS.uuid] ?? name, name: labels[LABELS.name] ?? name, state: stateOf(c.State), image: c.Image ?? null,
        ip4: net?.IPAddress || null, mac: net?.MacAddress || null, cpu: null, ramMb: null, managed: labels[LABELS.managed] === 'true',
        addresses: nets.flatMap((n) => [n.IPAddress, n.GlobalIPv6Address]).filter((a): a is string => Boolean(a)),
      };
    });
  }

  /** Runs a command in the container with `input` on its stdin (secrets never go on a command line). */
  private async execWithInput(ref: string, cmd: string[], input: string): Promise<{ exitCode: number | null; output: string }> {
    const exec = await this.docker.getContainer(ref).exec({ Cmd: cmd, AttachStdin: true, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: true });
    let output = '';
    stream.on('data', (b: Buffer) => { output += b.toString('utf8'); });
    const ended = new Promise<void>((resolve) => { stream.on('end', () => resolve()); stream.on('close', () => resolve()); });
    stream.end(input);
    await Promise.race([ended, new Promise((r) => setTimeout(r, 15_000))]);
    // eslint-disable-next-line no-control-regex
    return { exitCode: (await exec.inspect()).ExitCode, output: output.replace(/[\x00-\x08]/g, '').trim().slice(0, 300) };
  }

  /** Sets root's password inside the container: chpasswd, or (busybox without it) mkpasswd + /etc/shadow. */
  async setPassword(ref: string, password: string): Promise<void> {
    if (/[\n:]/.test(password)) throw ApplicationFailure.nonRetryable('A password may not contain newlines or colons', 'VALIDATION_ERROR');
    await this.mustBeRunning(ref, 'to set a password');
    try {
      let result = await this.execWithInput(ref, ['chpasswd'], `root:${password}\n`);
      if (result.exitCode === 127 || /applet not found|not found/.test(result.output)) {
        result = await this.execWithInput(ref, ['sh', '-c', 'h=$(mkpasswd -m sha512 -P 0) && [ -n "$h" ] && sed -i "s|^root:[^:]*:|root:$h:|" /etc/shadow'], `${password}\n`);
      }
      if (result.exitCode !== 0) throw ApplicationFailure.nonRetryable(`Setting the password in ${ref} failed (exit ${result.exitCode}): ${result.output}`, 'ENGINE_ERROR');
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      throw engineFailure('exec (password)', err);
    }
  }

  /** A container's console is a shell in it, opened by the worker's console gateway (see terminal()). */
  async console(ref: string): Promise<ConsoleAccess> {
    await this.mustBeRunning(ref, 'to open a console');
    return { type: 'terminal' };
  }

  /**
   * A login shell in the container on a pseudo-terminal. The shell first prints its pid (read here, not relayed) so
   * close() can hang it up: engines keep exec'd processes alive when the client goes away.
   */
  async terminal(ref: string): Promise<TerminalSession> {
    // Not inspected first: the engine refuses an exec in a container that does not run (409 → CONFLICT), or is gone (404).
    const container = this.docker.getContainer(ref);
    let stream: Duplex;
    let exec: Docker.Exec;
    try {
      exec = await container.exec({
        Cmd: ['/bin/sh', '-c', `echo "${PID_MARKER}$$"; command -v bash >/dev/null 2>&1 && exec bash -l || exec sh -l`],
        AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: true, Env: ['TERM=xterm-256color'],
      });
      stream = await exec.start({ hijack: true, stdin: true, Tty: true });
    } catch (err) {
      // Docker answers 409 for a container that does not run, Podman 500 "container state improper".
      if (/state improper|is not running|is paused/i.test((err as Error).message)) throw ApplicationFailure.nonRetryable(`Docker: ${ref} must be running to open a console`, 'CONFLICT');
      throw engineFailure('exec (console)', err);
    }
    const pid = await readPidLine(stream).catch((err: Error) => {
      stream.destroy();
      throw ApplicationFailure.nonRetryable(`Docker: the console shell in ${ref} did not start: ${err.message}`, 'ENGINE_ERROR');
    });
    return {
      id: String(pid),
      stream,
      resize: async (cols, rows) => { await exec.resize({ w: cols, h: rows }); },
      close: async () => {
        stream.end();
        stream.destroy();
        await this.hangUpTerminal(ref, String(pid));
      },
    };
  }

  async hangUpTerminal(ref: string, id: string): Promise<void> {
    if (!/^\d+$/.test(id)) return;
    try {
      const hangup = await this.docker.getContainer(ref).exec({ Cmd: ['/bin/sh', '-c', `kill -HUP ${id} 2>/dev/null; sleep 3; kill -KILL ${id} 2>/dev/null; true`] });
      await hangup.start({ Detach: true });
    } catch {
      // The container may have stopped meanwhile: then so has the shell.
    }
  }

  async hostStats(): Promise<HostStats> {
    try {
      const [info, version] = await Promise.all([this.docker.info(), this.docker.version()]);
      return {
        source: 'docker-engine-api', cpu_count: info.NCPU ?? null, cpu_percent: null, load_average: null,
        mem_total_mb: info.MemTotal ? Math.round(info.MemTotal / 1048576) : null, mem_used_mb: null, disk_total_gb: null, disk_used_gb: null,
        instances_total: info.Containers ?? null, instances_running: info.ContainersRunning ?? null, engine_version: version.Version ?? null,
        notes: ['The Docker Engine API reports no host CPU, memory use or disk figures; run the host agent for them'],
      };
    } catch (err) {
      throw engineFailure('info', err);
    }
  }
}
