import fs from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import type { PowerAction } from '../../../shared/compute/catalogue';
import { acceleration, guestAgentAnswers, guestAgentSetPassword, openDir, passwordHash, run, virsh } from './libvirt-host';
import { IMAGE_NAME as SAFE_NAME } from '../../../shared/compute/images';
import { ImageDir } from './libvirt-images';
import { type ImageFetch, type ImageInfo } from '../../../shared/compute/contracts';
import { cloudInitSeed, domainXml, readDomainXml, stateOfDomain, type DomainMeta } from './libvirt-xml';
import type { EngineDriver } from './types';
import type { ConsoleAccess, EngineInstance, HostStats, InstanceSpec, InstanceStats } from '../../../shared/compute/contracts';
import { containerName } from './types';

export interface LibvirtOptions {
  image_dir?: string;
  state_dir?: string;
  network?: string;
  bridge?: string;
  accel?: 'auto' | 'kvm' | 'tcg';
  shutdown_seconds?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const invalid = (msg: string) => ApplicationFailure.nonRetryable(`libvirt: ${msg}`, 'VALIDATION_ERROR');
const conflict = (msg: string) => ApplicationFailure.nonRetryable(`libvirt: ${msg}`, 'CONFLICT');

/**
 * Virtual machines through libvirt (`virsh`, run by the agent on the host). Each VM is a domain named
 * idcflow-<uuid> with a directory <state_dir>/<name> holding its disk (a qcow2 overlay on the image, grown to
 * disk_gb), its NoCloud seed and its serial log; idcflow's metadata rides in the domain XML.
 */
export class LibvirtDriver implements EngineDriver {
  readonly type = 'libvirt_qemu';
  private readonly virsh: ReturnType<typeof virsh>;
  private readonly imageDir: string;
  private readonly stateDir: string;
  private readonly images: ImageDir;

  constructor(private readonly uri: string, private readonly opts: LibvirtOptions, private readonly hostName: string | null = null) {
    this.virsh = virsh(uri);
    this.imageDir = opts.image_dir ?? '/var/lib/idcflow/images';
    this.stateDir = opts.state_dir ?? '/var/lib/idcflow/instances';
    this.images = new ImageDir(this.imageDir);
  }

  private dirOf(ref: string) { return path.join(this.stateDir, ref); }

  /** The image's files: <name>.qcow2 (or .img, raw), and for direct kernel boot <name>.kernel, .initrd, .cmdline. */
  private async image(name: string) {
    if (!SAFE_NAME.test(name) || name.includes('..')) throw invalid(`image name ${JSON.stringify(name)} is not a file name`);
    const at = (ext: string) => path.join(this.imageDir, `${name}${ext}`);
    const exists = (p: string) => fs.access(p).then(() => true, () => false);
    const disk = (await exists(at('.qcow2'))) ? { file: at('.qcow2'), format: 'qcow2' } : (await exists(at('.img'))) ? { file: at('.img'), format: 'raw' } : null;
    if (!disk) throw invalid(`no image ${name} in ${this.imageDir} (${name}.qcow2 or ${name}.img)`);
    const kernel = (await exists(at('.kernel'))) ? at('.kernel') : null;
    const boot = kernel ? { kernel, initrd: (await exists(at('.initrd'))) ? at('.initrd') : null, cmdline: (await exists(at('.cmdline'))) ? (await fs.readFile(at('.cmdline'), 'utf8')).trim() : null } : null;
    return { disk, boot };
  }

  private async xmlOf(ref: string) {
    return readDomainXml(await this.virsh(['dumpxml', ref]));
  }

  private async stateOf(ref: string) {
    return stateOfDomain(await this.virsh(['domstate', ref]));
  }

  async status(ref: string): Promise<EngineInstance | null> {
    return (await this.inspect(ref))?.inst ?? null;
  }

  /** The domain as idcflow sees it, and the idcflow host its metadata names; null when libvirt has no such domain. */
  private async inspect(ref: string): Promise<{ inst: EngineInstance; host: string | null } | null> {
    try {
      const [xml, state] = [await this.xmlOf(ref), await this.stateOf(ref)];
      const meta = xml.meta;
      const inst: EngineInstance = {
        ref, uuid: meta?.uuid || xml.libvirtUuid || ref, name: meta?.name || xml.name, state, image: meta?.image ?? null, ip4: meta?.ip4 ?? null, mac: xml.mac,
        cpu: xml.cpu, ramMb: xml.ramMb, managed: Boolean(meta), owner: meta?.owner ?? null, diskGb: meta?.disk_gb ?? null,
      };
      return { inst, host: meta?.host ?? null };
    } catch (err) {
      if ((err as ApplicationFailure).type === 'RESOURCE_NOT_FOUND') return null;
      throw err;
    }
  }

  private async mustExist(ref: string): Promise<EngineInstance> {
    const inst = await this.status(ref);
    if (!inst) throw ApplicationFailure.nonRetryable(`libvirt: no domain ${ref}`, 'RESOURCE_NOT_FOUND');
    return inst;
  }

  private async writeSeed(dir: string, spec: { uuid: string; name: string; nics: InstanceSpec['nics']; sshKeys?: string[] }, hash: string | null) {
    const seed = cloudInitSeed({ uuid: spec.uuid, name: spec.name, passwordHash: hash, sshKeys: spec.sshKeys ?? [], nics: spec.nics });
    await fs.writeFile(path.join(dir, 'user-data'), seed.userData, { mode: 0o600 });
    await fs.writeFile(path.join(dir, 'meta-data'), seed.metaData);
    const args = ['seed.img.new', 'user-data', 'meta-data'];
    if (seed.networkConfig) {
      await fs.writeFile(path.join(dir, 'network-config'), seed.networkConfig);
      args.unshift('--network-config=network-config');
    }
    try {
      await run('cloud-localds', args.map((a) => (a.startsWith('--') ? a.replace('=', `=${dir}/`) : path.join(dir, a))), { timeoutMs: 60_000 });
    } finally {
      await fs.rm(path.join(dir, 'user-data'), { force: true });
    }
    await fs.chmod(path.join(dir, 'seed.img.new'), 0o644);
    await fs.rename(path.join(dir, 'seed.img.new'), path.join(dir, 'seed.img'));
  }

  private meta(spec: InstanceSpec): DomainMeta {
    return { uuid: spec.uuid, name: spec.name, owner: spec.owner ?? null, host: this.hostName, image: spec.image ?? spec.osName, disk_gb: spec.diskGb, ip4: spec.nics[0]?.ip4 ?? null };
  }

  private async define(ref: string, spec: InstanceSpec, libvirtUuid: string | null) {
    const dir = this.dirOf(ref);
    const { boot } = await this.image((spec.image ?? spec.osName)!);
    const network = this.opts.network ? { type: 'network' as const, source: this.opts.network } : this.opts.bridge ? { type: 'bridge' as const, source: this.opts.bridge } : { type: 'user' as const, source: null };
    const xml = domainXml({
      name: ref, libvirtUuid, accel: await acceleration(this.opts.accel), cpu: spec.cpu, ramMb: spec.ramMb, disk: path.join(dir, 'disk.qcow2'), seed: path.join(dir, 'seed.img'),
      serialLog: path.join(dir, 'serial.log'), boot, nics: spec.nics, network, meta: this.meta(spec),
    });
    await fs.writeFile(path.join(dir, 'domain.xml'), xml);
    await this.virsh(['define', path.join(dir, 'domain.xml')]);
  }

  async create(spec: InstanceSpec): Promise<EngineInstance> {
    if (!SAFE_NAME.test(spec.uuid)) throw invalid(`uuid ${JSON.stringify(spec.uuid)} cannot name a domain`);
    const ref = containerName(spec.uuid);
    const existing = await this.status(ref);
    if (existing) return existing;
    const imageName = spec.image ?? spec.osName;
    if (!imageName) throw invalid('an image is required (a file name in the host\'s image_dir)');
    const { disk } = await this.image(imageName);
    const info = JSON.parse((await run('qemu-img', ['info', '--output=json', '-f', disk.format, disk.file], { timeoutMs: 30_000 })).stdout) as { 'virtual-size': number };
    if (info['virtual-size'] > spec.diskGb * 1024 ** 3) throw invalid(`disk_gb ${spec.diskGb} is smaller than image ${imageName} (${Math.ceil(info['virtual-size'] / 1024 ** 3)} GB)`);
    const dir = this.dirOf(ref);
    try {
      await openDir(dir);
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', disk.format, '-b', disk.file, path.join(dir, 'disk.qcow2'), `${spec.diskGb}G`], { timeoutMs: 60_000 });
      await this.writeSeed(dir, spec, spec.password ? await passwordHash(spec.password) : null);
      await fs.writeFile(path.join(dir, 'nics.json'), JSON.stringify(spec.nics));
      await fs.writeFile(path.join(dir, 'ssh_keys.json'), JSON.stringify(spec.sshKeys ?? []));
      await fs.writeFile(path.join(dir, 'serial.log'), '', { flag: 'a' });
      await this.define(ref, spec, null);
    } catch (err) {
      // A create that did not define the domain leaves no files: the runbook undoes only creates that succeeded.
      if (!(await this.status(ref).catch(() => null))) await fs.rm(dir, { recursive: true, force: true });
      throw err;
    }
    return this.mustExist(ref);
  }

  async update(ref: string, spec: InstanceSpec, running?: boolean): Promise<EngineInstance> {
    const before = await this.mustExist(ref);
    const xml = await this.xmlOf(ref);
    const dir = this.dirOf(ref);
    const oldDisk = xml.meta?.disk_gb ?? 0;
    if (spec.diskGb < oldDisk) throw invalid(`a disk cannot shrink (${oldDisk} GB to ${spec.diskGb} GB)`);
    const reshape = before.cpu !== spec.cpu || before.ramMb !== spec.ramMb || spec.diskGb > oldDisk;
    const wasOn = before.state !== 'stopped';
    if (reshape && wasOn) await this.power(ref, 'stop');
    if (spec.diskGb > oldDisk) await run('qemu-img', ['resize', '-q', path.join(dir, 'disk.qcow2'), `${spec.diskGb}G`], { timeoutMs: 60_000 });
    await this.define(ref, { ...spec, owner: spec.owner ?? xml.meta?.owner ?? null }, xml.libvirtUuid);
    if ((running ?? wasOn) && (await this.stateOf(ref)) === 'stopped') await this.power(ref, 'start');
    return this.mustExist(ref);
  }

  async delete(ref: string): Promise<boolean> {
    const inst = await this.status(ref);
    if (inst) {
      if (inst.state !== 'stopped') await this.virsh(['destroy', ref]).catch((err: Error) => { if (!/not running/i.test(err.message)) throw err; });
      await this.virsh(['undefine', ref]).catch((err: ApplicationFailure) => { if (err.type !== 'RESOURCE_NOT_FOUND') throw err; });
    }
    // Only idcflow's own directory goes: an imported VM's disks are the owner's, outside state_dir.
    const dir = this.dirOf(ref);
    const hadFiles = await fs.access(dir).then(() => true, () => false);
    await fs.rm(dir, { recursive: true, force: true });
    return Boolean(inst) || hadFiles;
  }

  async power(ref: string, action: PowerAction): Promise<EngineInstance> {
    const state = (await this.mustExist(ref)).state;
    const need = (ok: boolean, what: string) => { if (!ok) throw conflict(`${ref} is ${state}, ${what}`); };
    switch (action) {
      case 'start':
        if (state === 'suspended') await this.virsh(['resume', ref]);
        else if (state === 'stopped' || state === 'error') await this.virsh(['start', ref]);
        break;
      case 'shutdown':
        if (state !== 'stopped') await this.virsh(['shutdown', ref]);
        break;
      case 'stop':
        if (state !== 'stopped') await this.shutdownThenDestroy(ref);
        break;
      case 'hard_stop':
        if (state !== 'stopped') await this.virsh(['destroy', ref]);
        break;
      case 'suspend': case 'pause':
        need(state === 'running' || state === 'suspended', 'not running');
        if (state === 'running') await this.virsh(['suspend', ref]);
        break;
      case 'resume':
        need(state === 'running' || state === 'suspended', 'not suspended');
        if (state === 'suspended') await this.virsh(['resume', ref]);
        break;
      case 'reset': case 'hard_reset':
        need(state === 'running', 'not running');
        await this.virsh([action === 'reset' ? 'reboot' : 'reset', ref]);
        break;
    }
    return this.mustExist(ref);
  }

  /** An ACPI shutdown, then a hard stop if the guest has not gone off within shutdown_seconds (default 30). */
  private async shutdownThenDestroy(ref: string) {
    if ((await this.stateOf(ref)) === 'running') await this.virsh(['shutdown', ref]).catch(() => undefined);
    const deadline = Date.now() + (this.opts.shutdown_seconds ?? 30) * 1000;
    while (Date.now() < deadline) {
      if ((await this.stateOf(ref)) === 'stopped') return;
      await sleep(250);
    }
    await this.virsh(['destroy', ref]).catch((err: Error) => { if (!/not running/i.test(err.message)) throw err; });
  }

  async stats(ref: string): Promise<InstanceStats> {
    await this.mustExist(ref);
    const sample = async () => {
      const out = await this.virsh(['domstats', ref, '--cpu-total', '--balloon', '--interface', '--block']);
      return Object.fromEntries(out.split('\n').map((l) => l.trim().split('=')).filter((kv) => kv.length === 2)) as Record<string, string>;
    };
    const a = await sample();
    const t0 = Date.now();
    await sleep(500);
    const b = await sample();
    const num = (s: Record<string, string>, k: string) => (s[k] !== undefined ? Number(s[k]) : null);
    const sum = (s: Record<string, string>, re: RegExp) => Object.entries(s).filter(([k]) => re.test(k)).reduce((n, [, v]) => n + Number(v), 0);
    const cpuA = num(a, 'cpu.time');
    const cpuB = num(b, 'cpu.time');
    const rss = num(b, 'balloon.rss') ?? num(b, 'balloon.current');
    return {
      cpu_percent: cpuA !== null && cpuB !== null ? Math.round(((cpuB - cpuA) / ((Date.now() - t0) * 1e6)) * 1000) / 10 : null,
      mem_used_mb: rss !== null ? Math.round(rss / 1024) : null, mem_limit_mb: num(b, 'balloon.maximum') !== null ? Math.round(num(b, 'balloon.maximum')! / 1024) : null,
      net_rx_bytes: sum(b, /^net\.\d+\.rx\.bytes$/), net_tx_bytes: sum(b, /^net\.\d+\.tx\.bytes$/), pids: null,
      cpu_time_ns: cpuB, disk_read_bytes: sum(b, /^block\.\d+\.rd\.bytes$/), disk_write_bytes: sum(b, /^block\.\d+\.wr\.bytes$/),
    };
  }

  async list(): Promise<EngineInstance[]> {
    const names = (await this.virsh(['list', '--all', '--name'])).split('\n').map((s) => s.trim()).filter(Boolean);
    const all = await Promise.all(names.map((n) => this.inspect(n)));
    return all.filter((d) => d !== null && (!d.host || !this.hostName || d.host === this.hostName)).map((d) => d!.inst);
  }

  /**
   * Rewrites the NoCloud seed with the new hash (cloud-init's bootcmd applies it on the guest's next boot), and sets it
   * at once through the QEMU guest agent when the running guest has one that answers.
   */
  async setPassword(ref: string, password: string): Promise<{ applied: 'now' | 'next_boot' }> {
    const xml = await this.xmlOf(ref);
    if (!xml.meta) throw conflict(`${ref} was not created by idcflow: it has no cloud-init seed to carry a password`);
    const saved = (file: string) => fs.readFile(path.join(this.dirOf(ref), file), 'utf8').then(JSON.parse, () => []);
    await this.writeSeed(this.dirOf(ref), { uuid: xml.meta.uuid, name: xml.meta.name, nics: await saved('nics.json'), sshKeys: await saved('ssh_keys.json') }, await passwordHash(password));
    if ((await this.stateOf(ref)) !== 'running' || !(await guestAgentAnswers(this.uri, ref))) return { applied: 'next_boot' };
    await guestAgentSetPassword(this.uri, ref, 'root', password);
    return { applied: 'now' };
  }

  /** A VM's console is its VNC screen (bound to 127.0.0.1 on the host), reached through the console gateway. */
  async console(ref: string): Promise<ConsoleAccess> {
    const inst = await this.mustExist(ref);
    if (inst.state !== 'running' && inst.state !== 'suspended') throw conflict(`${ref} must be running to open a console`);
    return { type: 'vnc' };
  }

  async vncEndpoint(ref: string): Promise<{ host: string; port: number }> {
    const display = (await this.virsh(['vncdisplay', ref])).trim();
    const m = /^(.*):(\d+)$/.exec(display);
    if (!m) throw conflict(`${ref} has no VNC display (is it running?)`);
    return { host: m[1] || '127.0.0.1', port: 5900 + Number(m[2]) };
  }

  /** The serial console's output so far (the file libvirt writes it to). */
  async serialLog(ref: string): Promise<string> {
    return fs.readFile(path.join(this.dirOf(ref), 'serial.log'), 'utf8').catch(() => '');
  }

  listImages(): Promise<ImageInfo[]> { return this.images.list(); }
  fetchImage(req: ImageFetch): Promise<ImageInfo> { return this.images.fetch(req); }

  /** Refused while a VM on this libvirt (idcflow's metadata names the image) still uses it: its disk is an overlay on the file. */
  async deleteImage(name: string): Promise<boolean> {
    const users = (await this.list()).filter((i) => i.image === name).map((i) => i.name);
    if (users.length) throw conflict(`image ${name} is in use by ${users.join(', ')}`);
    return this.images.remove(name);
  }

  async hostStats(): Promise<HostStats> {
    const info = Object.fromEntries((await this.virsh(['nodeinfo'])).split('\n').map((l) => l.split(/:\s+/)).filter((kv) => kv.length === 2).map(([k, v]) => [k.trim(), v.trim()]));
    const mem = Object.fromEntries((await this.virsh(['nodememstats'])).split('\n').map((l) => l.split(/:\s+/)).filter((kv) => kv.length === 2).map(([k, v]) => [k.trim(), parseInt(v, 10)]));
    const all = await this.list();
    const version = /running hypervisor:\s*(.*)/i.exec(await this.virsh(['version']).catch(() => ''))?.[1]?.trim() ?? null;
    const accel = await acceleration(this.opts.accel);
    return {
      source: `libvirt ${this.uri}`, cpu_count: Number(info['CPU(s)']) || null, cpu_percent: null, load_average: null,
      mem_total_mb: mem.total ? Math.round(mem.total / 1024) : null, mem_used_mb: mem.total && mem.free !== undefined ? Math.round((mem.total - mem.free - (mem.buffers ?? 0) - (mem.cached ?? 0)) / 1024) : null,
      disk_total_gb: null, disk_used_gb: null, instances_total: all.length, instances_running: all.filter((i) => i.state === 'running').length, engine_version: version,
      notes: [accel === 'kvm' ? 'Guests run with KVM acceleration' : 'Guests run with software emulation (TCG): KVM is absent or did not boot a probe guest'],
    };
  }
}
