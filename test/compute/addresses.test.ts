import { startTestApi, expectError, type TestApi, type TestUser } from '../support/api';
import { addHost, createInstance, uniq } from '../support/compute';
import { backfillEngineAddresses } from '../../db/migrations/031_compute';

/**
 * Addresses belong to the platform (issue 22): a tenant's instance gets its addresses from the host's pools and the
 * engine, never from its request, and its forwards, 1:1 addresses and proxies may target only what the engine reports.
 */
let api: TestApi;
let host: { id: number; name: string };
let victim: TestUser;
let attacker: TestUser;
let victimVm: { uuid: string; id: number; ip4: string };

beforeAll(async () => {
  api = await startTestApi();
  host = await addHost(api, {
    ip_pools: [{ cidr: '10.31.0.0/28', gateway: '10.31.0.1' }], nat_port_start: 21000, nat_port_end: 21099, public_addresses: ['10.32.0.1', '10.32.1.0/29'],
  });
  victim = await api.createUser('user');
  attacker = await api.createUser('user');
  const { op } = await createInstance(api, victim.token, { host_id: host.id });
  expect(op.status).toBe('succeeded');
  const row = await api.deps.knex('instances').where({ uuid: op.resource.id }).first();
  victimVm = { uuid: row.uuid, id: row.id, ip4: row.nics[0].ip4 };
});
afterAll(async () => { await api.close(); });

const instancesOf = async (user: TestUser) => api.deps.knex('instances').where({ owner_id: user.id }).count<{ count: string }[]>('* as count').then(([r]) => Number(r.count));
const fieldsOf = (res: { body: { error: { details: { errors: Array<{ field: string }> } } } }) => res.body.error.details.errors.map((e) => e.field);

describe('an instance\'s addresses come from the platform, not the request', () => {
  it('the pool gives a tenant its address, and the engine\'s report is recorded apart from the request', async () => {
    expect(victimVm.ip4).toBe('10.31.0.2');
    const row = await api.deps.knex('instances').where({ id: victimVm.id }).first();
    expect(row.engine_addresses).toEqual(['10.31.0.2']);
    expect(row.nics[0].mac).toMatch(/^02:00:/); // the engine's MAC
  });

  it('a tenant naming an address (loopback, another tenant\'s, any) or a MAC is refused with 422 naming the field, and nothing is stored', async () => {
    const before = await instancesOf(attacker);
    for (const [nic, field] of [
      [{ ip4: '127.0.0.1' }, 'nics.0.ip4'],
      [{ ip4: victimVm.ip4 }, 'nics.0.ip4'],
      [{ ip4: '10.31.0.9' }, 'nics.0.ip4'], // free in the pool, but the pool chooses
      [{ ip4: '169.254.169.254' }, 'nics.0.ip4'],
      [{ ip6: '::1' }, 'nics.0.ip6'],
      [{ ip6: 'fd00::5' }, 'nics.0.ip6'], // not inside an IPv6 allocation of theirs
      [{ mac: '02:00:00:00:00:01' }, 'nics.0.mac'],
    ] as const) {
      const uuid = uniq('spoof');
      const res = await api.call('POST', '/api/v1/instances', { token: attacker.token, body: { uuid, name: 'spoof', host_id: host.id, nics: [{ name: 'eth0', ...nic }] } });
      expectError(res, 422, 'VALIDATION_ERROR');
      expect(fieldsOf(res)).toEqual([field]);
      expect(await api.deps.knex('instances').where({ uuid }).first()).toBeUndefined();
      expect(await api.deps.knex('operations').where({ resource_type: 'instance', resource_id: uuid }).first()).toBeUndefined();
    }
    // The host's own route and the seed 001 create refuse the same, naming the seed's fields.
    const onHost = await api.call('POST', `/api/v1/hosts/${host.id}/instances`, { token: attacker.token, body: { name: 'spoof', nics: [{ name: 'eth1', ip4: '127.0.0.1' }] } });
    expectError(onHost, 422, 'VALIDATION_ERROR');
    expect(fieldsOf(onHost)).toEqual(['nics.0.ip4']);
    const seed = await api.call('POST', `/api/client/create/${host.name}`, {
      token: attacker.token, body: { vm_uuid: uniq('spoof'), vm_name: 'spoof', cpu_num: 1, ram_num: 256, hdd_num: 1, nic_all: { eth0: { ip4_addr: '127.0.0.1', mac_addr: '02:00:00:00:00:02' } } },
    });
    expect(seed.body).toMatchObject({ code: 422, data: { error: 'VALIDATION_ERROR' } });
    expect(seed.body.data.details.errors.map((e: { field: string }) => e.field)).toEqual(['nic_all.eth0.mac_addr', 'nic_all.eth0.ip4_addr']);
    expect(await instancesOf(attacker)).toBe(before);
  });

  it('a tenant may name an IPv6 address inside its own IPv6 allocation', async () => {
    const [pool] = await api.deps.knex('ipv6_pools').insert({ name: uniq('p6'), prefix: 'fd31:a::/48', prefix_length: 64 }).returning('id');
    await api.deps.knex('ipv6_allocations').insert({ pool_id: pool.id, cidr: 'fd31:a:0:1::/64', client_name: 'attacker', user_id: attacker.id });
    const mine = await createInstance(api, attacker.token, { host_id: host.id, nics: [{ name: 'eth0', ip6: 'fd31:a:0:1::10' }] });
    expect(mine.op.status).toBe('succeeded');
    expect((await api.deps.knex('instances').where({ uuid: mine.op.resource.id }).first()).engine_addresses).toEqual(['10.31.0.3', 'fd31:a:0:1::10']);
    const theirs = await api.call('POST', '/api/v1/instances', { token: victim.token, body: { name: 'x', host_id: host.id, nics: [{ name: 'eth0', ip6: 'fd31:a:0:1::11' }] } });
    expectError(theirs, 422, 'VALIDATION_ERROR');
    await api.call('DELETE', `/api/v1/instances/${mine.op.resource.id}`, { token: attacker.token });
  });

  it('an admin may place an address, but never loopback, link-local or one of the host\'s own', async () => {
    const admin = await api.admin();
    for (const [ip4, why] of [['127.0.0.1', /loopback/], ['169.254.169.254', /linkLocal/], ['10.31.0.1', /host's own/], ['10.32.0.1', /host's own/]] as const) {
      const res = await api.call('POST', '/api/v1/instances', { token: admin, body: { name: 'x', host_id: host.id, nics: [{ name: 'eth0', ip4 }] } });
      expectError(res, 422, 'VALIDATION_ERROR');
      expect(res.body.error.details.errors[0]).toMatchObject({ field: 'nics.0.ip4', message: expect.stringMatching(why) });
    }
  });
});

describe('forwards and 1:1 addresses target the address the engine reports', () => {
  it('an address recorded in the request but not reported by the engine is no target; another tenant\'s instance is 404', async () => {
    const { op } = await createInstance(api, attacker.token, { host_id: host.id });
    const mine = await api.deps.knex('instances').where({ uuid: op.resource.id }).first();
    // A row as the code before recorded it: the request's address in its NICs (here the victim's and the loopback).
    await api.deps.knex('instances').where({ id: mine.id }).update({ nics: JSON.stringify([{ name: 'eth0', ip4: victimVm.ip4 }, { name: 'eth1', ip4: '127.0.0.1' }]) });
    for (const internal of [victimVm.ip4, '127.0.0.1']) {
      const fwd = await api.call('POST', `/api/v1/instances/${mine.uuid}/port-forwards`, { token: attacker.token, body: { protocol: 'tcp', internal_port: 22, internal_address: internal } });
      expectError(fwd, 422, 'VALIDATION_ERROR');
      expect(fwd.body.error.details.field).toBe('internal_address');
      const one = await api.call('POST', `/api/v1/instances/${mine.uuid}/addresses`, { token: attacker.token, body: { internal_address: internal } });
      expectError(one, 422, 'VALIDATION_ERROR');
      expect(one.body.error.details.field).toBe('internal_address');
    }
    const seed = await api.call('POST', `/api/client/natadd/${host.name}/${mine.uuid}`, { token: attacker.token, body: { protocol: 'tcp', external_port: 21005, internal_port: 80, internal_ip: victimVm.ip4 } });
    expect(seed.body).toMatchObject({ code: 422, data: { error: 'VALIDATION_ERROR', details: { field: 'internal_address' } } });
    // The victim's instance itself: not found for the attacker, whatever the route.
    expectError(await api.call('POST', `/api/v1/instances/${victimVm.uuid}/port-forwards`, { token: attacker.token, body: { protocol: 'tcp', internal_port: 22 } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', `/api/v1/instances/${victimVm.id}/addresses`, { token: attacker.token, body: {} }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', `/api/v1/instances/${victimVm.uuid}/proxies`, { token: attacker.token, body: { domain: 'victim.example.com', target_port: 80 } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', `/api/v1/instances/${victimVm.uuid}/port-forwards`, { token: attacker.token }), 404, 'RESOURCE_NOT_FOUND');
    expect(await api.deps.knex('port_forwards').whereIn('instance_id', [mine.id, victimVm.id])).toEqual([]);
    expect(await api.deps.knex('instance_addresses').whereIn('instance_id', [mine.id, victimVm.id])).toEqual([]);
  });
});

describe('migration 031', () => {
  it('starts existing instances with the addresses the platform gave them, not those a request put in their NICs', async () => {
    const knex = api.deps.knex;
    const admin = await knex('users').where({ role: 'admin' }).first('id');
    const { op } = await createInstance(api, attacker.token, { host_id: host.id });
    const pooled = await knex('instances').where({ uuid: op.resource.id }).first();
    const legacy = async (uuid: string, owner: number, nics: unknown[], origin = 'created') => (await knex('instances').insert({
      uuid, host_id: host.id, name: uuid, owner_id: owner, state: 'running', origin, nics: JSON.stringify(nics),
    }).returning('id'))[0].id as number;
    const spoofed = await legacy(uniq('old'), attacker.id, [{ name: 'eth0', ip4: '127.0.0.1' }, { name: 'eth1', ip4: victimVm.ip4 }]);
    const filled = await legacy(uniq('old'), attacker.id, [{ name: 'eth0', net_mode: 'engine', ip4: '172.16.9.9' }]);
    const placed = await legacy(uniq('old'), admin.id, [{ name: 'eth0', ip4: '10.99.0.5', ip6: 'fd99::5' }, { name: 'eth1', ip4: '127.0.0.2' }]);
    await knex('instances').whereIn('id', [pooled.id, spoofed, filled, placed]).update({ engine_addresses: '[]' });
    await backfillEngineAddresses(knex);
    const after = async (id: number) => ((await knex('instances').where({ id }).first()).engine_addresses as string[]).sort();
    expect(await after(pooled.id)).toEqual(pooled.engine_addresses);
    expect(await after(spoofed)).toEqual([]);
    expect(await after(filled)).toEqual(['172.16.9.9']);
    expect(await after(placed)).toEqual(['10.99.0.5', 'fd99::5']);
    await knex('instances').whereIn('id', [spoofed, filled, placed]).delete();
  });
});
