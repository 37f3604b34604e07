import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { startTestApi, eventually, expectError, type TestApi } from '../support/api';
import { addHost, finished } from '../support/compute';
import { NetnsFabric, netnsUnavailable, type Netns } from '../support/netns';
import { generateWgKeyPair } from '../../shared/netservices/wireguard';
import { agentInNetns } from './agent-in-netns';
import { describeIfRunnable } from '../support/environment';

const why = netnsUnavailable(['wg', 'wireguard-go', 'ping', 'socat'], '.ci/run installs wireguard-tools, wireguard-go, iputils-ping, socat');
let api: TestApi;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-wg-'));
let fabric: NetnsFabric;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await fabric?.destroy();
  await api.close();
});

const tag = crypto.randomBytes(3).toString('hex');
const linkExists = (ns: Netns, name: string) => ns.exec('ip', ['link', 'show', 'dev', name]).then(() => true, () => false);

/** The client side as a user would set it up from the config file: wireguard-go, `wg setconf` (without wg-quick's lines), address, route. */
async function clientUp(ns: Netns, iface: string, config: string, address: string) {
  const file = path.join(dir, `${iface}.conf`);
  fs.writeFileSync(file, config.split('\n').filter((l) => !/^(Address|DNS|MTU)\s*=/.test(l)).join('\n'), { mode: 0o600 });
  ns.spawn('wireguard-go', ['-f', iface]);
  await eventually(() => linkExists(ns, iface), 10_000, `${iface} in ${ns.name}`);
  await ns.exec('wg', ['setconf', iface, file]);
  await ns.exec('ip', ['address', 'add', address, 'dev', iface]);
  await ns.exec('ip', ['link', 'set', iface, 'up']);
  await ns.exec('ip', ['route', 'replace', '10.214.0.0/24', 'dev', iface]);
}

const ping = (ns: Netns, to: string, count = 3) => ns.exec('ping', ['-c', String(count), '-i', '0.2', '-W', '1', to]).then(() => true, () => false);
const serverPeers = async (ns: Netns, iface: string) => (await ns.exec('wg', ['show', iface, 'dump'])).trim().split('\n').slice(1).map((l) => l.split('\t'));

describeIfRunnable(why, 'WireGuard applied for real: a server and its clients in two network namespaces', () => {
  it('handshake and ping through the tunnel; stats in the API; peers added and removed without dropping the others; disabled and expired clients cut off', async () => {
    fabric = new NetnsFabric();
    const [srv, cli] = await Promise.all([fabric.ns('wgsrv'), fabric.ns('wgcli')]);
    await fabric.link(srv, cli, '10.213.0.1/24', '10.213.0.2/24');
    const admin = await api.admin();
    const host = await addHost(api, { use_agent: true });
    const agent = await agentInNetns(api, host, srv, path.join(dir, 'agent'));
    try {
      const serverIf = `wgs${tag}`;
      const created = await api.call('POST', '/api/v1/wireguard/servers', { token: admin, body: {
        name: `wg-${tag}`, interface: serverIf, host_id: host.id, listen_port: 51820, ipv4_address: '10.214.0.1/24', endpoint: '10.213.0.1', mtu: 1420, open_to_customers: true,
      } });
      expect(created.status).toBe(201);
      const server = created.body.data;

      const started = await api.call('POST', `/api/v1/wireguard/servers/${server.id}/start`, { token: admin });
      expect(started.status).toBe(200);
      expect(started.body.data).toMatchObject({ id: server.id, status: 'running', started_at: expect.any(String), operation: { status: 'succeeded' } });
      expect(await srv.exec('wg', ['show', serverIf, 'listen-port'])).toBe('51820\n');
      expect(await srv.exec('ip', ['-4', 'address', 'show', 'dev', serverIf])).toContain('10.214.0.1/24');
      expect(await srv.exec('wg', ['show', serverIf, 'public-key'])).toBe(`${server.public_key}\n`);

      const user = await api.createUser('user');
      const first = await api.call('POST', '/api/v1/wireguard/clients', { token: user.token, body: { name: 'laptop', server_id: server.id, allowed_ips: ['10.214.0.0/24'] } });
      expect(first.status).toBe(201);
      const c1 = first.body.data;
      expect(c1).toMatchObject({ ipv4_address: '10.214.0.2/32', status: 'active', private_key: expect.any(String), qr_code: expect.stringMatching(/^data:image\/png;base64,/) });
      expect(c1.config).toContain(`Endpoint = 10.213.0.1:51820`);
      expect((await finished(api, user.token, c1.operation.id)).status).toBe('succeeded');

      await clientUp(cli, `wgc${tag}`, c1.config, '10.214.0.2/32');
      expect(await ping(cli, '10.214.0.1')).toBe(true);

      // The agent reads the interface into PostgreSQL: the API shows the handshake and the bytes.
      const stats = await eventually(async () => {
        const c = (await api.call('GET', `/api/v1/wireguard/clients/${c1.id}`, { token: user.token })).body.data;
        return c.last_handshake && c.bytes_received > 0 && c.bytes_sent > 0 ? c : null;
      }, 20_000, 'stats of the first client');
      expect(stats.endpoint).toMatch(/^10\.213\.0\.2:\d+$/);
      const handshakeBefore = (await serverPeers(srv, serverIf)).find((p) => p[0] === c1.public_key)![4];

      // A second client with its own key: added to the running interface; the first keeps its session.
      const own = generateWgKeyPair();
      const second = await api.call('POST', '/api/v1/wireguard/clients', { token: user.token, body: { name: 'phone', server_id: server.id, public_key: own.publicKey } });
      expect(second.status).toBe(201);
      expect(second.body.data.private_key).toBeUndefined();
      expect(second.body.data.config).toContain('PrivateKey = <your private key>');
      expect((await finished(api, user.token, second.body.data.operation.id)).status).toBe('succeeded');
      const peers = await serverPeers(srv, serverIf);
      expect(peers.map((p) => p[0]).sort()).toEqual([c1.public_key, own.publicKey].sort());
      expect(peers.find((p) => p[0] === c1.public_key)![4]).toBe(handshakeBefore);
      expect(await ping(cli, '10.214.0.1', 2)).toBe(true);

      // Disabled: gone from the interface, no traffic; enabled again: back.
      const disabled = await api.call('PUT', `/api/v1/wireguard/clients/${c1.id}`, { token: user.token, body: { enabled: false } });
      expect(disabled.body.data.status).toBe('disabled');
      expect((await finished(api, user.token, disabled.body.data.operation.id)).status).toBe('succeeded');
      expect((await serverPeers(srv, serverIf)).map((p) => p[0])).toEqual([own.publicKey]);
      expect(await ping(cli, '10.214.0.1', 2)).toBe(false);
      const enabled = await api.call('PUT', `/api/v1/wireguard/clients/${c1.id}`, { token: user.token, body: { enabled: true } });
      expect((await finished(api, user.token, enabled.body.data.operation.id)).status).toBe('succeeded');
      expect(await eventually(() => ping(cli, '10.214.0.1', 2), 15_000, 'ping after re-enabling')).toBe(true);

      // Expired: the agent takes it off the interface by itself, and it cannot pass traffic.
      const expiry = new Date(Date.now() + 3000).toISOString();
      const expiring = await api.call('PUT', `/api/v1/wireguard/clients/${c1.id}`, { token: user.token, body: { expires_at: expiry } });
      expect((await finished(api, user.token, expiring.body.data.operation.id)).status).toBe('succeeded');
      await eventually(async () => !(await serverPeers(srv, serverIf)).some((p) => p[0] === c1.public_key), 20_000, 'expired peer removed');
      expect((await api.call('GET', `/api/v1/wireguard/clients/${c1.id}`, { token: user.token })).body.data.status).toBe('expired');
      expect(await ping(cli, '10.214.0.1', 2)).toBe(false);

      // Deleting a client removes its peer; stopping removes the interface.
      const deleted = await api.call('DELETE', `/api/v1/wireguard/clients/${second.body.data.id}`, { token: user.token });
      expect((await finished(api, user.token, deleted.body.data.operation.id)).status).toBe('succeeded');
      expect(await serverPeers(srv, serverIf)).toEqual([]);
      const stopped = await api.call('POST', `/api/v1/wireguard/servers/${server.id}/stop`, { token: admin });
      expect(stopped.body.data).toMatchObject({ status: 'stopped', stopped_at: expect.any(String) });
      expect(await linkExists(srv, serverIf)).toBe(false);
    } finally {
      await agent.stop();
    }
  });

  it('an agent killed in the middle of an apply: once it is back, the interface has exactly the desired peers', async () => {
    fabric ??= new NetnsFabric();
    const srv = await fabric.ns('wgcrash');
    const admin = await api.admin();
    const host = await addHost(api, { use_agent: true });
    const agent = await agentInNetns(api, host, srv, path.join(dir, 'agent-crash'), { IDCFLOW_FAULT_DELAY: 'netservicesWireguardApply.after:5000' });
    try {
      const iface = `wgk${tag}`;
      const server = (await api.call('POST', '/api/v1/wireguard/servers', { token: admin, body: { name: `crash-${tag}`, interface: iface, host_id: host.id, listen_port: 51830, ipv4_address: '10.215.0.1/24' } })).body.data;
      const start = await api.call('POST', `/api/v1/wireguard/servers/${server.id}/start`, { token: admin, headers: { Prefer: 'respond-async' } });
      expect(start.status).toBe(202);
      // The apply has made the interface (with no peers yet) and not yet answered: clients arrive, the agent dies.
      await eventually(() => linkExists(srv, iface), 30_000, 'interface made by the first apply');
      const keys = [generateWgKeyPair().publicKey, generateWgKeyPair().publicKey];
      for (const [i, k] of keys.entries()) {
        await api.deps.knex('wg_clients').insert({ server_id: server.id, name: `k${i}`, public_key: k, ipv4_address: `10.215.0.${i + 2}/32`, allowed_ips: '[]' });
      }
      await agent.kill();
      await agent.restart();
      const op = await finished(api, admin, start.body.data.operation.id, 120);
      expect(op.status).toBe('succeeded');
      expect((await serverPeers(srv, iface)).map((p) => p[0]).sort()).toEqual([...keys].sort());
      expectError(await api.call('DELETE', `/api/v1/wireguard/servers/${server.id}`, { token: admin }), 409, 'CONFLICT');
    } finally {
      await agent.stop();
    }
  });
});
