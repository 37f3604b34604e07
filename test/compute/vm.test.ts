import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { freePort } from '../../workers/embedded-services';
import { startTestApi, expectError, eventually, type TestApi } from '../support/api';
import { addHost, createInstance, finished, uniq } from '../support/compute';
import { spawnWorker, type Spawned } from '../support/processes';
import { BOOT_MARKER, IMAGE_NAME, buildTestImage, ensureLibvirt, sshPublicKey, vmSkipReason } from '../support/vm-image';
import { describeIfRunnable } from '../support/environment';

/**
 * Real virtual machines through libvirt/QEMU (TCG where KVM does not boot): a tiny Debian kernel + busybox initramfs
 * image built by test support, whose init prints a marker and the cloud-init seed's meta-data to the serial log.
 */
const skip = vmSkipReason();

const URI = 'qemu:///system';
const virsh = (...args: string[]) => spawnSync('virsh', ['-q', '-c', URI, ...args], { encoding: 'utf8', timeout: 30_000 });
const domainExists = (name: string) => virsh('dominfo', name).status === 0;
const domState = (name: string) => virsh('domstate', name).stdout.trim();

/** Resolves with the first bytes the gateway relays from the VM's VNC server, or the HTTP status it refused with. */
function firstFrame(url: string): Promise<{ data: Buffer } | { refused: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('message', (data: Buffer) => { ws.close(); resolve({ data }); });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      res.on('end', () => resolve({ refused: res.statusCode ?? 0, body }));
    });
    ws.once('error', reject);
  });
}

describeIfRunnable(skip, 'libvirt/QEMU virtual machines', () => {
  const queue = uniq('vm');
  let api: TestApi;
  let worker: Spawned;
  let base: string;
  let stateDir: string;
  let host: { id: number; name: string };
  let admin: string;
  let owner: { id: number; token: string };
  let other: { id: number; token: string };
  const made: string[] = [];

  beforeAll(async () => {
    await ensureLibvirt();
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-vm-'));
    fs.chmodSync(base, 0o755);
    stateDir = path.join(base, 'instances');
    await buildTestImage(path.join(base, 'images'));
    // A second image whose kernel cannot be loaded (a directory): QEMU refuses to start it.
    fs.mkdirSync(path.join(base, 'images', 'broken.kernel'));
    fs.copyFileSync(path.join(base, 'images', `${IMAGE_NAME}.qcow2`), path.join(base, 'images', 'broken.qcow2'));
    const gatewayPort = await freePort();
    api = await startTestApi({ IDCFLOW_TASK_QUEUE: queue, IDCFLOW_INSTANCE_WAIT_SECONDS: '120' });
    worker = await spawnWorker(queue, { IDCFLOW_CONSOLE_PORT: String(gatewayPort), IDCFLOW_CONSOLE_TICKET_SECONDS: '30', IDCFLOW_INSTANCE_WAIT_SECONDS: '120' });
    admin = await api.admin();
    host = await addHost(api, {
      engine_type: 'libvirt_qemu', address: URI, name: uniq('kvmhost'),
      options: { image_dir: path.join(base, 'images'), state_dir: stateDir, accel: 'auto', shutdown_seconds: 2 },
    });
    owner = await api.createUser('user');
    other = await api.createUser('user');
  }, 600_000);

  afterAll(async () => {
    for (const name of made) if (domainExists(name)) { virsh('destroy', name); virsh('undefine', name); }
    await worker?.stop();
    await api?.close();
    if (base) fs.rmSync(base, { recursive: true, force: true });
  });

  const rowOf = (uuid: string) => api.deps.knex('instances').where({ uuid }).first();
  const power = async (id: number, action: string) => finished(api, owner.token, await api.call('POST', `/api/v1/instances/${id}/power`, { token: owner.token, body: { action } }), 120);

  it('creates a VM that boots and reads its seed, shows its screen through the gateway, stops, starts, and is deleted without a trace', async () => {
    const uuid = uniq('vm');
    const ref = `idcflow-${uuid}`;
    made.push(ref);
    const keys = [sshPublicKey('alice@laptop'), sshPublicKey('deploy')];
    const { op } = await createInstance(api, owner.token, { uuid, name: 'Tiny Guest', host_id: host.id, image: IMAGE_NAME, cpu: 1, ram_mb: 128, disk_gb: 1, password: 'guest-pass-1', ssh_keys: keys });
    expect(op).toMatchObject({ status: 'succeeded' });
    expect(domState(ref)).toBe('running');
    const row = await rowOf(uuid);
    expect(row).toMatchObject({ state: 'running', engine_ref: ref });

    // The domain carries idcflow's metadata; the password is nowhere in it, only its hash in the seed.
    const xml = virsh('dumpxml', ref).stdout;
    expect(xml).toContain(`<idcflow:uuid>${uuid}</idcflow:uuid>`);
    expect(xml).toContain(`<idcflow:owner>${owner.id}</idcflow:owner>`);
    expect(xml).not.toContain('guest-pass-1');
    // Without the CPU's virtualization flags KVM fails real kernels here: the driver must have chosen TCG.
    if (!/^flags\s*:.*\b(vmx|svm)\b/m.test(fs.readFileSync('/proc/cpuinfo', 'utf8'))) expect(xml).toMatch(/^<domain type='qemu'/);
    const dir = path.join(stateDir, ref);
    const seed = fs.readFileSync(path.join(dir, 'seed.img')).toString('latin1');
    expect(seed).toMatch(/chpasswd -e/);
    expect(seed).toMatch(/root:\$6\$/);
    expect(seed).not.toContain('guest-pass-1');
    // The SSH keys are in the seed's user-data, for cloud-init's ssh_authorized_keys.
    expect(seed).toContain('ssh_authorized_keys:');
    for (const key of keys) expect(seed).toContain(key);
    expect(row.ssh_keys).toEqual(keys);
    // The disk is an overlay on the image, grown to disk_gb.
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', '-U', path.join(dir, 'disk.qcow2')], { encoding: 'utf8' }));
    expect(info['virtual-size']).toBe(1024 ** 3);
    expect(info['backing-filename']).toBe(path.join(base, 'images', `${IMAGE_NAME}.qcow2`));

    const serial = () => fs.readFileSync(path.join(dir, 'serial.log'), 'utf8');
    const log = await eventually(async () => /SEED-END/.test(serial()) && serial(), 150_000, 'the guest to print its seed').catch((err: Error) => {
      throw new Error(`${err.message}; serial log so far: ${JSON.stringify(serial().slice(-2000))}; domain ${domState(ref)}`);
    });
    expect(log).toContain(BOOT_MARKER);
    expect(log).toMatch(/local-hostname: tiny-guest/);
    expect(log).toContain(`instance-id: ${uuid}`);
    // The guest read the keys from its seed.
    for (const key of keys) expect(log).toContain(`SSH-KEY: ${key.split(' ').slice(0, 2).join(' ')}`);

    // Live status and stats from libvirt.
    const status = await api.call('GET', `/api/v1/instances/${row.id}/status`, { token: owner.token });
    expect(status.status).toBe(200);
    expect(status.body.data).toMatchObject({ state: 'running', engine: { ref, cpu: 1 } });
    expect(status.body.data.engine.ramMb ?? status.body.data.engine.ram_mb).toBe(128);
    expect(status.body.data.stats.cpu_time_ns).toBeGreaterThan(0);

    // VNC through the console gateway: a single-use ticket, the VM's RFB greeting relayed.
    const res = await api.call('GET', `/api/v1/instances/${row.id}/console`, { token: owner.token });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body.data).toMatchObject({ type: 'vnc', web_url: expect.stringMatching(/^\/console\/vnc#ws/) });
    const first = await firstFrame(res.body.data.url);
    expect('data' in first && first.data.toString('latin1')).toMatch(/^RFB 003\.00\d\n$/);
    expect(await firstFrame(res.body.data.url)).toMatchObject({ refused: 401 });
    expect(virsh('vncdisplay', ref).stdout.trim()).toMatch(/^127\.0\.0\.1:\d+$/);
    // Other users and missing instances get nothing.
    expectError(await api.call('GET', `/api/v1/instances/${row.id}/console`, { token: other.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', `/api/v1/instances/${row.id}/console`), 401, 'INVALID_CREDENTIALS');

    expect(await power(row.id, 'stop')).toMatchObject({ status: 'succeeded' });
    expect(domState(ref)).toBe('shut off');
    expect(await power(row.id, 'start')).toMatchObject({ status: 'succeeded' });
    expect(domState(ref)).toBe('running');
    expect(await power(row.id, 'pause')).toMatchObject({ status: 'succeeded' });
    expect(domState(ref)).toBe('paused');
    expect(await power(row.id, 'resume')).toMatchObject({ status: 'succeeded' });
    expect(domState(ref)).toBe('running');

    // Resize offline (RAM, disk grown), back running; a password goes into the seed for the next boot.
    const resized = await finished(api, owner.token, await api.call('PUT', `/api/v1/instances/${row.id}`, { token: owner.token, body: { ram_mb: 96, disk_gb: 2 } }), 120);
    expect(resized).toMatchObject({ status: 'succeeded' });
    expect(domState(ref)).toBe('running');
    expect(virsh('dumpxml', ref).stdout).toMatch(/<memory unit='KiB'>98304<\/memory>/);
    expect(JSON.parse(execFileSync('qemu-img', ['info', '--output=json', '-U', path.join(dir, 'disk.qcow2')], { encoding: 'utf8' }))['virtual-size']).toBe(2 * 1024 ** 3);
    expectError(await api.call('PUT', `/api/v1/instances/${row.id}`, { token: owner.token, body: { ram_mb: 'lots' } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('PUT', `/api/v1/instances/${row.id}`, { token: other.token, body: { ram_mb: 64 } }), 404, 'RESOURCE_NOT_FOUND');
    const seedBefore = fs.readFileSync(path.join(dir, 'seed.img'));
    // The guest runs QEMU's guest agent: the password is set at once through it (and kept in the seed for later boots).
    await eventually(async () => virsh('qemu-agent-command', ref, '{"execute":"guest-ping"}', '--timeout', '2').status === 0, 120_000, 'the guest agent to answer');
    const pw = await finished(api, owner.token, await api.call('POST', `/api/v1/instances/${row.id}/password`, { token: owner.token, body: { password: 'second-pass-2' } }), 120);
    expect({ status: pw.status, error: pw.error, result: pw.result }).toMatchObject({ status: 'succeeded', error: null, result: { password_changed: true, applies: 'now' } });
    const shadow = await eventually(async () => /^SHADOW: (root:[^*:][^:]*):/m.exec(serial())?.[1], 30_000, 'the guest to show root\'s new password hash');
    expect(shadow).not.toContain('second-pass-2');
    expect(JSON.stringify(await api.call('GET', `/api/v1/operations/${pw.id}/events`, { token: owner.token }))).not.toContain(Buffer.from('second-pass-2').toString('base64'));
    const seedAfter = fs.readFileSync(path.join(dir, 'seed.img'));
    expect(seedAfter.equals(seedBefore)).toBe(false);
    expect(seedAfter.toString('latin1')).toMatch(/root:\$6\$/);
    expect(seedAfter.toString('latin1')).not.toContain('second-pass-2');
    // The rewritten seed keeps the keys.
    for (const key of keys) expect(seedAfter.toString('latin1')).toContain(key);

    const del = await finished(api, owner.token, await api.call('DELETE', `/api/v1/instances/${row.id}`, { token: owner.token }), 120);
    expect(del).toMatchObject({ status: 'succeeded', result: { existed_on_engine: true } });
    expect(domainExists(ref)).toBe(false);
    expect(fs.existsSync(dir)).toBe(false);
  }, 400_000);

  it('a create whose start fails leaves no domain, disk or seed', async () => {
    const uuid = uniq('bad');
    made.push(`idcflow-${uuid}`);
    const { op } = await createInstance(api, owner.token, { uuid, host_id: host.id, image: 'broken', cpu: 1, ram_mb: 64, disk_gb: 1 });
    expect(op.status).toBe('failed');
    expect(JSON.stringify(op.error)).toMatch(/start/i);
    expect(domainExists(`idcflow-${uuid}`)).toBe(false);
    expect(fs.existsSync(path.join(stateDir, `idcflow-${uuid}`))).toBe(false);
  }, 300_000);

  it('refuses images that are not there and disks smaller than the image, leaving nothing', async () => {
    for (const [body, pattern] of [[{ image: 'nope' }, /no image nope/], [{ image: IMAGE_NAME, disk_gb: 0 }, /smaller than image/]] as const) {
      const uuid = uniq('inv');
      const { op } = await createInstance(api, owner.token, { uuid, host_id: host.id, cpu: 1, ram_mb: 64, disk_gb: 1, ...body });
      expect(op.status).toBe('failed');
      expect(JSON.stringify(op.error)).toMatch(pattern);
      expect(domainExists(`idcflow-${uuid}`)).toBe(false);
      expect(fs.existsSync(path.join(stateDir, `idcflow-${uuid}`))).toBe(false);
    }
    const res = await api.call('POST', '/api/v1/instances', { token: owner.token, body: { name: 'x', host_id: host.id, image: '../etc/passwd', ram_mb: 64 } });
    expectError(res, 422, 'VALIDATION_ERROR');
  }, 300_000);

  it('a scan imports a VM defined by hand with idcflow metadata, with its owner; other hosts\' VMs are left alone', async () => {
    const uuid = uniq('hand');
    const ref = `hand-${uuid}`;
    made.push(ref);
    const ns = 'https://idcflow.dev/libvirt/instance/1';
    const xml = (name: string, hostName: string) => `<domain type="qemu"><name>${name}</name><metadata><idcflow:instance xmlns:idcflow="${ns}"><idcflow:uuid>${name}</idcflow:uuid><idcflow:name>${name}</idcflow:name><idcflow:owner>${other.id}</idcflow:owner><idcflow:host>${hostName}</idcflow:host><idcflow:image></idcflow:image><idcflow:disk_gb>3</idcflow:disk_gb><idcflow:ip4></idcflow:ip4></idcflow:instance></metadata><memory unit="MiB">64</memory><vcpu>1</vcpu><os><type arch="x86_64" machine="pc">hvm</type></os></domain>`;
    const foreign = `foreign-${uuid}`;
    made.push(foreign);
    for (const [name, h] of [[ref, host.name], [foreign, 'some-other-host']]) {
      const file = path.join(base, `${name}.xml`);
      fs.writeFileSync(file, xml(name, h));
      expect(virsh('define', file).status).toBe(0);
    }
    const scan = await finished(api, admin, await api.call('POST', `/api/v1/hosts/${host.id}/scan`, { token: admin }), 120);
    expect(scan.status).toBe('succeeded');
    expect(scan.result.imported).toContain(ref);
    expect(scan.result.imported).not.toContain(foreign);
    expect(await rowOf(ref)).toMatchObject({ engine_ref: ref, owner_id: other.id, state: 'stopped', origin: 'scanned', disk_gb: 3, ram_mb: 64 });
    // The owner sees it; deleting it removes the domain.
    const row = await rowOf(ref);
    const del = await finished(api, other.token, await api.call('DELETE', `/api/v1/instances/${row.id}`, { token: other.token }), 120);
    expect(del.status).toBe('succeeded');
    expect(domainExists(ref)).toBe(false);
    expect(domainExists(foreign)).toBe(true);
  }, 300_000);

  it('a worker killed after the engine created the VM, before it reported: the retried create finds it, one VM runs', async () => {
    const gatewayPort = await freePort();
    await worker.stop();
    worker = await spawnWorker(queue, { IDCFLOW_FAULT_DELAY: 'engineCreate.after:60000' });
    const uuid = uniq('crash');
    const ref = `idcflow-${uuid}`;
    made.push(ref);
    const res = await api.call('POST', '/api/v1/instances', { token: owner.token, body: { uuid, name: 'crash', host_id: host.id, image: IMAGE_NAME, cpu: 1, ram_mb: 64, disk_gb: 1 } });
    expect(res.status).toBe(202);
    await eventually(async () => domainExists(ref), 120_000, 'the domain to be defined');
    await worker.stop('SIGKILL');
    worker = await spawnWorker(queue, { IDCFLOW_CONSOLE_PORT: String(gatewayPort) });
    const op = await finished(api, owner.token, res, 180);
    expect(op.status).toBe('succeeded');
    expect(domState(ref)).toBe('running');
    expect(virsh('list', '--all', '--name').stdout.split('\n').filter((n) => n.includes(uuid))).toEqual([ref]);
    expect(fs.readdirSync(stateDir).filter((d) => d.includes(uuid))).toEqual([ref]);
    const row = await rowOf(uuid);
    expect(await finished(api, owner.token, await api.call('DELETE', `/api/v1/instances/${row.id}`, { token: owner.token }), 120)).toMatchObject({ status: 'succeeded' });
    expect(domainExists(ref)).toBe(false);
  }, 400_000);

  it('serves the noVNC page and its modules, and nothing outside them', async () => {
    const page = await fetch(`${api.url}/console/vnc`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="/console/assets/vnc.js">');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const module = await fetch(`${api.url}/console/assets/vnc.js`);
    expect(module.headers.get('content-type')).toMatch(/javascript/);
    expect(await module.text()).toContain("import RFB from '/console/novnc/core/rfb.js'");
    const rfb = await fetch(`${api.url}/console/novnc/core/rfb.js`);
    expect(rfb.status).toBe(200);
    expect(rfb.headers.get('content-type')).toMatch(/javascript/);
    expect(await rfb.text()).toContain('export default class RFB');
    for (const p of ['/console/novnc/package.json', '/console/novnc/core/../package.json', '/console/novnc/core/%2e%2e/%2e%2e/package.json', '/console/novnc/core/nope.js']) {
      expect((await fetch(`${api.url}${p}`)).status).toBe(404);
    }
  });
});
