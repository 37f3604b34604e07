import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';

/** Host-side tools of the libvirt_qemu driver: virsh, qemu-img, cloud-localds and the acceleration probe (no shell anywhere). */

export interface RunResult { stdout: string; stderr: string }

/** Runs a program with arguments (never through a shell), with a bound; `input` goes to its stdin (secrets stay off argv). */
export function run(cmd: string, args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(new Error(`${cmd} ${args[0] ?? ''}: ${String(stderr || err.message).trim()}`.slice(0, 1000)), { stderr: String(stderr) }));
      else resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export const NOT_FOUND = /failed to get domain|Domain not found|no domain with matching name/i;

/** virsh against one libvirt URI; errors become failures the runbooks understand. */
export function virsh(uri: string) {
  return async (args: string[], timeoutMs = 60_000): Promise<string> => {
    try {
      return (await run('virsh', ['-q', '-c', uri, ...args], { timeoutMs })).stdout;
    } catch (err) {
      const msg = `libvirt: ${(err as Error).message}`;
      if (NOT_FOUND.test(msg)) throw ApplicationFailure.nonRetryable(msg, 'RESOURCE_NOT_FOUND');
      if (/ENOENT/.test(msg)) throw ApplicationFailure.nonRetryable('libvirt: virsh is not installed on this host (Debian: libvirt-clients)', 'NOT_SUPPORTED');
      throw new Error(msg, { cause: err });
    }
  };
}

/** Whether the domain's QEMU guest agent answers a ping within 3 s. */
export async function guestAgentAnswers(uri: string, ref: string): Promise<boolean> {
  return run('virsh', ['-q', '-c', uri, 'qemu-agent-command', ref, '{"execute":"guest-ping"}', '--timeout', '3'], { timeoutMs: 15_000 }).then(() => true, () => false);
}

/**
 * Sets a guest user's password through its guest agent (guest-set-user-password: the guest's chpasswd). The command
 * reaches virsh on stdin, never on its argv; the password travels base64-encoded, as the agent's protocol wants.
 */
export async function guestAgentSetPassword(uri: string, ref: string, user: string, password: string): Promise<void> {
  const command = JSON.stringify({ execute: 'guest-set-user-password', arguments: { username: user, password: Buffer.from(password).toString('base64'), crypted: false } });
  const { stdout, stderr } = await run('virsh', ['-q', '-c', uri], { input: `qemu-agent-command ${ref} '${command}' --timeout 30\n`, timeoutMs: 60_000 });
  // virsh's shell echoes the command (and so the encoded password) on stdout: only its stderr may go into an error.
  if (!/^\{"return"/m.test(stdout.replace(/^virsh # .*$/gm, ''))) throw new Error(`libvirt: the guest agent of ${ref} did not set the password: ${stderr.trim().slice(0, 300)}`);
}

/** A crypt(3) SHA-512 hash for cloud-init, the password on stdin. */
export async function passwordHash(password: string): Promise<string> {
  return (await run('openssl', ['passwd', '-6', '-stdin'], { input: `${password}\n`, timeoutMs: 10_000 })).stdout.trim();
}

/**
 * A boot sector that writes "K" to COM1 and halts: booted with `-accel kvm` under a bound, it tells whether KVM
 * really runs guests here (a /dev/kvm that exists can still hang a boot, as on CPUs without virtualization flags).
 */
function probeSector(): Buffer {
  const sector = Buffer.alloc(512);
  Buffer.from([0xba, 0xf8, 0x03, 0xb0, 0x4b, 0xee, 0xfa, 0xf4, 0xeb, 0xfd]).copy(sector);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

let probed: Promise<'kvm' | 'qemu'> | null = null;

/**
 * KVM when /dev/kvm is usable, the CPU shows vmx or svm, and a probe guest boots with it within a few seconds; else
 * TCG ('qemu' in libvirt's words). Probed once per process, on the machine the driver runs on (the host's agent).
 */
export function acceleration(mode: string | undefined, probeSeconds = 5): Promise<'kvm' | 'qemu'> {
  if (mode === 'tcg') return Promise.resolve('qemu');
  if (mode === 'kvm') return Promise.resolve('kvm');
  probed ??= (async () => {
    try { await fs.access('/dev/kvm', fs.constants.R_OK | fs.constants.W_OK); } catch { return 'qemu' as const; }
    // Without the CPU's virtualization flags, KVM can run a boot sector yet fail a real kernel ("emulation failure").
    if (!/^flags\s*:.*\b(vmx|svm)\b/m.test(await fs.readFile('/proc/cpuinfo', 'utf8').catch(() => ''))) return 'qemu' as const;
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'idcflow-kvm-probe-'));
    const image = path.join(dir, 'probe.img');
    await fs.writeFile(image, probeSector());
    try {
      return await new Promise<'kvm' | 'qemu'>((resolve) => {
        const child = spawn('qemu-system-x86_64', ['-accel', 'kvm', '-nodefaults', '-no-user-config', '-display', 'none', '-m', '16', '-serial', 'stdio', '-drive', `file=${image},format=raw,if=ide`], { stdio: ['ignore', 'pipe', 'ignore'] });
        const timer = setTimeout(() => { child.kill('SIGKILL'); resolve('qemu'); }, probeSeconds * 1000);
        child.stdout.on('data', (d: Buffer) => { if (d.includes('K')) { clearTimeout(timer); child.kill('SIGKILL'); resolve('kvm'); } });
        child.on('error', () => { clearTimeout(timer); resolve('qemu'); });
        child.on('exit', () => { clearTimeout(timer); resolve('qemu'); });
      });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  })();
  return probed;
}

/** Makes the directory and its parents readable by the QEMU user (libvirt runs guests as libvirt-qemu). */
export async function openDir(dir: string) {
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
    const st = await fs.stat(d);
    if ((st.mode & 0o005) !== 0o005) await fs.chmod(d, st.mode | 0o005).catch(() => undefined);
  }
}
