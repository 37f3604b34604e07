import crypto from 'node:crypto';
import { startTestApi, expectError, type TestApi, type TestUser } from '../support/api';
import { addHost, uniq } from '../support/compute';

/**
 * Issue 22, as a hostile customer: WireGuard servers and IPv6 pools are the operator's (a customer reaches only those
 * opened to customers), clients and allocations are their owner's, and both count against per-user quotas.
 */
let api: TestApi;
let admin: string;
let manager: TestUser;
let victim: TestUser;
let attacker: TestUser;
let hostId: number;
beforeAll(async () => {
  api = await startTestApi();
  admin = await api.admin();
  [manager, victim, attacker] = await Promise.all([api.createUser('manager'), api.createUser('user'), api.createUser('user')]);
  hostId = (await addHost(api, { use_agent: true })).id;
});
afterAll(async () => { await api.close(); });

const ula = () => { const b = crypto.randomBytes(3).toString('hex'); return `fd${b.slice(0, 2)}:${b.slice(2)}::/48`; };
const server = async (open: boolean) => {
  const res = await api.call('POST', '/api/v1/wireguard/servers', { token: manager.token, body: {
    name: uniq('wgt').slice(0, 15), host_id: hostId, listen_port: 20000 + Math.floor(Math.random() * 20000), ipv4_address: '10.77.0.1/24', open_to_customers: open,
  } });
  if (res.status !== 201) throw new Error(`server: ${res.status} ${res.text}`);
  return res.body.data as { id: number; open_to_customers: boolean };
};
const pool = async (open: boolean) => {
  const res = await api.call('POST', '/api/v1/ipv6/pools', { token: manager.token, body: { name: uniq('pt'), prefix: ula(), prefix_length: 64, open_to_customers: open } });
  if (res.status !== 201) throw new Error(`pool: ${res.status} ${res.text}`);
  return res.body.data as { id: number; open_to_customers: boolean };
};
const count = async (table: string, where: Record<string, unknown>) => Number((await api.deps.knex(table).where(where).count<{ n: string }[]>('* as n'))[0].n);

describe('network services: operator resources, owned clients and allocations, quotas', () => {
  it('a customer cannot attach to a server or allocate from a pool that is not open to customers (404, nothing made); managers open them', async () => {
    const closed = await server(false);
    expect(closed.open_to_customers).toBe(false);
    expectError(await api.call('POST', '/api/v1/wireguard/clients', { token: attacker.token, body: { name: 'sneak', server_id: closed.id } }), 404, 'RESOURCE_NOT_FOUND');
    expect(await count('wg_clients', { server_id: closed.id })).toBe(0);
    const closedPool = await pool(false);
    expectError(await api.call('POST', '/api/v1/ipv6/allocations', { token: attacker.token, body: { pool_id: closedPool.id, client_name: 'sneak' } }), 404, 'RESOURCE_NOT_FOUND');
    // Nor through a client of an open server that asks for a prefix of the closed pool.
    const open = await server(true);
    expectError(await api.call('POST', '/api/v1/wireguard/clients', { token: attacker.token, body: { name: 'sneak6', server_id: open.id, ipv6_pool_id: closedPool.id } }), 404, 'RESOURCE_NOT_FOUND');
    expect(await count('ipv6_allocations', { pool_id: closedPool.id })).toBe(0);
    expect(await count('wg_clients', { server_id: open.id })).toBe(0);

    // Customers cannot open them, nor change or list the operator's servers and pools; managers can.
    expectError(await api.call('PUT', `/api/v1/wireguard/servers/${closed.id}`, { token: attacker.token, body: { open_to_customers: true } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('PUT', `/api/v1/ipv6/pools/${closedPool.id}`, { token: attacker.token, body: { open_to_customers: true } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('PUT', `/api/v1/wireguard/servers/${closed.id}`, { body: { open_to_customers: true } }), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('PUT', `/api/v1/wireguard/servers/${closed.id}`, { token: manager.token, body: {} }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('PUT', `/api/v1/ipv6/pools/${closedPool.id}`, { token: manager.token, body: { open_to_customers: 'yes' } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('PUT', '/api/v1/wireguard/servers/999999', { token: manager.token, body: { open_to_customers: true } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('PUT', '/api/v1/ipv6/pools/999999', { token: manager.token, body: { open_to_customers: true } }), 404, 'RESOURCE_NOT_FOUND');
    for (const [method, path, body] of [
      ['POST', '/api/v1/bgp/sessions', { name: 'evil', neighbor: '192.0.2.1', remote_as: 65001, local_as: 65000 }], ['POST', '/api/v1/bgp/announcements', { prefix: '192.0.2.0/24' }],
      ['POST', '/api/v1/bgp/allowed-prefixes', { prefix: '0.0.0.0/0' }], ['POST', '/api/v1/wireguard/servers', { name: 'evil', listen_port: 1, ipv4_address: '10.1.0.1/24' }],
      ['POST', '/api/v1/ipv6/pools', { name: 'evil', prefix: ula(), prefix_length: 64 }],
    ] as const) expectError(await api.call(method, path, { token: attacker.token, body }), 403, 'INSUFFICIENT_PERMISSIONS');

    expect((await api.call('PUT', `/api/v1/wireguard/servers/${closed.id}`, { token: manager.token, body: { open_to_customers: true } })).body.data.open_to_customers).toBe(true);
    expect((await api.call('PUT', `/api/v1/ipv6/pools/${closedPool.id}`, { token: admin, body: { open_to_customers: true } })).body.data.open_to_customers).toBe(true);
    expect((await api.call('POST', '/api/v1/wireguard/clients', { token: victim.token, body: { name: 'now', server_id: closed.id, ipv6_pool_id: closedPool.id } })).status).toBe(201);
    // Admins and managers attach to any server.
    const staffOnly = await server(false);
    expect((await api.call('POST', '/api/v1/wireguard/clients', { token: manager.token, body: { name: 'ops', server_id: staffOnly.id } })).status).toBe(201);
  });

  it('another customer\'s clients and allocations are 404 to read, change, delete; lists show only one\'s own; admins see all', async () => {
    const s = await server(true);
    const p = await pool(true);
    const c = (await api.call('POST', '/api/v1/wireguard/clients', { token: victim.token, body: { name: 'victim', server_id: s.id } })).body.data;
    const a = (await api.call('POST', '/api/v1/ipv6/allocations', { token: victim.token, body: { pool_id: p.id, client_name: 'victim' } })).body.data;
    for (const [method, path, body] of [
      ['GET', `/api/v1/wireguard/clients/${c.id}`], ['GET', `/api/v1/wireguard/clients/${c.id}/config`], ['PUT', `/api/v1/wireguard/clients/${c.id}`, { enabled: false }],
      ['DELETE', `/api/v1/wireguard/clients/${c.id}`], ['GET', `/api/v1/ipv6/allocations/${a.id}`], ['DELETE', `/api/v1/ipv6/allocations/${a.id}`],
    ] as const) expectError(await api.call(method, path, { token: attacker.token, ...(body ? { body } : {}) }), 404, 'RESOURCE_NOT_FOUND');
    expect((await api.deps.knex('wg_clients').where({ id: c.id }).first()).enabled).toBe(true);
    expect(await count('ipv6_allocations', { id: a.id })).toBe(1);
    expect((await api.call('GET', `/api/v1/wireguard/clients?server_id=${s.id}`, { token: attacker.token })).body.data.clients).toEqual([]);
    expect((await api.call('GET', `/api/v1/ipv6/allocations?pool_id=${p.id}`, { token: attacker.token })).body.data.allocations).toEqual([]);
    expect((await api.call('GET', `/api/v1/wireguard/clients?server_id=${s.id}`, { token: admin })).body.data.clients.map((x: { id: number }) => x.id)).toEqual([c.id]);
    expect((await api.call('GET', `/api/v1/ipv6/allocations/${a.id}`, { token: admin })).status).toBe(200);
  });

  it('WireGuard clients and IPv6 allocations count against per-user quotas an admin sets: over one is a 409 naming it, nothing made', async () => {
    const s = await server(true);
    const p = await pool(true);
    const user = await api.createUser('user');
    const before = (await api.call('GET', `/api/v1/users/${user.id}/network-quota`, { token: user.token })).body.data;
    expect(before).toMatchObject({ quota: { wireguard_clients: 5, ipv6_allocations: 5 }, used: { wireguard_clients: 0, ipv6_allocations: 0 }, source: 'default' });
    const set = await api.call('PUT', `/api/v1/users/${user.id}/network-quota`, { token: admin, body: { nat_ports: 10, proxies: 5, addresses: 2, wireguard_clients: 1, ipv6_allocations: 1 } });
    expect(set.body.data).toMatchObject({ quota: { wireguard_clients: 1, ipv6_allocations: 1 }, source: 'user' });
    expectError(await api.call('PUT', `/api/v1/users/${user.id}/network-quota`, { token: user.token, body: { nat_ports: 10, proxies: 5, addresses: 2, wireguard_clients: 100 } }), 403, 'INSUFFICIENT_PERMISSIONS');
    const bad = await api.call('PUT', `/api/v1/users/${user.id}/network-quota`, { token: admin, body: { nat_ports: 10, proxies: 5, addresses: 2, wireguard_clients: -1 } });
    expectError(bad, 422, 'VALIDATION_ERROR');
    expect(bad.body.error.details.errors.map((e: { field: string }) => e.field)).toContain('wireguard_clients');

    expect((await api.call('POST', '/api/v1/wireguard/clients', { token: user.token, body: { name: 'one', server_id: s.id } })).status).toBe(201);
    const over = await api.call('POST', '/api/v1/wireguard/clients', { token: user.token, body: { name: 'two', server_id: s.id } });
    expectError(over, 409, 'CONFLICT');
    expect(over.body.error.details).toMatchObject({ quota: 'wireguard_clients', used: 1, limit: 1 });
    expect(await count('wg_clients', { user_id: user.id })).toBe(1);

    // Concurrent requests cannot both take the last allocation.
    const answers = await Promise.all([0, 1, 2].map((i) => api.call('POST', '/api/v1/ipv6/allocations', { token: user.token, body: { pool_id: p.id, client_name: `n${i}` } })));
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    expect(answers.find((r) => r.status === 409)!.body.error.details).toMatchObject({ quota: 'ipv6_allocations', limit: 1 });
    expect(await count('ipv6_allocations', { user_id: user.id })).toBe(1);
    // Settings the other network quotas alone leaves these as they were.
    await api.call('PUT', `/api/v1/users/${user.id}/network-quota`, { token: admin, body: { nat_ports: 11, proxies: 5, addresses: 2 } });
    expect((await api.call('GET', `/api/v1/users/${user.id}/network-quota`, { token: user.token })).body.data).toMatchObject({
      quota: { nat_ports: 11, wireguard_clients: 1, ipv6_allocations: 1 }, used: { wireguard_clients: 1, ipv6_allocations: 1 },
    });
    // Admins are not limited.
    for (let i = 0; i < 2; i++) expect((await api.call('POST', '/api/v1/ipv6/allocations', { token: admin, body: { pool_id: p.id, client_name: `a${i}` } })).status).toBe(201);
  });
});
