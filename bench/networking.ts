/**
 * Networking benchmark (`npm run bench:networking`, root, nft and curl needed): adding ONE port forward on a host that
 * already has 10 / 1,000 / 10,000, through idcflow (POST → operation → the agent applies the host's whole state →
 * traffic passes), against a raw `nft add element` and a raw `nft add rule` of the same forward on the same host, each
 * timed until a client's connection passes. Also the agent's own apply time (network_applies.duration_ms).
 * Env: BENCH_SIZES (10,1000,10000), BENCH_RUNS (5 per size and method).
 */
import { performance } from 'node:perf_hooks';
import { startStack } from './support';
import { curlFrom, networkFabric, networkingUnavailable, spawnNetworkAgent } from '../test/support/networking';

const SIZES = (process.env.BENCH_SIZES ?? '10,1000,10000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

async function untilPasses(client: Awaited<ReturnType<typeof networkFabric>>['client'], port: number) {
  for (let i = 0; i < 2000; i++) {
    if (await curlFrom(client, `http://10.78.0.1:${port}/`, ['-m', '1'])) return;
  }
  throw new Error(`port ${port} never passed`);
}

async function main() {
  const skip = networkingUnavailable();
  if (skip) { console.log(`networking bench skipped: ${skip}`); return; }
  const stack = await startStack();
  const net = await networkFabric();
  const { knex } = stack;
  let agent: Awaited<ReturnType<typeof spawnNetworkAgent>> | undefined;
  try {
    const [host] = await knex('hosts').insert({
      name: 'bench-net', address: 'local', engine_type: 'simulator', use_agent: true, nat_port_start: 10000, nat_port_end: 60000,
      public_addresses: JSON.stringify(['10.78.0.1']),
    }).returning('*');
    const admin = await knex('users').where({ username: stack.config.admin.username }).first();
    const [inst] = await knex('instances').insert({
      uuid: 'bench-vm', host_id: host.id, name: 'bench', state: 'running', owner_id: admin.id, nics: JSON.stringify([{ name: 'eth0', ip4: '10.77.0.2' }]),
    }).returning('*');
    agent = await spawnNetworkAgent(stack.client, host, net.host.name, {
      DATABASE_URL: stack.config.databaseUrl, TEMPORAL_ADDRESS: stack.config.temporalAddress, IDCFLOW_DATA_DIR: stack.config.dataDir,
      IDCFLOW_MASTER_KEY: stack.config.masterKey.toString('hex'), IDCFLOW_NETWORK_RECONCILE_SECONDS: '0',
    });
    const login = await fetch(`${stack.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: stack.config.admin.username, password: stack.config.admin.password }) });
    const token = ((await login.json()) as Json).data.access_token as string;
    const call = async (method: string, path: string, body?: unknown): Promise<Json> => (await fetch(`${stack.url}${path}`, {
      method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', prefer: 'respond-async' }, body: body ? JSON.stringify(body) : undefined,
    })).json();
    const addThroughIdcflow = async (port: number) => {
      const res = await call('POST', `/api/v1/instances/${inst.uuid}/port-forwards`, { external_port: port, internal_port: 8080 });
      if (!res.data?.operation) throw new Error(JSON.stringify(res));
      return res.data.operation.id as string;
    };
    const waitOp = async (id: string) => {
      for (;;) {
        const op = await call('GET', `/api/v1/operations/${id}/wait?timeout=30`);
        if (op.data.status === 'succeeded') return;
        if (op.data.status !== 'running' && op.data.status !== 'pending') throw new Error(JSON.stringify(op.data.error));
      }
    };

    const rows: string[] = [];
    let nextPort = 10000;
    for (const size of SIZES) {
      // Bring the host to `size` existing forwards (rows, then one apply through idcflow).
      const have = Number((await knex('port_forwards').where({ host_id: host.id }).count('* as c'))[0].c);
      const batch = Array.from({ length: size - have - 1 }, () => ({
        host_id: host.id, instance_id: inst.id, protocol: 'tcp', external_address: '10.78.0.1', external_port: nextPort++, internal_address: '10.77.0.2', internal_port: 8080, state: 'active',
      }));
      for (let i = 0; i < batch.length; i += 1000) await knex('port_forwards').insert(batch.slice(i, i + 1000));
      await waitOp(await addThroughIdcflow(nextPort++));

      const idcflow: number[] = [];
      const applyMs: number[] = [];
      const element: number[] = [];
      const rule: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        let port = nextPort++;
        let t0 = performance.now();
        const opId = await addThroughIdcflow(port);
        await untilPasses(net.client, port);
        idcflow.push(performance.now() - t0);
        await waitOp(opId);
        applyMs.push((await knex('network_applies').where({ host_id: host.id }).orderBy('id', 'desc').first()).duration_ms);
        // Remove it again, so the size stays; the raw additions below are undone by the next idcflow apply.
        const row = await knex('port_forwards').where({ host_id: host.id, external_port: port }).first();
        await waitOp((await call('DELETE', `/api/v1/instances/${inst.uuid}/port-forwards/${row.id}`)).data.operation.id);

        port = nextPort++;
        t0 = performance.now();
        await net.host.exec('nft', ['add', 'element', 'ip', 'idcflow', 'tcp_fwd', `{ 10.78.0.1 . ${port} : 10.77.0.2 . 8080 }`]);
        await untilPasses(net.client, port);
        element.push(performance.now() - t0);

        port = nextPort++;
        t0 = performance.now();
        await net.host.exec('nft', ['add', 'rule', 'ip', 'idcflow', 'prerouting', 'ip', 'daddr', '10.78.0.1', 'tcp', 'dport', String(port), 'dnat', 'to', '10.77.0.2:8080']);
        await untilPasses(net.client, port);
        rule.push(performance.now() - t0);
      }
      const [i, e, ru] = [median(idcflow), median(element), median(rule)];
      rows.push(`| ${size.toLocaleString('en')} | ${i.toFixed(0)} | ${median(applyMs)} | ${e.toFixed(0)} | ${ru.toFixed(0)} | ${(i / e).toFixed(1)}× | ${(i / ru).toFixed(1)}× |`);
      console.log(rows[rows.length - 1]);
    }
    console.log(`\nNetworking, ${new Date().toISOString()}, median of ${RUNS} per size (ms, each until a client connection through the new forward passes)\n`);
    console.log('| existing forwards | idcflow: POST → operation → agent apply → traffic | of which the agent\'s apply | raw `nft add element` | raw `nft add rule` | ratio vs element | ratio vs rule |');
    console.log('|---|---|---|---|---|---|---|');
    for (const r of rows) console.log(r);
  } finally {
    await agent?.stop();
    await net.destroy();
    await stack.stop();
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
