import fs from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { startStack } from './support';
import { startPodman, TEST_IMAGE, type PodmanService } from '../test/support/podman';

type Json = { data: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

const N = Number(process.env.BENCH_N ?? 20);
const AT_ONCE = Number(process.env.BENCH_AT_ONCE ?? 10);

/**
 * Failover of N containers, from the host's death (its Docker API goes away) to all of them running on the other host:
 * detection by the health Schedule (every 1 s, unhealthy after 2 failed checks), the automatic failover operation
 * (fence, then N child workflows, AT_ONCE at a time). The ceiling: the raw engine creating and starting N containers with
 * dockerode, AT_ONCE at a time, on the same engine. Two Podman Docker API services on this machine are the two hosts.
 */
async function main() {
  const stack = await startStack({ IDCFLOW_HEALTH_INTERVAL_SECONDS: '1', IDCFLOW_HEALTH_UNHEALTHY_AFTER: '2', IDCFLOW_HEALTH_PROBE_SECONDS: '2', IDCFLOW_HA_MOVES_AT_ONCE: String(AT_ONCE) });
  const base = path.join(stack.config.dataDir, '..', 'hosts');
  const pods: PodmanService[] = [];
  try {
    for (const [i, subnet] of ['10.89.81.0/24', '10.89.82.0/24'].entries()) {
      fs.mkdirSync(path.join(base, String(i)), { recursive: true });
      const p = await startPodman(path.join(base, String(i)), { network: `idcbench${i}`, subnet });
      if ('skip' in p) throw new Error(p.skip);
      pods.push(p);
    }
    const [podA, podB] = pods;
    const login = await fetch(`${stack.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'bench-admin-password' }) });
    const token = ((await login.json()) as Json).data.access_token as string;
    const call = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(stack.url + p, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Json };
    };
    const host = async (name: string, pod: PodmanService, autoFailover: boolean) => {
      const h = (await call('POST', '/api/v1/hosts', { name, engine_type: 'docker', address: `unix://${pod.socketPath}` })).body.data;
      await call('PUT', `/api/v1/hosts/${h.id}/availability`, { auto_failover: autoFailover });
      return h.id as number;
    };
    const a = await host('bench-a', podA, true);
    await host('bench-b', podB, false);

    // Ceiling: the raw engine, N creates and starts, AT_ONCE at a time.
    const docker = new Docker({ socketPath: podB.socketPath });
    const raw = async (i: number) => {
      const c = await docker.createContainer({ name: `raw-${i}`, Image: TEST_IMAGE, Cmd: ['sleep', '3600'], HostConfig: { NanoCpus: 1e9, Memory: 32 * 1048576 } });
      await c.start();
    };
    let t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: AT_ONCE }, async () => { for (let i = next++; i < N; i = next++) await raw(i); }));
    const rawMs = performance.now() - t0;
    for (const c of await docker.listContainers({ all: true })) await docker.getContainer(c.Id).remove({ force: true });

    // N containers on A, through the API.
    const ops = await Promise.all(Array.from({ length: N }, async (_x, i) => {
      const res = await call('POST', '/api/v1/instances', { uuid: `bench-${i}`, name: `bench-${i}`, host_id: a, image: TEST_IMAGE, command: ['sleep', '3600'], cpu: 1, ram_mb: 32 });
      if (res.status !== 202) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.data.operation.id as string;
    }));
    for (const id of ops) {
      let done = await call('GET', `/api/v1/operations/${id}/wait?timeout=30`);
      while (['pending', 'running'].includes(done.body.data?.status)) done = await call('GET', `/api/v1/operations/${id}/wait?timeout=30`);
      if (done.body.data?.status !== 'succeeded') throw new Error(`create ${id}: ${JSON.stringify(done.body)}`);
    }
    await call('POST', '/api/v1/availability/health/check');

    // Death of A's engine; the health Schedule notices, the automatic failover moves everything to B.
    await podA.stopService();
    t0 = performance.now();
    let unhealthyAt = 0;
    let failoverId = '';
    for (;;) {
      if (!unhealthyAt && (await call('GET', `/api/v1/hosts/${a}/health`)).body.data.health === 'unhealthy') unhealthyAt = performance.now() - t0;
      if (!failoverId) {
        const list = await call('GET', '/api/v1/operations?type=host.failover');
        failoverId = list.body.data.operations?.[0]?.id ?? '';
      }
      if (failoverId) {
        const op = (await call('GET', `/api/v1/operations/${failoverId}`)).body.data;
        if (op.status === 'failed') throw new Error(`failover failed: ${JSON.stringify(op.error)}`);
        if (op.status === 'succeeded') break;
      }
      if (performance.now() - t0 > 300_000) throw new Error('failover did not finish in 5 minutes');
      await new Promise((r) => setTimeout(r, 100));
    }
    const totalMs = performance.now() - t0;
    const op = (await call('GET', `/api/v1/operations/${failoverId}`)).body.data;
    const opMs = new Date(op.finished_at).getTime() - new Date(op.created_at).getTime();
    const onB = (await docker.listContainers({ filters: { label: ['io.idcflow.managed=true'] } })).filter((c) => c.State === 'running').length;
    if (onB !== N || op.result.moved.length !== N) throw new Error(`expected ${N} running on B, found ${onB} (moved ${op.result.moved.length})`);

    console.log(`\nFailover of ${N} containers (${AT_ONCE} at once), two Podman hosts on this machine`);
    console.log('| measure | ms | ratio to raw create+start |\n|---|---|---|');
    console.log(`| raw engine: create + start ${N} containers (dockerode, ${AT_ONCE} at once; ceiling) | ${rawMs.toFixed(0)} | 1.00 |`);
    console.log(`| failover operation: fence + recreate ${N} (child workflows) | ${opMs.toFixed(0)} | ${(opMs / rawMs).toFixed(2)} |`);
    console.log(`| death → unhealthy (Schedule every 1 s, 2 failed checks) | ${unhealthyAt.toFixed(0)} | — |`);
    console.log(`| death → all ${N} running on the other host | ${totalMs.toFixed(0)} | ${(totalMs / rawMs).toFixed(2)} |`);
  } finally {
    for (const p of pods) {
      const d = new Docker({ socketPath: p.socketPath });
      await d.ping().catch(() => p.startService()).catch(() => undefined);
      for (const c of await d.listContainers({ all: true }).catch(() => [])) await d.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
      await p.stop();
    }
    await stack.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
