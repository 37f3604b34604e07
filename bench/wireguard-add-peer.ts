/**
 * WireGuard benchmark (`npm run bench:wireguard`, root, wg, wireguard-go, socat, ping): adding ONE client to a running
 * server that already has BENCH_PEERS peers (1,000), through idcflow (POST /api/v1/wireguard/clients → operation → the
 * host's agent `wg syncconf`s the server's whole peer list) against a raw `wg set <if> peer … allowed-ips …` of the same
 * peer, each timed until the peer is on the interface and until the new client's first ping through the tunnel passes
 * (its handshake done). The server and its agent live in one network namespace, the client in another.
 * Env: BENCH_PEERS (1000), BENCH_RUNS (5).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startStack } from './support';
import { NetnsFabric, netnsUnavailable } from '../test/support/netns';
import { agentInNetns } from '../test/netservices/agent-in-netns';
import { generateWgKeyPair } from '../shared/netservices/wireguard';

const PEERS = Number(process.env.BENCH_PEERS ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
/** The n-th address of 10.214.0.0/20 (the server is .0.1; n from 2). */
const nth = (n: number) => `10.214.${Math.floor(n / 256)}.${n % 256}`;

async function main() {
  const skip = await netnsUnavailable();
  if (skip) { console.log(`wireguard bench skipped: ${skip}`); return; }
  const stack = await startStack();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-wgbench-'));
  const fabric = new NetnsFabric();
  const { knex } = stack;
  let agent: Awaited<ReturnType<typeof agentInNetns>> | undefined;
  try {
    const [srv, cli] = await Promise.all([fabric.ns('wbs'), fabric.ns('wbc')]);
    await fabric.link(srv, cli, '10.213.0.1/24', '10.213.0.2/24');
    Object.assign(process.env, { DATABASE_URL: stack.config.databaseUrl, TEMPORAL_ADDRESS: stack.config.temporalAddress, IDCFLOW_MASTER_KEY: stack.config.masterKey.toString('hex'), LOG_LEVEL: 'warn' });
    const [host] = await knex('hosts').insert({ name: 'bench-wg', address: 'local', engine_type: 'simulator', use_agent: true }).returning('*');
    agent = await agentInNetns(stack.client, host, srv, path.join(dir, 'agent'), { IDCFLOW_WG_STATS_SECONDS: '30' });

    const login = await fetch(`${stack.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: stack.config.admin.username, password: stack.config.admin.password }) });
    const token = ((await login.json()) as Json).data.access_token as string;
    const call = async (method: string, p: string, body?: unknown): Promise<Json> => (await fetch(`${stack.url}${p}`, {
      method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
    })).json();
    const waitOp = async (id: string) => {
      for (;;) {
        const op = await call('GET', `/api/v1/operations/${id}/wait?timeout=30`);
        if (op.data.status === 'succeeded') return;
        if (op.data.status !== 'running' && op.data.status !== 'pending') throw new Error(JSON.stringify(op.data.error));
      }
    };

    const iface = 'wgbench0';
    const server = (await call('POST', '/api/v1/wireguard/servers', { name: 'bench', interface: iface, host_id: host.id, listen_port: 51820, ipv4_address: '10.214.0.1/20', endpoint: '10.213.0.1' })).data;
    if (!server?.id) throw new Error('server not created');
    // The existing peers, as rows (their keys are the clients' own), then one start applies them all.
    const rows = Array.from({ length: PEERS }, (_, i) => ({ server_id: server.id, name: `peer-${i}`, public_key: generateWgKeyPair().publicKey, ipv4_address: `${nth(i + 2)}/32`, allowed_ips: JSON.stringify(['10.214.0.0/20']) }));
    for (let i = 0; i < rows.length; i += 1000) await knex('wg_clients').insert(rows.slice(i, i + 1000));
    const started = await call('POST', `/api/v1/wireguard/servers/${server.id}/start`);
    if (started.data?.status !== 'running') throw new Error(`start: ${JSON.stringify(started)}`);
    const peersOn = async () => (await srv.exec('wg', ['show', iface, 'peers'])).trim().split('\n').filter(Boolean);
    console.log(`server ${iface} running with ${(await peersOn()).length} peers`);

    // One client interface, given a fresh key and address for each added peer.
    const client = 'wgbenchc';
    cli.spawn('wireguard-go', ['-f', client]);
    for (let i = 0; !(await cli.exec('ip', ['link', 'show', client]).then(() => true, () => false)); i++) {
      if (i > 100) throw new Error('wireguard-go did not create the client interface');
      await new Promise((r) => setTimeout(r, 100));
    }
    await cli.exec('wg', ['set', client, 'peer', server.public_key, 'endpoint', '10.213.0.1:51820', 'allowed-ips', '10.214.0.0/20']);
    await cli.exec('ip', ['link', 'set', client, 'up']);
    const keyFile = path.join(dir, 'client.key');
    const prepareClient = async (privateKey: string, address: string) => {
      fs.writeFileSync(keyFile, privateKey, { mode: 0o600 });
      await cli.exec('wg', ['set', client, 'private-key', keyFile]);
      await cli.exec('ip', ['address', 'flush', 'dev', client]);
      await cli.exec('ip', ['address', 'add', `${address}/32`, 'dev', client]);
      await cli.exec('ip', ['route', 'replace', '10.214.0.0/20', 'dev', client]);
    };
    const untilPing = async () => {
      for (let i = 0; i < 600; i++) {
        if (await cli.exec('ping', ['-c', '1', '-W', '1', '10.214.0.1']).then(() => true, () => false)) return;
      }
      throw new Error('the new client never reached the server');
    };

    const results = { idcflowApplied: [] as number[], idcflowPing: [] as number[], rawApplied: [] as number[], rawPing: [] as number[] };
    let next = PEERS + 2;
    for (let r = 0; r < RUNS; r++) {
      let keys = generateWgKeyPair();
      let address = nth(next++);
      await prepareClient(keys.privateKey, address);
      let t0 = performance.now();
      const created = await call('POST', '/api/v1/wireguard/clients', { name: `bench-${r}`, server_id: server.id, public_key: keys.publicKey, ipv4_address: `${address}/32`, allowed_ips: ['10.214.0.0/20'] });
      if (!created.data?.operation) throw new Error(JSON.stringify(created));
      await waitOp(created.data.operation.id);
      results.idcflowApplied.push(performance.now() - t0);
      await untilPing();
      results.idcflowPing.push(performance.now() - t0);

      keys = generateWgKeyPair();
      address = nth(next++);
      await prepareClient(keys.privateKey, address);
      t0 = performance.now();
      await srv.exec('wg', ['set', iface, 'peer', keys.publicKey, 'allowed-ips', `${address}/32`]);
      results.rawApplied.push(performance.now() - t0);
      await untilPing();
      results.rawPing.push(performance.now() - t0);
    }
    const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)])) as Record<keyof typeof results, number>;
    console.log(`\nWireGuard, ${new Date().toISOString()}, a server with ${PEERS.toLocaleString('en')} peers (${(await peersOn()).length} at the end), median of ${RUNS} (ms)\n`);
    console.log('| method | peer on the interface | first ping through the tunnel (handshake done) |');
    console.log('|---|---|---|');
    console.log(`| idcflow: POST client → operation → agent \`wg syncconf\` of every peer | ${m.idcflowApplied.toFixed(0)} | ${m.idcflowPing.toFixed(0)} |`);
    console.log(`| raw \`wg set <if> peer …\` | ${m.rawApplied.toFixed(0)} | ${m.rawPing.toFixed(0)} |`);
    console.log(`| ratio | ${(m.idcflowApplied / m.rawApplied).toFixed(1)}× | ${(m.idcflowPing / m.rawPing).toFixed(1)}× |`);
  } finally {
    await agent?.stop();
    await fabric.destroy();
    await stack.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
