import crypto from 'node:crypto';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { stopProcess } from './processes';
import { firstReason, missingTools, needsRoot } from './environment';

const run = promisify(execFile);

/** Why network-namespace tests cannot run here (root, `ip` from iproute2, and `tools`), or null when they can. */
export function netnsUnavailable(tools: string[] = [], install = '.ci/run installs them'): string | null {
  return firstReason(needsRoot('network namespaces'), () => missingTools(['ip', ...tools], install));
}

/** One network namespace made by a test: run commands in it, start processes in it, remove it with everything inside. */
export class Netns {
  private readonly procs: ChildProcess[] = [];
  constructor(readonly name: string) {}

  async exec(cmd: string, args: string[], opts: { input?: string } = {}): Promise<string> {
    const child = run('ip', ['netns', 'exec', this.name, cmd, ...args], { maxBuffer: 64 * 1024 * 1024 });
    if (opts.input !== undefined) child.child.stdin?.end(opts.input);
    return (await child).stdout;
  }

  /** A long-running process inside the namespace, stopped with the namespace. */
  spawn(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    const proc = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.push(proc);
    return proc;
  }

  async destroy(): Promise<void> {
    await Promise.all(this.procs.map((p) => stopProcess(p, 'SIGTERM', 5000)));
    const { stdout } = await run('ip', ['netns', 'pids', this.name]).catch(() => ({ stdout: '' }));
    for (const pid of stdout.split('\n').filter(Boolean)) {
      try { process.kill(Number(pid), 'SIGKILL'); } catch { /* already gone */ }
    }
    await run('ip', ['netns', 'del', this.name]).catch(() => undefined);
  }
}

/**
 * A fabric of namespaces for one test file, with names unique to it (files run in parallel): `ns(role)` creates one,
 * `link(a, b, addrA, addrB)` joins two with a veth pair (addresses in CIDR form, e.g. '10.77.0.1/24'), and
 * `destroy()` removes them all. Use private ranges only (10.0.0.0/8, fd00::/8): test traffic never leaves the machine.
 */
export class NetnsFabric {
  private readonly tag = crypto.randomBytes(3).toString('hex');
  private readonly spaces: Netns[] = [];
  private links = 0;

  async ns(role: string): Promise<Netns> {
    const ns = new Netns(`idcf-${role}-${this.tag}`);
    await run('ip', ['netns', 'add', ns.name]);
    this.spaces.push(ns);
    await ns.exec('ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Joins two namespaces with a veth pair; returns the interface names on each side. */
  async link(a: Netns, b: Netns, addrA: string, addrB: string): Promise<{ a: string; b: string }> {
    const n = this.links++;
    const ifA = `v${this.tag}${n}a`;
    const ifB = `v${this.tag}${n}b`;
    await run('ip', ['link', 'add', ifA, 'netns', a.name, 'type', 'veth', 'peer', 'name', ifB, 'netns', b.name]);
    await a.exec('ip', ['addr', 'add', addrA, 'dev', ifA]);
    await b.exec('ip', ['addr', 'add', addrB, 'dev', ifB]);
    await a.exec('ip', ['link', 'set', ifA, 'up']);
    await b.exec('ip', ['link', 'set', ifB, 'up']);
    return { a: ifA, b: ifB };
  }

  async destroy(): Promise<void> {
    await Promise.all(this.spaces.map((ns) => ns.destroy()));
  }
}
