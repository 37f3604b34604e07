import { startTestApi, expectError, type TestApi } from '../support/api';
import { addHost, createInstance } from '../support/compute';

let api: TestApi;
beforeAll(async () => { api = await startTestApi(); });
afterAll(async () => { await api.close(); });

type Case = [method: string, path: string, body?: unknown];

/** Every compute endpoint: no token → 401, another user's or an unknown resource → 404, a viewer cannot change anything → 403. */
describe('compute endpoints: authentication, ownership and 404 across the board', () => {
  let hostId: number;
  let hostName: string;
  let instanceId: number;
  let uuid: string;
  let ownerToken: string;
  beforeAll(async () => {
    const host = await addHost(api, {});
    hostId = host.id;
    hostName = host.name;
    const owner = await api.createUser('user');
    ownerToken = owner.token;
    const { op } = await createInstance(api, owner.token, { host_id: host.id });
    expect(op.status).toBe('succeeded');
    uuid = op.resource.id;
    instanceId = (await api.deps.knex('instances').where({ uuid }).first()).id;
  });

  const native = (): Case[] => [
    ['GET', '/api/v1/hosts'], ['POST', '/api/v1/hosts', { name: 'x', address: 'x', engine_type: 'simulator' }], ['GET', `/api/v1/hosts/${hostId}`],
    ['PUT', `/api/v1/hosts/${hostId}`, { weight: 2 }], ['DELETE', `/api/v1/hosts/${hostId}`], ['POST', `/api/v1/hosts/${hostId}/enable`], ['POST', `/api/v1/hosts/${hostId}/disable`],
    ['GET', `/api/v1/hosts/${hostId}/status`], ['POST', `/api/v1/hosts/${hostId}/scan`], ['GET', `/api/v1/hosts/${hostId}/instances`],
    ['POST', `/api/v1/hosts/${hostId}/instances`, { name: 'x' }], ['GET', '/api/v1/instances'], ['POST', '/api/v1/instances', { name: 'x' }],
    ['GET', `/api/v1/instances/${instanceId}`], ['PUT', `/api/v1/instances/${instanceId}`, { cpu: 2 }], ['DELETE', `/api/v1/instances/${instanceId}`],
    ['POST', `/api/v1/instances/${instanceId}/power`, { action: 'stop' }], ['GET', `/api/v1/instances/${instanceId}/status`],
    ['POST', `/api/v1/instances/${instanceId}/password`, { password: 'abcdefgh' }], ['GET', `/api/v1/instances/${instanceId}/console`],
    ['GET', `/api/v1/instances/${instanceId}/agent-token`], ['GET', '/api/v1/engines'], ['GET', '/api/v1/cluster/load-balancer'],
    ['PUT', '/api/v1/cluster/load-balancer', { strategy: 'weighted' }], ['PUT', '/api/v1/cluster/load-balancer/strategy?strategy=weighted'],
    ['GET', '/api/v1/users/1/quota'], ['PUT', '/api/v1/users/1/quota', { cpu: 1, ram_mb: 1, disk_gb: 1, instances: 1 }],
  ];
  const seed001 = (): Case[] => [
    ['GET', '/api/system/engine'], ['GET', '/api/server/detail'], ['GET', `/api/server/detail/${hostName}`], ['POST', '/api/server/create', {}],
    ['PUT', `/api/server/update/${hostName}`, {}], ['DELETE', `/api/server/delete/${hostName}`], ['POST', `/api/server/powers/${hostName}`, { action: 'enable' }],
    ['GET', `/api/server/status/${hostName}`], ['GET', `/api/client/detail/${hostName}`], ['GET', `/api/client/detail/${hostName}/${uuid}`],
    ['POST', `/api/client/create/${hostName}`, { vm_name: 'x' }], ['PUT', `/api/client/update/${hostName}/${uuid}`, { cpu_num: 2 }],
    ['DELETE', `/api/client/delete/${hostName}/${uuid}`], ['POST', `/api/client/powers/${hostName}/${uuid}`, { action: 'stop' }],
    ['GET', `/api/client/remote/${hostName}/${uuid}`], ['POST', `/api/client/password/${hostName}/${uuid}`, { password: 'abcdefgh' }],
    ['GET', `/api/client/status/${hostName}/${uuid}`], ['POST', `/api/client/scaner/${hostName}`],
  ];
  const seed000 = (): Case[] => [
    ['POST', '/api/add_server', {}], ['GET', '/api/server/health_check'], ['GET', '/api/containers'], ['POST', '/api/containers', {}],
    ['GET', '/api/containers/x/status'], ['POST', '/api/containers/x/stop'], ['PUT', '/api/containers/x', {}], ['GET', `/api/server/status/${1}`],
  ];

  it('no token: 401 on every route (the engine list included)', async () => {
    for (const [method, path, body] of [...native(), ...seed001(), ...seed000()]) {
      const res = await api.call(method, path, { body });
      expect([method, path, res.status]).toEqual([method, path, 401]);
    }
  });

  it('another user: the instance is 404 on every route that names it, and nothing changed', async () => {
    const other = await api.createUser('user');
    const instanceRoutes = [...native(), ...seed001()].filter(([, p]) => p.includes(String(instanceId)) && p.includes('/instances/') || p.includes(`/${uuid}`));
    expect(instanceRoutes.length).toBeGreaterThanOrEqual(14);
    for (const [method, path, body] of instanceRoutes) {
      const res = await api.call(method, path, { token: other.token, body });
      expect([method, path, res.status]).toEqual([method, path, 404]);
    }
    const still = await api.call('GET', `/api/v1/instances/${instanceId}`, { token: ownerToken });
    expect(still.body.data).toMatchObject({ state: 'running', cpu: 1 });
  });

  it('a quota past PostgreSQL\'s integer range is a 422 naming the field, not a 500 (found by fuzzing)', async () => {
    const admin = await api.admin();
    const res = await api.call('PUT', '/api/v1/users/1/quota', { token: admin, body: { cpu: 21787184893255, ram_mb: 0, disk_gb: 1, instances: 0 } });
    expectError(res, 422, 'VALIDATION_ERROR');
    expect(res.body.error.details.field).toBe('cpu');
  });

  it('unknown ids and names: 404', async () => {
    const admin = await api.admin();
    const swap = (p: string) => p.replace(`/${instanceId}`, '/987654').replace(`/${hostId}/`, '/987654/').replace(new RegExp(`/${hostId}$`), '/987654')
      .replace(`/${uuid}`, '/no-such-vm').replace(`/${hostName}`, '/no-such-host');
    const named = [...native(), ...seed001()].filter(([, p]) => p !== swap(p) && !p.includes('/quota'));
    expect(named.length).toBeGreaterThanOrEqual(30);
    for (const [method, path, body] of named) {
      const res = await api.call(method, swap(path), { token: admin, body });
      expect([method, swap(path), res.status]).toEqual([method, swap(path), 404]);
    }
  });

  it('a viewer can read but not change', async () => {
    const viewer = await api.createUser('viewer');
    expect((await api.call('GET', '/api/v1/instances', { token: viewer.token })).status).toBe(200);
    for (const [method, path, body] of native().filter(([m]) => m !== 'GET')) {
      const res = await api.call(method, path, { token: viewer.token, body });
      expect([method, path, res.status]).toEqual([method, path, 403]);
    }
    expectError(await api.call('GET', `/api/v1/hosts/${hostId}/status`, { token: viewer.token }), 403, 'INSUFFICIENT_PERMISSIONS');
  });
});
