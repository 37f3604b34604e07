import { startTestApi, expectError, type TestApi, type TestUser } from '../support/api';
import { addHost, finished, uniq } from '../support/compute';
import { renderBirdConfig, parseBirdProtocols } from '../../shared/netservices/bird';

let api: TestApi;
let admin: string;
let manager: TestUser;
let user: TestUser;
let hostId: number;
beforeAll(async () => {
  api = await startTestApi();
  admin = await api.admin();
  [manager, user] = await Promise.all([api.createUser('manager'), api.createUser('user')]);
  hostId = (await addHost(api, { use_agent: true })).id; // no agent: applies fail fast with SERVICE_UNAVAILABLE
});
afterAll(async () => { await api.close(); });

const session = (body: Record<string, unknown> = {}, token = admin) => api.call('POST', '/api/v1/bgp/sessions', { token, body: { name: uniq('s'), host_id: hostId, neighbor: '192.0.2.1', remote_as: 65001, local_as: 65000, ...body } });

describe('BGP through the API (no BIRD)', () => {
  it('renders one protocol per session and one filter for the announcements; parses BIRD\'s status', () => {
    const conf = renderBirdConfig(
      [{ id: 7, name: 's', neighbor: '192.0.2.1', remoteAs: 4200000000, localAs: 65000, password: 'pw', enabled: false }],
      [{ prefix: '198.51.100.0/24', nextHop: '192.0.2.9', asPath: [65000], communities: [[65000, 200]] }, { prefix: '2001:db8::/48', asPath: [], communities: [] }],
    );
    expect(conf).toContain('protocol bgp idcf_s7 {\n  description "s";\n  disabled;\n  local as 65000;\n  neighbor 192.0.2.1 as 4200000000;\n  password "pw";');
    expect(conf).toContain('if proto = "idcf_announce_ipv4" && net = 198.51.100.0/24 then { bgp_next_hop = 192.0.2.9; bgp_path.prepend(65000); bgp_community.add((65000,200)); accept; }');
    expect(conf).toContain('route 2001:db8::/48 blackhole;');
    const [p] = parseBirdProtocols(['BIRD 2.0.12 ready.', 'Name       Proto      Table      State  Since         Info',
      'idcf_s3    BGP        ---        start  2026-11-30 00:36:34  Idle          BGP Error: Bad peer AS', '  BGP state:          Idle',
      '    Last error:       BGP Error: Bad peer AS', '  Channel ipv4', '    Routes:         2 imported, 1 exported, 0 preferred'].join('\n'));
    expect(p).toMatchObject({ name: 'idcf_s3', state: 'start', bgpState: 'Idle', lastError: 'BGP Error: Bad peer AS', imported: 2, exported: 1, since: '2026-11-30 00:36:34' });
  });

  it('sessions: 32-bit AS numbers, sealed passwords, bad input 422, duplicates 409, an offline agent 503', async () => {
    const ok = await session({ remote_as: 4294967295, password: 'pa$$word' }, manager.token);
    expect(ok.status).toBe(201);
    expect(ok.body.data).toMatchObject({ remote_as: 4294967295, has_password: true, status: 'idle' });
    expect(ok.text).not.toContain('pa$$word');
    expect((await api.deps.knex('bgp_sessions').where({ id: ok.body.data.id }).first()).password_sealed).not.toContain('pa$$word');
    const op = await finished(api, admin, ok.body.data.operation.id);
    expect(op).toMatchObject({ status: 'failed', error: { code: 'SERVICE_UNAVAILABLE' } });
    for (const [body, f] of [
      [{ remote_as: 0 }, 'remote_as'], [{ remote_as: 4294967296 }, 'remote_as'], [{ local_as: -1 }, 'local_as'], [{ remote_as: '65001' }, 'remote_as'], [{ remote_as: 1.5 }, 'remote_as'],
      [{ neighbor: '192.0.2.0/24' }, 'neighbor'], [{ neighbor: 'router.example' }, 'neighbor'], [{ password: 'has "quote' }, 'password'], [{ password: 'with space' }, 'password'],
      [{ name: '' }, 'name'], [{ host_id: 999999 }, 'host_id'],
    ] as const) {
      const res = await session(body);
      expectError(res, 422, 'VALIDATION_ERROR');
      expect(res.body.error.details.errors.map((e: { field: string }) => e.field)).toContain(f);
    }
    expectError(await session({ neighbor: '192.0.2.1' }), 409, 'CONFLICT');
    const start = await api.call('POST', `/api/v1/bgp/sessions/${ok.body.data.id}/start`, { token: admin });
    expectError(start, 503, 'SERVICE_UNAVAILABLE');
  });

  it('announcements only inside allowed ranges; bad prefixes, AS paths and communities 422', async () => {
    expectError(await api.call('POST', '/api/v1/bgp/allowed-prefixes', { token: manager.token, body: { host_id: hostId, prefix: '10.0.0.0/8' } }), 403, 'INSUFFICIENT_PERMISSIONS');
    const allowed = await api.call('POST', '/api/v1/bgp/allowed-prefixes', { token: admin, body: { host_id: hostId, prefix: '203.0.113.0/24' } });
    expect(allowed.status).toBe(201);
    expectError(await api.call('POST', '/api/v1/bgp/allowed-prefixes', { token: admin, body: { host_id: hostId, prefix: '203.0.113.0/24' } }), 409, 'CONFLICT');
    expectError(await api.call('POST', '/api/v1/bgp/allowed-prefixes', { token: admin, body: { host_id: hostId, prefix: '203.0.113.1/24' } }), 422, 'VALIDATION_ERROR');
    for (const [body, f] of [
      [{ prefix: '203.0.112.0/23' }, 'prefix'], [{ prefix: '203.0.113.1/32x' }, 'prefix'], [{ prefix: '203.0.113.5/24' }, 'prefix'], [{ prefix: '10.1.0.0/16' }, 'prefix'],
      [{ prefix: '203.0.113.0/25', as_path: '65000 abc' }, 'as_path'], [{ prefix: '203.0.113.0/25', as_path: '4294967296' }, 'as_path'],
      [{ prefix: '203.0.113.0/25', community: '65000' }, 'community'], [{ prefix: '203.0.113.0/25', community: '70000:1' }, 'community'], [{ prefix: '203.0.113.0/25', next_hop: 'x' }, 'next_hop'], [{ prefix: '203.0.113.0/25', next_hop: '2001:db8::1' }, 'next_hop'],
    ] as const) {
      const res = await api.call('POST', '/api/v1/bgp/announcements', { token: admin, body: { host_id: hostId, ...body } });
      expectError(res, 422, 'VALIDATION_ERROR');
      expect(res.body.error.details.errors.map((e: { field: string }) => e.field)).toContain(f);
    }
    const ann = await api.call('POST', '/api/v1/bgp/announcements', { token: manager.token, body: { host_id: hostId, prefix: '203.0.113.0/25', next_hop: '192.0.2.1', as_path: '65000', community: '65000:200' } });
    expect(ann.status).toBe(201);
    expect(ann.body).toMatchObject({ message: 'BGP宣告创建成功', data: { prefix: '203.0.113.0/25', next_hop: '192.0.2.1', as_path: '65000', community: '65000:200', status: 'active' } });
    expectError(await api.call('POST', '/api/v1/bgp/announcements', { token: admin, body: { host_id: hostId, prefix: '203.0.113.0/25' } }), 409, 'CONFLICT');
    expectError(await api.call('DELETE', `/api/v1/bgp/allowed-prefixes/${allowed.body.data.id}`, { token: admin }), 409, 'CONFLICT');
    expect((await api.call('GET', '/api/v1/bgp/announcements?size=100', { token: manager.token })).body.data.announcements.map((a: { id: number }) => a.id)).toContain(ann.body.data.id);
    // Once its apply has ended (a delete while it runs is a 409 naming it), the announcement is withdrawn.
    await finished(api, admin, ann.body.data.operation.id);
    expect((await api.call('DELETE', `/api/v1/bgp/announcements/${ann.body.data.id}`, { token: admin })).body.data).toMatchObject({ deleted: true });
    expect((await api.call('DELETE', `/api/v1/bgp/allowed-prefixes/${allowed.body.data.id}`, { token: admin })).body.data).toMatchObject({ deleted: true });
  });

  it('no token 401, users 403, unknown ids 404', async () => {
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/api/v1/bgp/sessions'], ['POST', '/api/v1/bgp/sessions', { name: 'x', neighbor: '192.0.2.9', remote_as: 1, local_as: 2 }], ['GET', '/api/v1/bgp/sessions/1'],
      ['DELETE', '/api/v1/bgp/sessions/1'], ['POST', '/api/v1/bgp/sessions/1/start'], ['POST', '/api/v1/bgp/sessions/1/stop'], ['GET', '/api/v1/bgp/announcements'],
      ['POST', '/api/v1/bgp/announcements', { prefix: '203.0.113.0/24' }], ['GET', '/api/v1/bgp/announcements/1'], ['DELETE', '/api/v1/bgp/announcements/1'],
      ['GET', '/api/v1/bgp/allowed-prefixes'], ['POST', '/api/v1/bgp/allowed-prefixes', { prefix: '203.0.113.0/24' }], ['DELETE', '/api/v1/bgp/allowed-prefixes/1'],
    ];
    for (const [method, path, body] of routes) {
      expectError(await api.call(method, path, body ? { body } : {}), 401, 'INVALID_CREDENTIALS');
      expectError(await api.call(method, path, { token: user.token, ...(body ? { body } : {}) }), 403, 'INSUFFICIENT_PERMISSIONS');
    }
    for (const [method, path] of routes.filter(([, p]) => /\/1(\/|$)/.test(p))) {
      expectError(await api.call(method, path.replace('/1', '/999999'), { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    }
    expectError(await api.call('GET', '/api/v1/bgp/sessions/x', { token: admin }), 422, 'VALIDATION_ERROR');
  });
});
