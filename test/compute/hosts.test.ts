import { startTestApi, expectError, type TestApi } from '../support/api';
import { addHost, uniq } from '../support/compute';

let api: TestApi;
beforeAll(async () => { api = await startTestApi(); });
afterAll(async () => { await api.close(); });

describe('GET /api/v1/engines', () => {
  it('lists every engine type; unimplemented ones are disabled with the reason', async () => {
    const u = await api.createUser('viewer');
    const res = await api.call('GET', '/api/v1/engines', { token: u.token });
    expect(res.status).toBe(200);
    const byType = Object.fromEntries(res.body.data.engines.map((e: { type: string }) => [e.type, e]));
    expect(byType.docker).toMatchObject({ enabled: true, is_remote: true, reason: null });
    // Containers have consoles (a terminal through the console gateway): the catalogue must not say otherwise.
    expect(byType.docker.messages.join(' ')).toMatch(/Console: a terminal/);
    expect(byType.docker.messages.join(' ')).not.toMatch(/console access is not supported/i);
    expect(byType.simulator.enabled).toBe(true);
    expect(byType.simulator.messages.join(' ')).toMatch(/SIMULATOR/);
    expect(byType.libvirt_qemu).toMatchObject({ enabled: true, reason: null });
    expect(byType.libvirt_qemu.messages.join(' ')).toMatch(/VNC/);
    for (const t of ['vmware_workstation', 'proxmox', 'lxd', 'hyperv']) {
      expect(byType[t]).toMatchObject({ enabled: false, reason: expect.stringMatching(/not implemented/) });
    }
    expectError(await api.call('GET', '/api/v1/engines'), 401, 'INVALID_CREDENTIALS');
  });
});

describe('hosts', () => {
  it('creates a host with sealed secrets that are never returned, then reads, updates, disables and deletes it', async () => {
    const admin = await api.admin();
    const name = uniq('h');
    const created = await api.call('POST', '/api/v1/hosts', {
      token: admin,
      body: {
        name, address: '10.0.2.10', username: 'root', password: 'host-secret-pw', private_key: '-----BEGIN KEY-----x', engine_type: 'Simulator',
        system_path: '/vms', images_path: '/images', nat_port_start: 20000, nat_port_end: 20100, public_addresses: ['10.51.100.1'],
        ip_pools: [{ cidr: '10.9.0.0/29', gateway: '10.9.0.1' }], plans: [{ name: 'small', cpu: 1, ram_mb: 512 }], instance_limit: 5,
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({ name, engine_type: 'simulator', has_password: true, has_private_key: true, enabled: true, instance_limit: 5, nat_port_start: 20000 });
    expect(created.text).not.toContain('host-secret-pw');
    expect(created.text).not.toContain('BEGIN KEY');
    const row = await api.deps.knex('hosts').where({ name }).first();
    expect(row.password_sealed.startsWith('v1:')).toBe(true);
    expect(row.password_sealed).not.toContain('host-secret-pw');
    const id = created.body.data.id;

    const list = await api.call('GET', `/api/v1/hosts?search=${name}`, { token: admin });
    expect(list.body.data.hosts.map((h: { name: string }) => h.name)).toEqual([name]);
    expect(list.body.data.pagination.total).toBe(1);
    expect(list.text).not.toContain('host-secret-pw');

    const user = await api.createUser('user');
    const asUser = await api.call('GET', `/api/v1/hosts/${id}`, { token: user.token });
    expect(asUser.status).toBe(200);
    expect(asUser.body.data).not.toHaveProperty('address');
    expect(asUser.body.data).not.toHaveProperty('has_password');

    const updated = await api.call('PUT', `/api/v1/hosts/${id}`, { token: admin, body: { instance_limit: 7, password: null } });
    expect(updated.body.data).toMatchObject({ instance_limit: 7, has_password: false, has_private_key: true });

    const disabled = await api.call('POST', `/api/v1/hosts/${id}/disable`, { token: admin });
    expect(disabled.body.data.enabled).toBe(false);
    expect((await api.call('POST', `/api/v1/hosts/${id}/enable`, { token: admin })).body.data.enabled).toBe(true);

    const status = await api.call('GET', `/api/v1/hosts/${id}/status`, { token: admin });
    expect(status.status).toBe(200);
    expect(status.body.data).toMatchObject({ live: true, source: 'engine', status: { source: 'simulator', cpu_count: 16 } });

    const deleted = await api.call('DELETE', `/api/v1/hosts/${id}`, { token: admin });
    expect(deleted.body.data).toEqual({ id, name, deleted: true });
    expectError(await api.call('GET', `/api/v1/hosts/${id}`, { token: admin }), 404, 'RESOURCE_NOT_FOUND');
  });

  it('refuses bad input, unimplemented engines, duplicates, non-admins and missing tokens', async () => {
    const admin = await api.admin();
    const bad = await api.call('POST', '/api/v1/hosts', { token: admin, body: { name: 'bad name!', engine_type: 'nope', nat_port_start: 9, nat_port_end: 5 } });
    expectError(bad, 422, 'VALIDATION_ERROR');
    expect(bad.body.error.details.errors.map((e: { field: string }) => e.field).sort()).toEqual(expect.arrayContaining(['address', 'engine_type', 'name']));
    const vmware = await api.call('POST', '/api/v1/hosts', { token: admin, body: { name: uniq('vmw'), address: 'x', engine_type: 'VMWareSetup' } });
    expectError(vmware, 422, 'VALIDATION_ERROR');
    expect(vmware.body.error.message).toMatch(/not implemented/);
    const h = await addHost(api, {});
    expectError(await api.call('POST', '/api/v1/hosts', { token: admin, body: { name: h.name, address: 'x', engine_type: 'simulator' } }), 409, 'CONFLICT');
    const user = await api.createUser('user');
    expectError(await api.call('POST', '/api/v1/hosts', { token: user.token, body: { name: uniq('x'), address: 'x', engine_type: 'simulator' } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('PUT', `/api/v1/hosts/${h.id}`, { token: user.token, body: { weight: 2 } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('DELETE', `/api/v1/hosts/${h.id}`, { token: user.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('GET', `/api/v1/hosts/${h.id}/status`, { token: user.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('GET', '/api/v1/hosts'), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('GET', '/api/v1/hosts/999999', { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('PUT', '/api/v1/hosts/999999', { token: admin, body: { weight: 2 } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', '/api/v1/hosts/999999/enable', { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', '/api/v1/hosts/abc', { token: admin }), 422, 'VALIDATION_ERROR');
  });

  it('an agent host whose agent is offline answers its status with SERVICE_UNAVAILABLE', async () => {
    const h = await addHost(api, { use_agent: true });
    const res = await api.call('GET', `/api/v1/hosts/${h.id}/status`, { token: await api.admin() });
    expectError(res, 503, 'SERVICE_UNAVAILABLE');
    expect(res.body.error.message).toMatch(/agent .* offline/);
  });
});

describe('OpenAPI', () => {
  it('documents the compute endpoints, native and compat', async () => {
    const doc = (await api.call('GET', '/api/v1/openapi.json')).body;
    for (const p of ['/api/v1/hosts', '/api/v1/hosts/{id}/status', '/api/v1/instances', '/api/v1/instances/{id}/power', '/api/v1/engines', '/api/v1/cluster/load-balancer/strategy', '/api/client/upload', '/api/server/status/{hs_name}', '/api/containers']) {
      expect(doc.paths).toHaveProperty([p]);
    }
    expect(doc.paths['/api/v1/instances'].post.responses).toHaveProperty('202');
  });
});

describe('cluster load balancer and quotas', () => {
  it('reads and sets the placement strategy', async () => {
    const admin = await api.admin();
    const user = await api.createUser('user');
    const got = await api.call('GET', '/api/v1/cluster/load-balancer', { token: user.token });
    expect(got.body.data.available_strategies).toEqual(['round_robin', 'least_connections', 'weighted']);
    const set = await api.call('PUT', '/api/v1/cluster/load-balancer/strategy?strategy=least_connections', { token: admin });
    expect(set.body.data).toEqual({ message: '负载均衡策略更新成功', strategy: 'least_connections' });
    const full = await api.call('PUT', '/api/v1/cluster/load-balancer', { token: admin, body: { strategy: 'round_robin', node_weights: { a: 2 } } });
    expect(full.body.data).toMatchObject({ strategy: 'round_robin', node_weights: { a: 2 } });
    expectError(await api.call('PUT', '/api/v1/cluster/load-balancer/strategy?strategy=random', { token: admin }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('PUT', '/api/v1/cluster/load-balancer/strategy?strategy=weighted', { token: user.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('GET', '/api/v1/cluster/load-balancer'), 401, 'INVALID_CREDENTIALS');
  });

  it('reads and sets quotas; users see only their own', async () => {
    const admin = await api.admin();
    const u = await api.createUser('user');
    const other = await api.createUser('user');
    const mine = await api.call('GET', `/api/v1/users/${u.id}/quota`, { token: u.token });
    expect(mine.body.data).toMatchObject({ source: 'default', enforced: true, used: { cpu: 0, instances: 0 } });
    expectError(await api.call('GET', `/api/v1/users/${u.id}/quota`, { token: other.token }), 404, 'RESOURCE_NOT_FOUND');
    const set = await api.call('PUT', `/api/v1/users/${u.id}/quota`, { token: admin, body: { cpu: 2, ram_mb: 1024, disk_gb: 20, instances: 1 } });
    expect(set.body.data).toMatchObject({ source: 'user', quota: { cpu: 2, instances: 1 } });
    expectError(await api.call('PUT', `/api/v1/users/${u.id}/quota`, { token: u.token, body: { cpu: 99, ram_mb: 1, disk_gb: 1, instances: 9 } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('PUT', `/api/v1/users/${u.id}/quota`, { token: admin, body: { cpu: -1 } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('PUT', '/api/v1/users/999999/quota', { token: admin, body: { cpu: 1, ram_mb: 1, disk_gb: 1, instances: 1 } }), 404, 'RESOURCE_NOT_FOUND');
  });
});
