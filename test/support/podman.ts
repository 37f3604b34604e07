import { stopProcess } from './processes';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import ipaddr from 'ipaddr.js';

/**
 * A Docker Engine API for the docker driver's tests: Podman's compatible service (README, Tests) —
 * an OCI runtime wrapper that drops process.rlimits (the sandbox forbids RLIMIT_NPROC), cgroupfs, a busybox image
 * imported from a local root filesystem (there is no registry), and `podman system service` on a socket in a temp dir.
 */
export const TEST_IMAGE = 'localhost/idcflow-test-busybox:latest';

const which = (bin: string) => {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir, bin);
    if (fs.existsSync(p)) return p;
  }
  return null;
};

const WRAPPER = `#!/bin/sh
# OCI runtime wrapper for podman: the sandbox forbids setting RLIMIT_NPROC, so drop process.rlimits from the
# bundle's config.json (create/run) and from the --process file (exec), then run runc with the same arguments.
bundle=""; procfile=""; prev=""
for a in "$@"; do
  case "$prev" in --bundle|-b) bundle="$a";; --process|-p) procfile="$a";; esac
  case "$a" in --bundle=*) bundle="\${a#--bundle=}";; --process=*) procfile="\${a#--process=}";; esac
  prev="$a"
done
strip() { [ -f "$1" ] && sed -i -e 's/,"rlimits":\\[[^]]*\\]//' -e 's/"rlimits":\\[[^]]*\\],\\{0,1\\}//' "$1"; }
[ -n "$bundle" ] && strip "$bundle/config.json"
[ -n "$procfile" ] && strip "$procfile"
exec RUNC "$@"
`;

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path: '/_ping', timeout: 1000 }, (res) => { res.resume(); resolve(res.statusCode === 200); });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
  });
}

export interface PodmanService {
  socketPath: string;
  image: string;
  env: Record<string, string>;
  /** The API service alone goes away (its containers keep running, as on a host cut off) and comes back. */
  stopService(): Promise<void>;
  startService(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the service, or answers why it cannot run here (the tests then skip with that reason). `isolated`: an engine of
 * its own (another test host) — its own storage under `dir` and its own bridge network on `subnet`, so its containers,
 * names and addresses are its alone. Its bridge is named after `network` (at most 15 characters): in a configuration
 * folder of its own, Podman would name it podman0 (or podman1…), the bridges of the machine's Podman, and re-address
 * them, cutting off every container of the suite's Podman from its published ports.
 */
export async function startPodman(dir: string, isolated?: { network: string; subnet: string }): Promise<PodmanService | { skip: string }> {
  if (process.getuid?.() !== 0) return { skip: 'podman tests need root (rootless podman is not set up here)' };
  const podman = which('podman');
  const runc = fs.existsSync('/usr/sbin/runc') ? '/usr/sbin/runc' : which('runc');
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));
  if (!podman || !runc || !busybox) return { skip: `podman, runc and busybox-static are needed (apt-get install -y podman runc busybox-static); missing: ${[!podman && 'podman', !runc && 'runc', !busybox && 'busybox'].filter(Boolean).join(', ')}` };
  try {
    const info = execFileSync('file', ['-L', busybox], { encoding: 'utf8' });
    if (!/statically linked|static-pie/.test(info)) return { skip: `${busybox} is not statically linked: install busybox-static` };
  } catch {
    // `file` is absent: try the image anyway
  }
  fs.mkdirSync(dir, { recursive: true });
  const wrapper = path.join(dir, 'runc-norlimit');
  fs.writeFileSync(wrapper, WRAPPER.replace('RUNC', runc), { mode: 0o755 });
  const conf = path.join(dir, 'containers.conf');
  const network = isolated ? `[network]\nnetwork_config_dir = "${path.join(dir, 'networks')}"\ndefault_network = "${isolated.network}"\ndefault_subnet = "${isolated.subnet}"\n` : '';
  fs.writeFileSync(conf, `[engine]\ncgroup_manager = "cgroupfs"\nruntime = "runc-norlimit"\n[engine.runtimes]\nrunc-norlimit = ["${wrapper}"]\n${network}`);
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const storage = isolated ? ['--root', path.join(dir, 'storage'), '--runroot', path.join(dir, 'run')] : [];
  if (isolated) isolatedNetwork(path.join(dir, 'networks'), isolated.network, isolated.subnet);

  // The image: busybox and its applets, an /etc/passwd with root, a web root.
  const rootfs = path.join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'www', 'root']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.copyFileSync(busybox, path.join(rootfs, 'bin', 'busybox'));
  fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
  for (const applet of ['sh', 'sleep', 'httpd', 'ls', 'cat', 'echo', 'chpasswd', 'passwd', 'top', 'ps', 'grep', 'true', 'false', 'env', 'id', 'mkpasswd', 'sed']) {
    const link = path.join(rootfs, 'bin', applet);
    if (!fs.existsSync(link)) fs.symlinkSync('busybox', link);
  }
  fs.writeFileSync(path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  fs.writeFileSync(path.join(rootfs, 'etc', 'shadow'), 'root:*:19000:0:99999:7:::\n', { mode: 0o600 });
  fs.writeFileSync(path.join(rootfs, 'etc', 'group'), 'root:x:0:\n');
  fs.writeFileSync(path.join(rootfs, 'www', 'index.html'), 'idcflow test container\n');
  const tar = path.join(dir, 'rootfs.tar');
  try {
    execFileSync('tar', ['-C', rootfs, '-cf', tar, '.']);
    execFileSync(podman, [...storage, 'import', tar, TEST_IMAGE], { env, stdio: 'pipe' });
  } catch (err) {
    return { skip: `podman could not import the test image: ${(err as { stderr?: Buffer }).stderr?.toString() ?? (err as Error).message}` };
  }

  const socketPath = path.join(dir, 'podman.sock');
  const serve = async (): Promise<ChildProcess | string> => {
    const child: ChildProcess = spawn(podman, [...storage, 'system', 'service', '--time=0', `unix://${socketPath}`], { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-4000); });
    for (let i = 0; i < 100 && !(await ping(socketPath)); i++) {
      if (child.exitCode !== null) return `podman system service exited: ${stderr}`;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!(await ping(socketPath))) {
      child.kill('SIGKILL');
      return `podman system service did not answer on ${socketPath}: ${stderr}`;
    }
    return child;
  };
  let child = await serve();
  if (typeof child === 'string') return { skip: child };
  return {
    socketPath,
    image: TEST_IMAGE,
    env: { CONTAINERS_CONF: conf },
    async stopService() {
      await stopProcess(child as ChildProcess, 'SIGTERM', 5000);
    },
    async startService() {
      const again = await serve();
      if (typeof again === 'string') throw new Error(again);
      child = again;
    },
    async stop() {
      await stopProcess(child as ChildProcess, 'SIGTERM', 5000);
      // conmon processes of exec sessions outlive the service; every one names this directory (its runtime wrapper).
      spawnSync('pkill', ['-KILL', '-f', dir]);
      // An engine with storage of its own leaves its mounts behind (the overlay's bind mount, containers' shm): undone deepest first.
      if (isolated) {
        const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m?.startsWith(dir + '/'));
        for (const m of mounts.sort().reverse()) spawnSync('umount', ['-l', m]);
        spawnSync('ip', ['link', 'del', isolated.network], { stdio: 'ignore' }); // its bridge, left by containers killed with the engine
      }
    },
  };
}

/**
 * The network an isolated engine's containers join by default, written as Podman's own network file so that its bridge
 * is named `name` (Podman 4.3's `network create` has no --interface-name). Refused when the machine already has the
 * subnet on an interface: two bridges with one subnet would steal each other's routes.
 */
function isolatedNetwork(configDir: string, name: string, subnet: string) {
  if (name.length > 15) throw new Error(`isolated Podman network ${name}: a bridge name has at most 15 characters`);
  const [network, bits] = ipaddr.IPv4.parseCIDR(subnet);
  const overlaps = ([a, aBits]: [ipaddr.IPv4, number], [b, bBits]: [ipaddr.IPv4, number]) => a.match(b, bBits) || b.match(a, aBits);
  for (const line of execFileSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    const [, iface, , cidr] = line.split(/\s+/);
    if (overlaps([network, bits], ipaddr.IPv4.parseCIDR(cidr))) throw new Error(`${subnet} is already on ${iface} (a bridge left by a killed run? ip link del ${iface})`);
  }
  const gateway = ipaddr.IPv4.networkAddressFromCIDR(subnet).toByteArray();
  gateway[3] += 1;
  fs.mkdirSync(configDir, { recursive: true });
  fs.writeFileSync(path.join(configDir, `${name}.json`), JSON.stringify({
    name, id: crypto.createHash('sha256').update(name).digest('hex'), driver: 'bridge', network_interface: name, created: new Date().toISOString(),
    subnets: [{ subnet, gateway: gateway.join('.') }], ipv6_enabled: false, internal: false, dns_enabled: false, ipam_options: { driver: 'host-local' },
  }, null, 2));
}

/** Why the suite's Podman cannot be used (the global set-up's reason), or null. */
export function podmanMissing(): string | null {
  const podman = podmanForTests();
  return 'skip' in podman ? podman.skip : null;
}

/** For test files: the socket and image, or why docker tests skip. */
export function podmanForTests(): { socketPath: string; image: string } | { skip: string } {
  if (process.env.IDCFLOW_TEST_DOCKER_SOCKET) return { socketPath: process.env.IDCFLOW_TEST_DOCKER_SOCKET, image: process.env.IDCFLOW_TEST_DOCKER_IMAGE ?? TEST_IMAGE };
  return { skip: process.env.IDCFLOW_TEST_DOCKER_SKIP ?? 'podman was not set up by the global setup' };
}
