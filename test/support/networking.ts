import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NetnsFabric, type Netns } from './netns';
import type { Spawned } from './processes';
import { spawnAgent, type AgentApiClient } from './agents';
import { firstReason, missingTools, needsRoot } from './environment';
import { addHost, createInstance } from './compute';
import type { TestApi } from './api';

/** Polls until `check` is truthy (this file is also used by bench/, outside jest, so it does not import ./api). */
async function until(check: () => Promise<unknown>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Why the networking tests cannot run here (root, ip, nft, curl, python3, caddy), or null. */
export function networkingUnavailable(opts: { caddy?: boolean } = {}): string | null {
  return firstReason(needsRoot('network namespaces and nftables'),
    () => missingTools(['ip', 'nft', 'curl', 'python3', ...(opts.caddy ? ['caddy'] : [])], '.ci/run installs iproute2, nftables, curl, python3, caddy'));
}

/**
 * Three namespaces: `host` (the host's network: nft and Caddy run there, forwarding on), `inst` (the instance, a plain
 * HTTP server on 10.77.0.2:8080 and [fd77::2]:8080 whose default routes are the host) and `client` (10.78.0.2 and
 * fd78::2, reaching the host's public address 10.78.0.1 and the routed public blocks 10.78.1.0/29 and fd78:1::/120
 * through it). The agent process runs in the machine's own
 * namespace (it reaches PostgreSQL and Temporal on loopback) and runs nft inside `host` (IDCFLOW_NETWORK_NETNS).
 */
export async function networkFabric() {
  const fabric = new NetnsFabric();
  const host = await fabric.ns('nh');
  const inst = await fabric.ns('ni');
  const client = await fabric.ns('nc');
  const toClient = await fabric.link(host, client, '10.78.0.1/24', '10.78.0.2/24');
  const toInst = await fabric.link(host, inst, '10.77.0.1/24', '10.77.0.2/24');
  // IPv6 alongside (nodad: usable at once): fd78::/64 outside, fd77::/64 inside, fd78:1::/120 routed to the host to bind.
  for (const [ns, dev, addr] of [[host, toClient.a, 'fd78::1/64'], [client, toClient.b, 'fd78::2/64'], [host, toInst.a, 'fd77::1/64'], [inst, toInst.b, 'fd77::2/64']] as const) {
    await ns.exec('ip', ['-6', 'addr', 'add', addr, 'dev', dev, 'nodad']);
  }
  await inst.exec('ip', ['route', 'add', 'default', 'via', '10.77.0.1']);
  await inst.exec('ip', ['-6', 'route', 'add', 'default', 'via', 'fd77::1']);
  await client.exec('ip', ['route', 'add', '10.78.1.0/29', 'via', '10.78.0.1']);
  await client.exec('ip', ['-6', 'route', 'add', 'fd78:1::/120', 'via', 'fd78::1']);
  await host.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  await host.exec('sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-net-'));
  fs.mkdirSync(path.join(dir, 'www'));
  fs.writeFileSync(path.join(dir, 'www', 'index.html'), 'hello from the instance\n');
  for (const bind of ['10.77.0.2', 'fd77::2']) inst.spawn('python3', ['-m', 'http.server', '8080', '--bind', bind, '--directory', path.join(dir, 'www')]);
  for (const url of ['http://10.77.0.2:8080/', 'http://[fd77::2]:8080/']) {
    await until(async () => (await inst.exec('curl', ['-sg', '-m', '2', url]).catch(() => '')).includes('hello'), 15_000, `the instance's HTTP server at ${url}`);
  }
  return { fabric, host, inst, client, dir, destroy: async () => { await fabric.destroy(); fs.rmSync(dir, { recursive: true, force: true }); } };
}
export type NetworkFabric = Awaited<ReturnType<typeof networkFabric>>;

/** Caddy inside the host namespace, its admin API on a unix socket (the agent loads the whole config there). */
export async function startCaddy(host: Netns, dir: string) {
  const home = path.join(dir, 'caddy-home');
  fs.mkdirSync(home, { recursive: true });
  const socket = path.join(dir, 'caddy-admin.sock');
  const storage = path.join(dir, 'caddy-storage');
  fs.writeFileSync(path.join(dir, 'caddy-init.json'), JSON.stringify({ admin: { listen: `unix/${socket}`, config: { persist: false } } }));
  host.spawn('caddy', ['run', '--config', path.join(dir, 'caddy-init.json')], { ...process.env, HOME: home, XDG_DATA_HOME: path.join(home, 'data'), XDG_CONFIG_HOME: path.join(home, 'config') });
  await until(async () => fs.existsSync(socket), 15_000, 'Caddy\'s admin socket');
  return { socket, storage, rootCert: path.join(storage, 'pki', 'authorities', 'idcflow', 'root.crt') };
}

/** The host's agent as a real process (joined with a token of its own), running its network commands inside the host namespace. */
export function spawnNetworkAgent(api: AgentApiClient, host: { id: number }, netns: string, env: NodeJS.ProcessEnv = {}): Promise<Spawned> {
  return spawnAgent(api, host, { ...process.env, LOG_LEVEL: 'info', IDCFLOW_AGENT_HEARTBEAT_SECONDS: '1', IDCFLOW_NETWORK_NETNS: netns, ...env });
}

/** An agent host for the fabric: public address 10.78.0.1 (forwards), 10.78.1.0/29 and fd78:1::/120 to bind, NAT ports 20000-20099. */
export function addNetworkHost(api: TestApi, extra: Record<string, unknown> = {}) {
  return addHost(api, {
    use_agent: true, nat_port_start: 20000, nat_port_end: 20099, public_addresses: ['10.78.0.1', '10.78.1.0/29', 'fd78:1::/120'],
    ip_pools: [{ cidr: '10.77.0.0/24', gateway: '10.77.0.1' }], ...extra,
  });
}

/**
 * An instance at 10.77.0.2 and fd77::2 (the fabric's instance namespace) on that host, owned by the token's user. An
 * admin places the addresses (a tenant cannot choose them): 10.77.0.2 from the host's pool, fd77::2 by hand.
 */
export async function addFabricInstance(api: TestApi, token: string, hostId: number, addresses: { ip4: string; ip6?: string } = { ip4: '10.77.0.2', ip6: 'fd77::2' }) {
  const me = await api.call('GET', '/api/v1/auth/me', { token });
  const ownerId = me.body.data.id as number;
  const { op } = await createInstance(api, await api.admin(), { host_id: hostId, owner_id: ownerId, nics: [{ name: 'eth0', ...addresses }] });
  if (op.status !== 'succeeded') throw new Error(`instance create ${op.status}: ${JSON.stringify(op.error)}`);
  return { uuid: op.resource.id as string };
}

/** An HTTP GET from inside a namespace: the body, or null when the connection failed. */
export async function curlFrom(ns: Netns, url: string, extra: string[] = []): Promise<string | null> {
  try {
    return await ns.exec('curl', ['-sS', '-m', '3', '--fail', ...extra, url]);
  } catch {
    return null;
  }
}

/** An idcflow table (`ip` by default, or `ip6`) as nft lists it in a namespace, or null when it is absent. */
export async function nftTable(ns: Netns, family: 'ip' | 'ip6' = 'ip'): Promise<{ nftables: Array<Record<string, any>> } | null> { // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    return JSON.parse(await ns.exec('nft', ['-j', 'list', 'table', family, 'idcflow']));
  } catch {
    return null;
  }
}

/**
 * A proxy's domain marked verified by an admin (the override of the proof of control), so that it is served: the
 * verify operation's outcome. Tests of what proxies do once served use it; test/networking/domain-proof.test.ts proves
 * domains for real.
 */
export async function verifyDomain(api: TestApi, adminToken: string, instanceUuid: string, domain: string) {
  const list = await api.call('GET', `/api/v1/instances/${instanceUuid}/proxies`, { token: adminToken });
  const proxy = (list.body.data?.proxies ?? []).find((p: { domain: string }) => p.domain === domain);
  if (!proxy) throw new Error(`no proxy ${domain} on ${instanceUuid}: ${list.status} ${list.text}`);
  const res = await api.call('POST', `/api/v1/instances/${instanceUuid}/proxies/${proxy.id}/verify`, { token: adminToken, body: { force: true } });
  const id = res.body?.data?.operation?.id;
  if (!id) throw new Error(`verify ${domain}: ${res.status} ${res.text}`);
  for (const deadline = Date.now() + 60_000; ;) {
    const op = await api.call('GET', `/api/v1/operations/${id}/wait?timeout=30`, { token: adminToken });
    if (['succeeded', 'failed', 'canceled'].includes(op.body.data?.status) || Date.now() > deadline) return op.body.data;
  }
}
