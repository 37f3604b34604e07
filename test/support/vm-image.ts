import crypto from 'node:crypto';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

/**
 * A tiny bootable VM image for the libvirt_qemu tests, built without downloading any image: Debian's cloud kernel
 * (apt-get download + dpkg -x) and a busybox initramfs whose /init prints BOOT_MARKER, the cloud-init seed's
 * meta-data and the SSH keys of its user-data (one "SSH-KEY: <type> <key>" line each) to the serial console, runs
 * Debian's QEMU guest agent on its virtio port, prints root's shadow line whenever it changes ("SHADOW: …"), then idles. The kernel package is cached in ~/.cache/idcflow/vm-image.
 */
export const BOOT_MARKER = 'IDCFLOW-TEST-GUEST-BOOTED';
export const IMAGE_NAME = 'tiny';

const MODULES = ['virtio_ring', 'virtio', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci', 'virtio_blk', 'cdrom', 'isofs', 'virtio_console'];

const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /mnt /etc /run /tmp /root
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in ${MODULES.join(' ')}; do insmod /lib/modules/$m.ko; done
echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd; echo 'root:*:1:0:99999:7:::' > /etc/shadow
i=0; while [ -z "$(ls /sys/class/virtio-ports 2>/dev/null)" ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done
for d in /sys/class/virtio-ports/*; do [ "$(cat $d/name 2>/dev/null)" = org.qemu.guest_agent.0 ] && /bin/qemu-ga -d -m virtio-serial -p /dev/$(basename $d) -t /run -f /run/qga.pid -l /run/qga.log && echo GUEST-AGENT-STARTED; done
(last=; while true; do h=$(grep '^root:' /etc/shadow); [ "$h" != "$last" ] && echo "SHADOW: $h" && last=$h; sleep 1; done) &
echo ${BOOT_MARKER}
i=0; while [ ! -b /dev/vdb ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
if mount -t iso9660 -o ro /dev/vdb /mnt; then echo SEED-BEGIN; cat /mnt/meta-data; grep -o 'ssh-[a-z0-9-]* [A-Za-z0-9+/=]*' /mnt/user-data | sed 's/^/SSH-KEY: /'; echo SEED-END; else echo SEED-MISSING; fi
while true; do sleep 3600; done
`;

/** Debian's busybox has no chpasswd applet, which the guest agent runs to set a password: a stand-in reading "user:password". */
const CHPASSWD = [
  '#!/bin/sh',
  'IFS= read -r line',
  'user=${line%%:*}',
  'hash=$(mkpasswd -m sha512 "${line#*:}") || exit 1',
  'sed -i "s|^$user:[^:]*:|$user:$hash:|" /etc/shadow',
  '',
].join('\n');

const which = (bin: string) => (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin']).some((d) => fs.existsSync(path.join(d, bin)));

/** Why the VM tests cannot run here, or null when they can (they then start libvirt's daemons if need be). */
export function vmSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'VM tests need root (libvirt qemu:///system)';
  const missing = ['virsh', 'libvirtd', 'virtlogd', 'qemu-system-x86_64', 'qemu-img', 'cloud-localds', 'cpio', 'apt-get', 'dpkg', 'openssl'].filter((b) => !which(b));
  if (!['/bin/busybox', '/usr/bin/busybox'].some((p) => fs.existsSync(p))) missing.push('busybox');
  return missing.length ? `VM tests need libvirt-daemon-system libvirt-clients cloud-image-utils qemu-system-x86 qemu-utils busybox-static cpio; missing: ${missing.join(', ')}` : null;
}

/** libvirtd (with virtlogd, without which a start fails) answering on qemu:///system; started by hand when not running (no systemd here). */
export async function ensureLibvirt(): Promise<void> {
  const up = () => spawnSync('virsh', ['-c', 'qemu:///system', 'version'], { timeout: 10_000 }).status === 0;
  if (up()) return;
  if (spawnSync('pgrep', ['-x', 'virtlogd']).status !== 0) execFileSync('virtlogd', ['-d']);
  if (spawnSync('pgrep', ['-x', 'libvirtd']).status !== 0) execFileSync('libvirtd', ['-d']);
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) if (up()) return;
  throw new Error('libvirtd did not answer on qemu:///system');
}

function kernelPackage(): string {
  const out = execFileSync('apt-cache', ['search', '--names-only', '^linux-image-[0-9.]+-[0-9]+-cloud-amd64$'], { encoding: 'utf8' });
  const names = out.split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
  if (!names.length) throw new Error('no linux-image-*-cloud-amd64 package in apt\'s lists (apt-get update?)');
  return names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1)!;
}

/** The unpacked kernel package, downloaded once. */
const unpackedKernel = () => unpackedPackage('linux-image-', kernelPackage);

/** An unpacked Debian package (the first whose name starts with `prefix`), downloaded once into the cache. */
function unpackedPackage(prefix: string, name: () => string): string {
  const cache = path.join(os.homedir(), '.cache', 'idcflow', 'vm-image');
  fs.mkdirSync(cache, { recursive: true });
  const existing = fs.readdirSync(cache).find((d) => d.startsWith(prefix) && fs.existsSync(path.join(cache, d, 'ok')));
  if (existing) return path.join(cache, existing);
  const pkg = name();
  const dir = path.join(cache, pkg);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  execFileSync('apt-get', ['download', pkg], { cwd: dir, stdio: 'ignore', timeout: 300_000 });
  const deb = fs.readdirSync(dir).find((f) => f.endsWith('.deb'))!;
  execFileSync('dpkg', ['-x', deb, 'root'], { cwd: dir });
  fs.rmSync(path.join(dir, deb));
  fs.writeFileSync(path.join(dir, 'ok'), pkg);
  return dir;
}

/** Debian's QEMU guest agent, with the shared libraries it loads (as this machine has them), into the initramfs. */
function copyGuestAgent(initrd: string) {
  const qga = path.join(unpackedPackage('qemu-guest-agent', () => 'qemu-guest-agent'), 'root', 'usr/sbin/qemu-ga');
  fs.copyFileSync(qga, path.join(initrd, 'bin/qemu-ga'));
  fs.chmodSync(path.join(initrd, 'bin/qemu-ga'), 0o755);
  const libs = execFileSync('ldd', [qga], { encoding: 'utf8' }).split('\n').map((l) => /(\/\S+) \(0x/.exec(l)?.[1]).filter((l): l is string => Boolean(l));
  if (execFileSync('ldd', [qga], { encoding: 'utf8' }).includes('not found')) throw new Error('qemu-ga needs a library this machine lacks');
  for (const lib of libs) {
    fs.mkdirSync(path.join(initrd, path.dirname(lib)), { recursive: true });
    fs.copyFileSync(fs.realpathSync(lib), path.join(initrd, lib));
  }
}

function cpioGz(root: string, out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const files = execFileSync('find', ['.'], { cwd: root, encoding: 'utf8' });
    const cpio = spawn('cpio', ['-o', '-H', 'newc', '--quiet'], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
    cpio.stdout.pipe(zlib.createGzip()).pipe(fs.createWriteStream(out)).on('finish', resolve).on('error', reject);
    cpio.on('error', reject);
    cpio.stdin.end(files);
  });
}

/** Writes tiny.qcow2, tiny.kernel, tiny.initrd and tiny.cmdline into `imageDir` (world-readable, for libvirt's qemu user). */
export async function buildTestImage(imageDir: string): Promise<void> {
  const kernelRoot = path.join(unpackedKernel(), 'root');
  fs.mkdirSync(imageDir, { recursive: true, mode: 0o755 });
  const vmlinuz = fs.readdirSync(path.join(kernelRoot, 'boot')).find((f) => f.startsWith('vmlinuz-'))!;
  fs.copyFileSync(path.join(kernelRoot, 'boot', vmlinuz), path.join(imageDir, `${IMAGE_NAME}.kernel`));
  const initrd = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-initrd-'));
  try {
    for (const d of ['bin', 'lib/modules']) fs.mkdirSync(path.join(initrd, d), { recursive: true });
    fs.copyFileSync(fs.existsSync('/bin/busybox') ? '/bin/busybox' : '/usr/bin/busybox', path.join(initrd, 'bin/busybox'));
    fs.chmodSync(path.join(initrd, 'bin/busybox'), 0o755);
    const modulesRoot = path.join(kernelRoot, 'lib/modules', fs.readdirSync(path.join(kernelRoot, 'lib/modules'))[0]);
    const found = execFileSync('find', [modulesRoot, '-name', '*.ko'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const m of MODULES) {
      const file = found.find((f) => path.basename(f) === `${m}.ko`);
      if (file) fs.copyFileSync(file, path.join(initrd, 'lib/modules', `${m}.ko`));
    }
    copyGuestAgent(initrd);
    fs.writeFileSync(path.join(initrd, 'bin/chpasswd'), CHPASSWD, { mode: 0o755 });
    fs.writeFileSync(path.join(initrd, 'init'), INIT, { mode: 0o755 });
    await cpioGz(initrd, path.join(imageDir, `${IMAGE_NAME}.initrd`));
  } finally {
    fs.rmSync(initrd, { recursive: true, force: true });
  }
  fs.writeFileSync(path.join(imageDir, `${IMAGE_NAME}.cmdline`), 'console=tty0 console=ttyS0 rdinit=/init panic=-1 quiet');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(imageDir, `${IMAGE_NAME}.qcow2`), '64M']);
  for (const f of fs.readdirSync(imageDir)) fs.chmodSync(path.join(imageDir, f), 0o644);
}

/** A fresh ed25519 public key as an authorized_keys line (OpenSSH's wire format: string type, string key). */
export function sshPublicKey(comment = 'test@idcflow'): string {
  const raw = crypto.generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]).toString('base64')} ${comment}`;
}
