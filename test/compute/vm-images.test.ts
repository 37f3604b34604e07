import crypto from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startTestApi, expectError, type TestApi } from '../support/api';
import { addHost, createInstance, finished, uniq } from '../support/compute';
import { spawnWorker, type Spawned } from '../support/processes';
import { spawnAgent } from '../support/agents';
import { IMAGE_NAME, buildTestImage, ensureLibvirt, sshPublicKey, vmSkipReason } from '../support/vm-image';
import { describeIfRunnable } from '../support/environment';

/** A libvirt host's images: listed with size and SHA-256, downloaded from a URL (checked), deleted unless in use. */
const skip = vmSkipReason();

const MAX_BYTES = 4 * 1024 * 1024;
const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describeIfRunnable(skip, 'libvirt/QEMU host images', () => {
  const queue = uniq('vm-images');
  let api: TestApi;
  let worker: Spawned;
  let base: string;
  let images: string;
  let served: string;
  let server: http.Server;
  let origin: string;
  let host: { id: number; name: string };
  let admin: string;
  let user: { id: number; token: string };
  const made: string[] = [];

  beforeAll(async () => {
    await ensureLibvirt();
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-vm-images-'));
    fs.chmodSync(base, 0o755);
    images = path.join(base, 'images');
    await buildTestImage(images);
    // Files the test's own web server on loopback offers for download.
    served = path.join(base, 'served');
    fs.mkdirSync(served);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(served, 'blank.qcow2'), '32M']);
    fs.writeFileSync(path.join(served, 'disk.raw'), crypto.randomBytes(256 * 1024));
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/hostname', path.join(served, 'backed.qcow2')]);
    fs.writeFileSync(path.join(served, 'huge.raw'), Buffer.alloc(MAX_BYTES + 1));
    server = http.createServer((req, res) => {
      const file = path.join(served, path.basename(req.url ?? ''));
      if (!fs.existsSync(file)) { res.writeHead(404).end(); return; }
      // No Content-Length for huge.raw: the bound must hold on the stream itself.
      if (file.endsWith('huge.raw')) { res.writeHead(200); fs.createReadStream(file).pipe(res); return; }
      res.writeHead(200, { 'content-length': fs.statSync(file).size });
      fs.createReadStream(file).pipe(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    api = await startTestApi({ IDCFLOW_TASK_QUEUE: queue, IDCFLOW_INSTANCE_WAIT_SECONDS: '120', IDCFLOW_IMAGE_MAX_BYTES: String(MAX_BYTES) });
    worker = await spawnWorker(queue, { IDCFLOW_INSTANCE_WAIT_SECONDS: '120' });
    admin = await api.admin();
    host = await addHost(api, {
      engine_type: 'libvirt_qemu', address: 'qemu:///system', name: uniq('imghost'),
      options: { image_dir: images, state_dir: path.join(base, 'instances'), accel: 'auto', shutdown_seconds: 2 },
    });
    user = await api.createUser('user');
  }, 600_000);

  afterAll(async () => {
    for (const name of made) {
      spawnSync('virsh', ['-q', '-c', 'qemu:///system', 'destroy', name]);
      spawnSync('virsh', ['-q', '-c', 'qemu:///system', 'undefine', name]);
    }
    await worker?.stop();
    await api?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    if (base) fs.rmSync(base, { recursive: true, force: true });
  });

  const upload = (body: Record<string, unknown>, token = admin) => api.call('POST', `/api/v1/hosts/${host.id}/images`, { token, body });
  const listed = async (token = user.token) => {
    const res = await api.call('GET', `/api/v1/hosts/${host.id}/images`, { token });
    expect(res.status).toBe(200);
    return res.body.data.images as Array<Record<string, unknown>>;
  };

  it('lists the image_dir with size and SHA-256 (kept beside each image), to any user; refuses other engines and bad requests', async () => {
    const file = path.join(images, `${IMAGE_NAME}.qcow2`);
    const list = await listed();
    expect(list).toEqual([{
      name: IMAGE_NAME, file: `${IMAGE_NAME}.qcow2`, format: 'qcow2', size_bytes: fs.statSync(file).size, sha256: sha256(file),
      modified_at: expect.any(String), kernel_boot: true, instances: 0,
    }]);
    expect(fs.readFileSync(`${file}.sha256`, 'utf8')).toBe(`${sha256(file)}  ${IMAGE_NAME}.qcow2\n`);
    expectError(await api.call('GET', `/api/v1/hosts/${host.id}/images`), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('GET', '/api/v1/hosts/99999999/images', { token: user.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', '/api/v1/hosts/abc/images', { token: user.token }), 422, 'VALIDATION_ERROR');
    const sim = await addHost(api, { engine_type: 'simulator' });
    expectError(await api.call('GET', `/api/v1/hosts/${sim.id}/images`, { token: admin }), 409, 'CONFLICT');
  }, 120_000);

  it('downloads an image streamed from a URL, checksum and format checked; a repeat is the same image; a different one of that name is refused', async () => {
    const blank = path.join(served, 'blank.qcow2');
    const op = await finished(api, admin, await upload({ name: 'blank', url: `${origin}/blank.qcow2`, sha256: sha256(blank).toUpperCase() }), 120);
    expect(op).toMatchObject({ status: 'succeeded', type: 'image.upload', resource: { type: 'image', name: 'blank' }, result: { image: { name: 'blank', format: 'qcow2', sha256: sha256(blank) } } });
    expect(sha256(path.join(images, 'blank.qcow2'))).toBe(sha256(blank));
    expect((await listed()).map((i) => i.name)).toEqual(['blank', IMAGE_NAME]);
    expect((await finished(api, admin, await upload({ name: 'blank', url: `${origin}/blank.qcow2`, sha256: sha256(blank) }), 120)).status).toBe('succeeded');
    const other = await finished(api, admin, await upload({ name: 'blank', url: `${origin}/disk.raw`, format: 'raw', sha256: sha256(path.join(served, 'disk.raw')) }), 120);
    expect(other).toMatchObject({ status: 'failed', error: { code: 'CONFLICT' } });
    const raw = await finished(api, admin, await upload({ name: 'rawdisk', url: `${origin}/disk.raw`, format: 'raw', sha256: sha256(path.join(served, 'disk.raw')) }), 120);
    expect(raw).toMatchObject({ status: 'succeeded', result: { image: { file: 'rawdisk.img', format: 'raw', size_bytes: 256 * 1024 } } });
  }, 300_000);

  it('refuses a wrong checksum, an oversized download, a format other than declared and a backing file, leaving no file behind', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ name: 'wrongsum', url: `${origin}/blank.qcow2`, sha256: '0'.repeat(64) }, /checksum mismatch/],
      [{ name: 'huge', url: `${origin}/huge.raw`, format: 'raw', sha256: sha256(path.join(served, 'huge.raw')) }, /over the limit/],
      [{ name: 'liar', url: `${origin}/disk.raw`, format: 'qcow2', sha256: sha256(path.join(served, 'disk.raw')) }, /is raw, not qcow2/],
      [{ name: 'backed', url: `${origin}/backed.qcow2`, sha256: sha256(path.join(served, 'backed.qcow2')) }, /backing file/],
      [{ name: 'gone', url: `${origin}/nothing-here`, sha256: '1'.repeat(64) }, /answered 404/],
    ];
    for (const [body, message] of cases) {
      const op = await finished(api, admin, await upload(body), 120);
      expect(op).toMatchObject({ status: 'failed', error: { code: 'VALIDATION_ERROR' } });
      expect(op.error.message).toMatch(message);
    }
    expect(fs.readdirSync(images).filter((f) => /wrongsum|huge|liar|backed|gone|\.part$/.test(f))).toEqual([]);
  }, 300_000);

  it('upload: bad input is a 422 naming the field, no path can be named, only admins', async () => {
    const good = { name: 'x', url: `${origin}/blank.qcow2`, sha256: '0'.repeat(64) };
    for (const [patch, field] of [
      [{ name: '../etc/passwd' }, 'name'], [{ name: '.hidden' }, 'name'], [{ name: 'a/b' }, 'name'], [{ name: 'a..b' }, 'name'],
      [{ url: 'file:///etc/passwd' }, 'url'], [{ sha256: 'abc' }, 'sha256'], [{ format: 'vmdk' }, 'format'],
    ] as const) {
      const res = await upload({ ...good, ...patch });
      expectError(res, 422, 'VALIDATION_ERROR');
      expect([...new Set(res.body.error.details.errors.map((e: { field: string }) => e.field))]).toEqual([field]);
    }
    expectError(await upload(good, user.token), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('POST', `/api/v1/hosts/${host.id}/images`, { body: good }), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('POST', '/api/v1/hosts/99999999/images', { token: admin, body: good }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('DELETE', `/api/v1/hosts/${host.id}/images/..%2Fetc`, { token: admin }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('DELETE', `/api/v1/hosts/${host.id}/images/blank`, { token: user.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('DELETE', `/api/v1/hosts/${host.id}/images/blank`), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('DELETE', `/api/v1/hosts/99999999/images/blank`, { token: admin }), 404, 'RESOURCE_NOT_FOUND');
  });

  it('delete is refused while an instance uses the image; then removes it with its checksum and kernel files', async () => {
    const uuid = uniq('img');
    made.push(`idcflow-${uuid}`);
    const { op } = await createInstance(api, user.token, { uuid, host_id: host.id, image: IMAGE_NAME, cpu: 1, ram_mb: 64, disk_gb: 1 });
    expect(op.status).toBe('succeeded');
    expect((await listed()).find((i) => i.name === IMAGE_NAME)).toMatchObject({ instances: 1 });
    expectError(await api.call('DELETE', `/api/v1/hosts/${host.id}/images/${IMAGE_NAME}`, { token: admin }), 409, 'CONFLICT');
    expect(fs.existsSync(path.join(images, `${IMAGE_NAME}.qcow2`))).toBe(true);
    const row = await api.deps.knex('instances').where({ uuid }).first();
    expect((await finished(api, user.token, await api.call('DELETE', `/api/v1/instances/${row.id}`, { token: user.token }), 120)).status).toBe('succeeded');
    const del = await finished(api, admin, await api.call('DELETE', `/api/v1/hosts/${host.id}/images/${IMAGE_NAME}`, { token: admin }), 120);
    expect(del).toMatchObject({ status: 'succeeded', result: { name: IMAGE_NAME, existed: true } });
    expect(fs.readdirSync(images).filter((f) => f.startsWith(`${IMAGE_NAME}.`))).toEqual([]);
    expect((await listed()).map((i) => i.name)).not.toContain(IMAGE_NAME);
    expect(await finished(api, admin, await api.call('DELETE', `/api/v1/hosts/${host.id}/images/${IMAGE_NAME}`, { token: admin }), 120)).toMatchObject({ status: 'succeeded', result: { existed: false } });
  }, 400_000);

  it('on a host driven by its agent, the agent lists, downloads and deletes in its own image_dir', async () => {
    const agentImages = path.join(base, 'agent-images');
    const agentHost = await addHost(api, {
      engine_type: 'libvirt_qemu', address: 'qemu:///system', name: uniq('imgagent'), use_agent: true,
      options: { image_dir: agentImages, state_dir: path.join(base, 'agent-instances') },
    });
    const agent = await spawnAgent(api, agentHost, { ...process.env, LOG_LEVEL: 'info', IDCFLOW_AGENT_HEARTBEAT_SECONDS: '1' });
    try {
      const blank = path.join(served, 'blank.qcow2');
      const res = await api.call('POST', `/api/v1/hosts/${agentHost.id}/images`, { token: admin, body: { name: 'viaagent', url: `${origin}/blank.qcow2`, sha256: sha256(blank) } });
      expect(await finished(api, admin, res, 120)).toMatchObject({ status: 'succeeded', host: agentHost.name });
      expect(sha256(path.join(agentImages, 'viaagent.qcow2'))).toBe(sha256(blank));
      const list = await api.call('GET', `/api/v1/hosts/${agentHost.id}/images`, { token: user.token });
      expect(list.body.data.images.map((i: { name: string }) => i.name)).toEqual(['viaagent']);
      const del = await finished(api, admin, await api.call('DELETE', `/api/v1/hosts/${agentHost.id}/images/viaagent`, { token: admin }), 120);
      expect(del).toMatchObject({ status: 'succeeded', result: { existed: true } });
      expect(fs.readdirSync(agentImages)).toEqual([]);
    } finally {
      await agent.stop();
    }
    // Without its agent the host's images cannot be read: the calls went to the agent's task queue, not the main worker's.
    expectError(await api.call('GET', `/api/v1/hosts/${agentHost.id}/images`, { token: user.token }), 503, 'SERVICE_UNAVAILABLE');
  }, 300_000);

  it('an instance\'s ssh_keys must be OpenSSH public keys', async () => {
    const key = sshPublicKey();
    const [type, blob] = key.split(' ');
    for (const bad of ['not a key', `ssh-dss ${blob}`, `ssh-rsa ${blob}`, `${type} ${blob.slice(0, 20)}`, `${key}\nssh-ed25519 ${blob}`]) {
      const res = await api.call('POST', '/api/v1/instances', { token: user.token, body: { name: 'k', host_id: host.id, image: IMAGE_NAME, ssh_keys: [key, bad] } });
      expectError(res, 422, 'VALIDATION_ERROR');
      expect(res.body.error.details.errors.map((e: { field: string }) => e.field)).toEqual(['ssh_keys.1']);
    }
  });
});
