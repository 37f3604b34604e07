import { startTestApi, expectError, type TestApi, type TestUser } from '../support/api';
import { addHost, uniq } from '../support/compute';
import { generateWgKeyPair, wgPublicKeyOf } from '../../shared/netservices/wireguard';

let api: TestApi;
let admin: string;
let manager: TestUser;
let user: TestUser;
let other: TestUser;
let hostId: number;
beforeAll(async () => {
  api = await startTestApi({ IDCFLOW_QUOTA_WIREGUARD_CLIENTS: '100' });
  admin = await api.admin();
  [manager, user, other] = await Promise.all([api.createUser('manager'), api.createUser('user'), api.createUser('user')]);
  hostId = (await addHost(api, { use_agent: true })).id; // no agent runs for it: starts fail fast, saying so
});
afterAll(async () => { await api.close(); });

const server = async (body: Record<string, unknown> = {}, token = admin) => {
  const res = await api.call('POST', '/api/v1/wireguard/servers', { token, body: { name: uniq('wg').slice(0, 15), host_id: hostId, listen_port: 40000 + Math.floor(Math.random() * 20000), ipv4_address: '10.9.0.1/29', open_to_customers: true, ...body } });
  if (res.status !== 201) throw new Error(`server: ${res.status} ${res.text}`);
  return res.body.data;
};

describe('WireGuard through the API (no host changes)', () => {
  it('keys are X25519 in wg\'s form; the server\'s private key is shown once, never listed; addresses are allocated once each', async () => {
    const kp = generateWgKeyPair();
    expect(wgPublicKeyOf(kp.privateKey)).toBe(kp.publicKey);
    const s = await server({}, manager.token);
    expect(s).toMatchObject({ status: 'stopped', clients_count: 0, private_key: expect.any(String), host_id: hostId });
    expect(wgPublicKeyOf(s.private_key)).toBe(s.public_key);
    const list = await api.call('GET', '/api/v1/wireguard/servers?size=100', { token: admin });
    expect(list.text).not.toContain(s.private_key);
    expect(list.body.data.servers.find((x: { id: number }) => x.id === s.id).private_key).toBeUndefined();
    const row = await api.deps.knex('wg_servers').where({ id: s.id }).first();
    expect(row.private_key_sealed).not.toContain(s.private_key);

    // A /29: .1 is the server, .2-.6 for clients, then it is full.
    const got = [];
    for (let i = 0; i < 5; i++) {
      const c = await api.call('POST', '/api/v1/wireguard/clients', { token: user.token, body: { name: `c${i}`, server_id: s.id } });
      expect(c.status).toBe(201);
      expect(c.body.data.operation).toBeNull(); // the server is stopped: nothing to apply
      got.push(c.body.data.ipv4_address);
    }
    expect(got).toEqual(['10.9.0.2/32', '10.9.0.3/32', '10.9.0.4/32', '10.9.0.5/32', '10.9.0.6/32']);
    const full = await api.call('POST', '/api/v1/wireguard/clients', { token: user.token, body: { name: 'c5', server_id: s.id } });
    expectError(full, 409, 'CONFLICT');
    const clients = await api.call('GET', `/api/v1/wireguard/clients?server_id=${s.id}`, { token: user.token });
    expect(clients.body.data.clients).toHaveLength(5);
    expect(clients.text).not.toMatch(/private_key|PrivateKey/);
    // The owner downloads the config again, with the key it was given.
    const first = clients.body.data.clients[0];
    const config = await api.call('GET', `/api/v1/wireguard/clients/${first.id}/config`, { token: user.token });
    expect(config.body.data.config).toMatch(/^\[Interface\]\nPrivateKey = [A-Za-z0-9+/]{43}=\nAddress = 10\.9\.0\.2\/32/);
    expect(config.body.data.qr_code).toMatch(/^data:image\/png;base64,/);
    expect(config.headers.get('cache-control')).toBe('no-store');
    expectError(await api.call('GET', `/api/v1/wireguard/clients/${first.id}/config`, { token: other.token }), 404, 'RESOURCE_NOT_FOUND');
    expect((await api.call('GET', '/api/v1/wireguard/clients', { token: other.token })).body.data.clients).toEqual([]);
    expectError(await api.call('DELETE', `/api/v1/wireguard/servers/${s.id}`, { token: admin }), 409, 'CONFLICT');
  });

  it('IPv6: the next free address of the server\'s subnet, a requested one, or a prefix delegated from a pool', async () => {
    const s = await server({ ipv4_address: undefined, ipv6_address: 'fd10:9::1/64' });
    const a = await api.call('POST', '/api/v1/wireguard/clients', { token: user.token, body: { name: 'v6a', server_id: s.id } });
    expect(a.body.data).toMatchObject({ ipv4_address: null, ipv6_address: 'fd10:9::2/128' });
    const b = await api.call('POST', '/api/v1/wireguard/clients', { token: user.token, body: { name: 'v6b', server_id: s.id, ipv6_address: 'fd10:9::99' } });
    expect(b.body.data.ipv6_address).toBe('fd10:9::99/128');
    expectError(await api.call('POST', '/api/v1/wireguard/clients', { token: user.token, body: { name: 'v6c', server_id: s.id, ipv6_address: 'fd10:9::99' } }), 422, 'VALIDATION_ERROR');
    const pool = await api.call('POST', '/api/v1/ipv6/pools', { token: admin, body: { name: uniq('wgpool'), prefix: 'fd77:7700::/40', prefix_length: 64, open_to_customers: true } });
    const d = await api.call('POST', '/api/v1/wireguard/clients', { token: user.token, body: { name: 'v6d', server_id: s.id, ipv6_pool_id: pool.body.data.id } });
    expect(d.status).toBe(201);
    expect(d.body.data).toMatchObject({ ipv6_address: 'fd77:7700::/64', ipv6_allocation_id: expect.any(Number) });
    expect(d.body.data.config).toContain('Address = fd77:7700::/64');
    expectError(await api.call('DELETE', `/api/v1/ipv6/allocations/${d.body.data.ipv6_allocation_id}`, { token: user.token }), 409, 'CONFLICT');
    await api.call('DELETE', `/api/v1/wireguard/clients/${d.body.data.id}`, { token: user.token });
    expect((await api.call('GET', `/api/v1/ipv6/pools/${pool.body.data.id}`, { token: admin })).body.data.allocated_prefixes).toBe(0);
  });

  it('bad keys, addresses and CIDRs are 422 naming the field; duplicates 409', async () => {
    const s = await server();
    for (const [body, f] of [
      [{ public_key: 'not-a-key' }, 'public_key'], [{ public_key: 'A'.repeat(44) }, 'public_key'], [{ public_key: `${'A'.repeat(42)}B=` }, 'public_key'],
      [{ allowed_ips: ['10.0.0.0/33'] }, 'allowed_ips.0'], [{ allowed_ips: ['nonsense'] }, 'allowed_ips.0'], [{ allowed_ips: [] }, 'allowed_ips'],
      [{ ipv4_address: '10.9.0.1' }, 'ipv4_address'], [{ ipv4_address: '10.10.0.2' }, 'ipv4_address'], [{ ipv4_address: '10.9.0.2/24' }, 'ipv4_address'], [{ ipv4_address: '300.1.1.1' }, 'ipv4_address'],
      [{ ipv6_address: 'fd00::2' }, 'ipv6_address'], [{ dns_servers: ['dns.example'] }, 'dns_servers.0'], [{ expires_at: 'tomorrow' }, 'expires_at'],
      [{ name: '' }, 'name'], [{ server_id: 0 }, 'server_id'],
    ] as const) {
      const res = await api.call('POST', '/api/v1/wireguard/clients', { token: user.token, body: { name: 'x', server_id: s.id, ...body } });
      expectError(res, 422, 'VALIDATION_ERROR');
      expect(res.body.error.details.errors.map((e: { field: string }) => e.field)).toContain(f);
    }
    for (const [body, f] of [
      [{ listen_port: 70000 }, 'listen_port'], [{ ipv4_address: '10.9.0.0/24' }, 'ipv4_address'], [{ ipv4_address: '10.9.0.1' }, 'ipv4_address'], [{ ipv6_address: '10.9.0.1/24' }, 'ipv6_address'],
      [{ interface: 'much-too-long-interface' }, 'interface'], [{ interface: 'bad/if' }, 'interface'], [{ mtu: 100 }, 'mtu'], [{ host_id: 999999 }, 'host_id'],
      [{ ipv4_address: undefined }, 'ipv4_address'], [{ endpoint: 'a b' }, 'endpoint'],
    ] as const) {
      const res = await api.call('POST', '/api/v1/wireguard/servers', { token: admin, body: { name: uniq('b').slice(0, 15), host_id: hostId, listen_port: 51999, ipv4_address: '10.9.0.1/24', ...body } });
      expectError(res, 422, 'VALIDATION_ERROR');
      expect(res.body.error.details.errors.map((e: { field: string }) => e.field)).toContain(f);
    }
    expectError(await api.call('POST', '/api/v1/wireguard/servers', { token: admin, body: { name: uniq('d').slice(0, 15), interface: s.interface, host_id: hostId, listen_port: 1, ipv4_address: '10.8.0.1/24' } }), 409, 'CONFLICT');
    const own = generateWgKeyPair().publicKey;
    expect((await api.call('POST', '/api/v1/wireguard/clients', { token: user.token, body: { name: 'k1', server_id: s.id, public_key: own } })).status).toBe(201);
    expectError(await api.call('POST', '/api/v1/wireguard/clients', { token: user.token, body: { name: 'k2', server_id: s.id, public_key: own } }), 409, 'CONFLICT');
    expectError(await api.call('PUT', `/api/v1/wireguard/clients/1`, { token: admin, body: {} }), 422, 'VALIDATION_ERROR');
  });

  it('starting a server whose host agent is not running fails at once with SERVICE_UNAVAILABLE', async () => {
    const s = await server();
    const res = await api.call('POST', `/api/v1/wireguard/servers/${s.id}/start`, { token: admin });
    expectError(res, 503, 'SERVICE_UNAVAILABLE');
    expect(res.body.error.message).toMatch(/agent of host .* is offline/);
    expect((await api.call('GET', `/api/v1/wireguard/servers/${s.id}`, { token: admin })).body.data.desired_state).toBe('stopped');
    const health = await api.call('GET', '/api/v1/status/health/detailed', { token: admin });
    expect(health.body.data.components.wireguard).toMatchObject({ status: 'healthy', servers: expect.any(Number), clients: expect.any(Number) });
    expect(health.body.data.components.bgp).toMatchObject({ status: 'healthy', sessions: expect.any(Number) });
  });

  it('no token 401, users and viewers cannot manage servers 403, unknown ids 404', async () => {
    const s = await server();
    const c = (await api.call('POST', '/api/v1/wireguard/clients', { token: user.token, body: { name: 'mine', server_id: s.id } })).body.data;
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/api/v1/wireguard/servers'], ['POST', '/api/v1/wireguard/servers', {}], ['GET', `/api/v1/wireguard/servers/${s.id}`], ['DELETE', `/api/v1/wireguard/servers/${s.id}`],
      ['POST', `/api/v1/wireguard/servers/${s.id}/start`], ['POST', `/api/v1/wireguard/servers/${s.id}/stop`],
    ];
    const clientRoutes: Array<[string, string, unknown?]> = [
      ['GET', `/api/v1/wireguard/clients/${c.id}`], ['GET', `/api/v1/wireguard/clients/${c.id}/config`], ['PUT', `/api/v1/wireguard/clients/${c.id}`, { enabled: false }], ['DELETE', `/api/v1/wireguard/clients/${c.id}`],
    ];
    for (const [method, path, body] of [...routes, ...clientRoutes, ['GET', '/api/v1/wireguard/clients'], ['POST', '/api/v1/wireguard/clients', {}]] as Array<[string, string, unknown?]>) {
      expectError(await api.call(method, path, body ? { body } : {}), 401, 'INVALID_CREDENTIALS');
    }
    for (const [method, path, body] of routes) {
      expectError(await api.call(method, path, { token: user.token, ...(body ? { body: { name: 'x', listen_port: 1, ipv4_address: '10.1.0.1/24' } } : {}) }), 403, 'INSUFFICIENT_PERMISSIONS');
    }
    const viewer = await api.createUser('viewer');
    expectError(await api.call('POST', '/api/v1/wireguard/clients', { token: viewer.token, body: { name: 'v', server_id: s.id } }), 403, 'INSUFFICIENT_PERMISSIONS');
    for (const [method, path, body] of clientRoutes) expectError(await api.call(method, path, { token: other.token, ...(body ? { body } : {}) }), 404, 'RESOURCE_NOT_FOUND');
    for (const [method, path, body] of [...routes.slice(2), ...clientRoutes].map(([m, p, b]) => [m, p.replace(/\/(\d+)(\/|$)/, '/999999$2'), b] as [string, string, unknown?])) {
      expectError(await api.call(method, path, { token: admin, ...(body ? { body } : {}) }), 404, 'RESOURCE_NOT_FOUND');
    }
    expectError(await api.call('POST', '/api/v1/wireguard/clients', { token: user.token, body: { name: 'x', server_id: 999999 } }), 404, 'RESOURCE_NOT_FOUND');
    // Managers see every client; the owner disables and deletes its own.
    expect((await api.call('GET', `/api/v1/wireguard/clients/${c.id}`, { token: manager.token })).status).toBe(200);
    expect((await api.call('PUT', `/api/v1/wireguard/clients/${c.id}`, { token: user.token, body: { enabled: false } })).body.data).toMatchObject({ status: 'disabled', operation: null });
    expect((await api.call('DELETE', `/api/v1/wireguard/clients/${c.id}`, { token: user.token })).body.data).toMatchObject({ deleted: true });
    expect((await api.call('DELETE', `/api/v1/wireguard/servers/${s.id}`, { token: manager.token })).body.data).toMatchObject({ deleted: true });
  });
});
