/**
 * VM benchmark (`npm run bench:vm`, root with libvirt and QEMU): one run. VM create until the guest's first serial
 * output (the test image's boot marker), through idcflow (POST /api/v1/instances, the runbook, then the serial log)
 * against the same calls made by hand (qemu-img overlay, cloud-localds seed, virsh define + start, the serial log),
 * alternating, with the acceleration the driver's probe chose (TCG where KVM does not boot). Env: BENCH_VM (3).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { startStack } from './support';
import { acceleration } from '../activities/compute/engines/libvirt-host';
import { domainXml } from '../activities/compute/engines/libvirt-xml';
import { BOOT_MARKER, IMAGE_NAME, buildTestImage, ensureLibvirt, vmSkipReason } from '../test/support/vm-image';

const N = Number(process.env.BENCH_VM ?? 3);
const URI = 'qemu:///system';
const virsh = (...args: string[]) => execFileSync('virsh', ['-q', '-c', URI, ...args], { encoding: 'utf8' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilMarker(log: string, t0: number): Promise<number> {
  for (const deadline = Date.now() + 300_000; Date.now() < deadline; await sleep(50)) {
    if (fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes(BOOT_MARKER)) return performance.now() - t0;
  }
  throw new Error(`no boot marker in ${log}`);
}

async function main() {
  const skip = vmSkipReason();
  if (skip) { console.log(`VM benchmark skipped: ${skip}`); return; }
  await ensureLibvirt();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-bench-vm-'));
  fs.chmodSync(base, 0o755);
  const images = path.join(base, 'images');
  await buildTestImage(images);
  const accel = await acceleration('auto');
  const stack = await startStack();
  const made: string[] = [];
  try {
    const call = async (method: string, p: string, token?: string, body?: unknown) => {
      const res = await fetch(stack.url + p, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: body ? JSON.stringify(body) : undefined });
      return res.json() as Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const token = (await call('POST', '/api/v1/auth/login', undefined, { username: 'admin', password: 'bench-admin-password' })).data.access_token as string;
    const stateDir = path.join(base, 'instances');
    const host = (await call('POST', '/api/v1/hosts', token, { name: 'bench-kvm', address: URI, engine_type: 'libvirt_qemu', options: { image_dir: images, state_dir: stateDir, shutdown_seconds: 1 } })).data;
    const raw: number[] = [];
    const via: number[] = [];
    for (let i = 0; i < N; i++) {
      // By hand.
      const name = `bench-raw-${process.pid}-${i}`;
      const dir = path.join(base, 'raw', name);
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      fs.chmodSync(path.join(base, 'raw'), 0o755);
      made.push(name);
      let t0 = performance.now();
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', path.join(images, `${IMAGE_NAME}.qcow2`), path.join(dir, 'disk.qcow2'), '1G']);
      fs.writeFileSync(path.join(dir, 'meta-data'), `instance-id: ${name}\nlocal-hostname: ${name}\n`);
      fs.writeFileSync(path.join(dir, 'user-data'), '#cloud-config\n{}\n');
      execFileSync('cloud-localds', [path.join(dir, 'seed.img'), path.join(dir, 'user-data'), path.join(dir, 'meta-data')]);
      fs.writeFileSync(path.join(dir, 'domain.xml'), domainXml({
        name, accel, cpu: 1, ramMb: 128, disk: path.join(dir, 'disk.qcow2'), seed: path.join(dir, 'seed.img'), serialLog: path.join(dir, 'serial.log'),
        boot: { kernel: path.join(images, `${IMAGE_NAME}.kernel`), initrd: path.join(images, `${IMAGE_NAME}.initrd`), cmdline: fs.readFileSync(path.join(images, `${IMAGE_NAME}.cmdline`), 'utf8') },
        nics: [], network: { type: 'user', source: null }, meta: { uuid: name, name, owner: null, host: null, image: IMAGE_NAME, disk_gb: 1, ip4: null },
      }));
      virsh('define', path.join(dir, 'domain.xml'));
      virsh('start', name);
      raw.push(await untilMarker(path.join(dir, 'serial.log'), t0));
      virsh('destroy', name);
      virsh('undefine', name);
      // Through idcflow.
      const uuid = `bench-${process.pid}-${i}`;
      made.push(`idcflow-${uuid}`);
      t0 = performance.now();
      const created = await call('POST', '/api/v1/instances', token, { uuid, name: uuid, host_id: host.id, image: IMAGE_NAME, cpu: 1, ram_mb: 128, disk_gb: 1 });
      const opId = created.data.operation.id;
      for (;;) { const r = await call('GET', `/api/v1/operations/${opId}/wait?timeout=30`, token); if (r.data.status === 'succeeded') break; if (['failed', 'canceled'].includes(r.data.status)) throw new Error(JSON.stringify(r.data.error)); }
      via.push(await untilMarker(path.join(stateDir, `idcflow-${uuid}`, 'serial.log'), t0));
      const inst = await stack.knex('instances').where({ uuid }).first('id');
      const del = await call('DELETE', `/api/v1/instances/${inst.id}`, token);
      for (;;) { const r = await call('GET', `/api/v1/operations/${del.data.operation.id}/wait?timeout=30`, token); if (r.data.status !== 'running' && r.data.status !== 'pending') break; }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const s = (x: number) => `${(x / 1000).toFixed(2)} s`;
    console.log(`# idcflow VM benchmark — ${new Date().toISOString()}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, acceleration ${accel === 'kvm' ? 'KVM' : 'TCG (software)'}`);
    console.log(`## VM create until the guest's first serial output (${N} of each, alternating; 1 vCPU, 128 MB, Debian cloud kernel + busybox initramfs)`);
    console.log('| | median | mean |');
    console.log('|---|---|---|');
    console.log(`| by hand: qemu-img overlay + cloud-localds + virsh define + start (ceiling) | ${s(med(raw))} | ${s(mean(raw))} |`);
    console.log(`| idcflow: POST /api/v1/instances, operation succeeded, then the marker | ${s(med(via))} | ${s(mean(via))} |`);
    console.log(`| ratio | ${(med(via) / med(raw)).toFixed(2)}× | ${(mean(via) / mean(raw)).toFixed(2)}× |`);
  } finally {
    for (const name of made) for (const cmd of ['destroy', 'undefine']) spawnSync('virsh', ['-q', '-c', URI, cmd, name], { stdio: 'ignore' });
    await stack.stop();
    fs.rmSync(base, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
