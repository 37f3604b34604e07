import fs from 'node:fs';
import { startTestApi, expectError, eventually, type TestApi, type TestUser } from '../support/api';
import { createInstance, finished, uniq } from '../support/compute';
import type { Spawned } from '../support/processes';
import {
  addFabricInstance, addNetworkHost, curlFrom, networkFabric, networkingUnavailable, nftTable, spawnNetworkAgent, startCaddy, verifyDomain, type NetworkFabric,
} from '../support/networking';
import { describeIfRunnable } from '../support/environment';

const skip = networkingUnavailable({ caddy: true });

let api: TestApi;
let net: NetworkFabric;
let agent: Spawned;
let caddy: Awaited<ReturnType<typeof startCaddy>>;
let host: { id: number; name: string };
let owner: TestUser;
let vm: { uuid: string };

describeIfRunnable(skip, 'networking applied for real (network namespaces, nftables, Caddy)', () => {
  beforeAll(async () => {
    api = await startTestApi();
    net = await networkFabric();
    caddy = await startCaddy(net.host, net.dir);
    host = await addNetworkHost(api);
    // Drift checks every second all along: none of this file's own changes may ever be reported as drift.
    agent = await spawnNetworkAgent(api, host, net.host.name, { IDCFLOW_CADDY_ADMIN_SOCKET: caddy.socket, IDCFLOW_CADDY_STORAGE: caddy.storage, IDCFLOW_NETWORK_RECONCILE_SECONDS: '1' });
    owner = await api.createUser('user');
    vm = await addFabricInstance(api, owner.token, host.id);
  });
  afterAll(async () => {
    await agent?.stop();
    await net?.destroy();
    await api?.close();
  });

  it('a port forward carries client traffic to the instance, and stops after its delete', async () => {
    expect(await curlFrom(net.client, 'http://10.78.0.1:20007/')).toBeNull();
    const add = await api.call('POST', `/api/v1/instances/${vm.uuid}/port-forwards`, { token: owner.token, body: { protocol: 'tcp', external_port: 20007, internal_port: 8080 } });
    expect(add.status).toBe(202);
    const op = await finished(api, owner.token, add);
    expect(op).toMatchObject({ status: 'succeeded', type: 'networking.port_forward.add', host: host.name });
    const linked = await api.call('GET', op.links.resource, { token: owner.token });
    expect(linked.body.data).toMatchObject({ external_port: 20007, state: 'active' });
    expect(await curlFrom(net.client, 'http://10.78.0.1:20007/')).toBe('hello from the instance\n');

    const list = await api.call('GET', `/api/v1/instances/${vm.uuid}/port-forwards`, { token: owner.token });
    expect(list.body.data.port_forwards).toEqual([expect.objectContaining({ index: 0, protocol: 'tcp', external_address: '10.78.0.1', external_port: 20007, internal_address: '10.77.0.2', internal_port: 8080, state: 'active' })]);

    // The same external port again: the database constraint answers 409 at once, nothing is applied.
    expectError(await api.call('POST', `/api/v1/instances/${vm.uuid}/port-forwards`, { token: owner.token, body: { external_port: 20007, internal_port: 22 } }), 409, 'CONFLICT');
    // Another protocol may use it; a port chosen by idcflow is the lowest free one of the range.
    const auto = await finished(api, owner.token, await api.call('POST', `/api/v1/instances/${vm.uuid}/port-forwards`, { token: owner.token, body: { protocol: 'udp', internal_port: 53 } }));
    expect(auto.status).toBe('succeeded');
    const udp = (await api.call('GET', `/api/v1/instances/${vm.uuid}/port-forwards`, { token: owner.token })).body.data.port_forwards[1]!;
    expect(udp).toMatchObject({ protocol: 'udp', external_port: 20000 });

    const del = await finished(api, owner.token, await api.call('DELETE', `/api/v1/instances/${vm.uuid}/port-forwards/${list.body.data.port_forwards[0].id}`, { token: owner.token }));
    expect(del.status).toBe('succeeded');
    expect(await curlFrom(net.client, 'http://10.78.0.1:20007/')).toBeNull();
    const table = await nftTable(net.host);
    const tcp = table!.nftables.find((o) => o.map?.name === 'tcp_fwd')!.map;
    expect(tcp.elem ?? []).toEqual([]);
    await finished(api, owner.token, await api.call('DELETE', `/api/v1/instances/${vm.uuid}/port-forwards/${udp.id}`, { token: owner.token }));
  });

  it('a UDP forward; after its delete even the flow already under way stops (its conntrack entries go too)', async () => {
    net.inst.spawn('python3', ['-c', "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('10.77.0.2',5353))\nwhile True:\n d,a=s.recvfrom(2048)\n s.sendto(b'echo:'+d,a)"]);
    // Always from source port 40000: the same flow for conntrack each time.
    const send = async () => (await net.client.exec('python3', ['-c', [
      'import socket', 's=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)', 's.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)',
      "s.bind(('10.78.0.2',40000))", 's.settimeout(1)', "s.sendto(b'hi',('10.78.0.1',20050))",
      'try:\n print(s.recv(2048).decode())\nexcept socket.timeout:\n print("timeout")',
    ].join('\n')])).trim();
    const add = await finished(api, owner.token, await api.call('POST', `/api/v1/instances/${vm.uuid}/port-forwards`, { token: owner.token, body: { protocol: 'udp', external_port: 20050, internal_port: 5353 } }));
    expect(add.status).toBe('succeeded');
    expect(await eventually(async () => (await send()) === 'echo:hi', 10_000, 'the UDP echo through the forward')).toBe(true);
    const id = (await api.call('GET', `/api/v1/instances/${vm.uuid}/port-forwards`, { token: owner.token })).body.data.port_forwards[0].id;
    expect((await finished(api, owner.token, await api.call('DELETE', `/api/v1/instances/${vm.uuid}/port-forwards/${id}`, { token: owner.token }))).status).toBe('succeeded');
    expect(await send()).toBe('timeout');
  });

  it('seed 001: natadd / natget / natdel by rule_index, answered synchronously in {code, msg, data}', async () => {
    const add = await api.call('POST', `/api/client/natadd/${host.name}/${vm.uuid}`, { token: owner.token, body: { protocol: 'tcp', external_port: 20011, internal_port: 8080, internal_ip: '10.77.0.2' } });
    expect(add.status).toBe(200);
    expect(add.body).toMatchObject({ code: 200, msg: expect.any(String), data: { operation: { status: 'succeeded' } } });
    expect(await curlFrom(net.client, 'http://10.78.0.1:20011/')).toBe('hello from the instance\n');
    const get = await api.call('GET', `/api/client/natget/${host.name}/${vm.uuid}`, { token: owner.token });
    expect(get.body).toMatchObject({ code: 200, data: [{ rule_index: 0, protocol: 'tcp', external_port: 20011, internal_port: 8080, internal_ip: '10.77.0.2', status: 'active' }] });
    // internal_ip must be the VM's own address.
    const bad = await api.call('POST', `/api/client/natadd/${host.name}/${vm.uuid}`, { token: owner.token, body: { protocol: 'tcp', external_port: 20012, internal_port: 80, internal_ip: '10.77.0.9' } });
    expect(bad.body).toMatchObject({ code: 422, data: { error: 'VALIDATION_ERROR', details: { field: 'internal_address' } } });
    expect((await api.call('DELETE', `/api/client/natdel/${host.name}/${vm.uuid}/5`, { token: owner.token })).status).toBe(404);
    const del = await api.call('DELETE', `/api/client/natdel/${host.name}/${vm.uuid}/0`, { token: owner.token });
    expect(del.body).toMatchObject({ code: 200, data: { operation: { status: 'succeeded' } } });
    expect(await curlFrom(net.client, 'http://10.78.0.1:20011/')).toBeNull();
    expect((await api.call('GET', `/api/client/natget/${host.name}/${vm.uuid}`, { token: owner.token })).body.data).toEqual([]);
  });

  it('a bound public address (1:1 NAT) reaches the instance, and the instance leaves from it; gone after the delete', async () => {
    expect(await curlFrom(net.client, 'http://10.78.1.3:8080/')).toBeNull();
    const add = await api.call('POST', `/api/client/ipaddr/create/${host.name}/${vm.uuid}`, { token: owner.token, body: { interface: 'eth0', ip_address: '10.78.1.3', netmask: '255.255.255.248', gateway: '10.78.1.1' } });
    expect(add.body).toMatchObject({ code: 200, data: { operation: { status: 'succeeded' } } });
    expect(await curlFrom(net.client, 'http://10.78.1.3:8080/')).toBe('hello from the instance\n');
    const detail = await api.call('GET', `/api/client/ipaddr/detail/${host.name}/${vm.uuid}`, { token: owner.token });
    expect(detail.body.data).toEqual([expect.objectContaining({ ip_index: 0, interface: 'eth0', ip_address: '10.78.1.3', netmask: '255.255.255.248', gateway: '10.78.1.1', internal_ip: '10.77.0.2', status: 'active' })]);
    // Outbound, the instance is seen from its public address (the client's server logs its peer).
    const clientServer = net.client.spawn('python3', ['-m', 'http.server', '9090', '--bind', '10.78.0.2', '--directory', net.dir]);
    let peerLog = '';
    clientServer.stderr!.on('data', (b) => (peerLog += b));
    await eventually(async () => (await curlFrom(net.inst, 'http://10.78.0.2:9090/')) !== null, 15_000, 'the client\'s server, from the instance');
    await eventually(async () => peerLog.includes('10.78.1.3 - -'), 5_000, 'the client\'s server to log the public address');

    // Never assigned twice: another user's instance cannot take it (and sees nothing of this VM).
    const other = await api.createUser('user');
    expect((await api.call('GET', `/api/client/ipaddr/detail/${host.name}/${vm.uuid}`, { token: other.token })).status).toBe(404);
    const admin = await api.admin();
    const again = await api.call('POST', `/api/v1/instances/${vm.uuid}/addresses`, { token: admin, body: { address: '10.78.1.3', internal_address: '10.77.0.2' } });
    expectError(again, 409, 'CONFLICT');
    expectError(await api.call('POST', `/api/v1/instances/${vm.uuid}/addresses`, { token: admin, body: { address: '10.78.9.9' } }), 422, 'VALIDATION_ERROR');

    const del = await api.call('DELETE', `/api/client/ipaddr/delete/${host.name}/${vm.uuid}/0`, { token: owner.token });
    expect(del.body).toMatchObject({ code: 200, data: { operation: { status: 'succeeded' } } });
    expect(await curlFrom(net.client, 'http://10.78.1.3:8080/')).toBeNull();
  });

  it('an IPv6 bound address (1:1 NAT in table ip6 idcflow) reaches the instance, and the instance leaves from it; gone after the delete', async () => {
    const url = 'http://[fd78:1::3]:8080/';
    expect(await curlFrom(net.client, url, ['-g'])).toBeNull();
    const add = await api.call('POST', `/api/v1/instances/${vm.uuid}/addresses`, { token: owner.token, body: { address: 'FD78:1:0::3', prefix: 120, gateway: 'fd78:1::1' } });
    expect(add.status).toBe(202);
    const op = await finished(api, owner.token, add);
    expect(op).toMatchObject({ status: 'succeeded', resource: { type: 'address', name: 'fd78:1::3' } });
    expect(await curlFrom(net.client, url, ['-g'])).toBe('hello from the instance\n');
    const list = await api.call('GET', `/api/v1/instances/${vm.uuid}/addresses`, { token: owner.token });
    expect(list.body.data.addresses).toEqual([expect.objectContaining({ family: 6, address: 'fd78:1::3', prefix: 120, netmask: null, gateway: 'fd78:1::1', internal_address: 'fd77::2', state: 'active' })]);
    const six = await nftTable(net.host, 'ip6');
    expect(six!.nftables.find((o) => o.map?.name === 'nat1to1_in6')!.map.elem).toEqual([['fd78:1::3', 'fd77::2']]);

    // Outbound, the instance is seen from its public IPv6 address.
    const clientServer = net.client.spawn('python3', ['-m', 'http.server', '9096', '--bind', 'fd78::2', '--directory', net.dir]);
    let peerLog = '';
    clientServer.stderr!.on('data', (b) => (peerLog += b));
    await eventually(async () => (await curlFrom(net.inst, 'http://[fd78::2]:9096/', ['-g'])) !== null, 15_000, 'the client\'s IPv6 server, from the instance');
    await eventually(async () => peerLog.includes('fd78:1::3 - -'), 5_000, 'the client\'s server to log the public IPv6 address');

    // A family chosen without an address takes the next free one; mixed families, foreign addresses and IPv4 netmasks are refused.
    expectError(await api.call('POST', `/api/v1/instances/${vm.uuid}/addresses`, { token: owner.token, body: { address: 'fd78:1::3' } }), 409, 'CONFLICT');
    expectError(await api.call('POST', `/api/v1/instances/${vm.uuid}/addresses`, { token: owner.token, body: { address: 'fd99::3' } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', `/api/v1/instances/${vm.uuid}/addresses`, { token: owner.token, body: { address: 'fd78:1::4', internal_address: '10.77.0.2' } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', `/api/v1/instances/${vm.uuid}/addresses`, { token: owner.token, body: { address: 'fd78:1::4', netmask: '255.255.255.0' } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', `/api/v1/instances/${vm.uuid}/addresses`, { token: owner.token, body: { address: 'fd78:1::zz' } }), 422, 'VALIDATION_ERROR');

    const del = await finished(api, owner.token, await api.call('DELETE', `/api/v1/instances/${vm.uuid}/addresses/${list.body.data.addresses[0].id}`, { token: owner.token }));
    expect(del.status).toBe('succeeded');
    expect(await curlFrom(net.client, url, ['-g'])).toBeNull();
    expect((await nftTable(net.host, 'ip6'))!.nftables.find((o) => o.map?.name === 'nat1to1_in6')!.map.elem ?? []).toEqual([]);
  });

  it('another table\'s forward hook with policy drop is named in the apply result and the host\'s network status', async () => {
    const admin = await api.admin();
    await net.host.exec('nft', ['-f', '-'], { input: 'table ip filter {\n chain FORWARD {\n  type filter hook forward priority 0; policy drop;\n }\n}\n' });
    try {
      const op = await finished(api, owner.token, await api.call('POST', `/api/v1/instances/${vm.uuid}/port-forwards`, { token: owner.token, body: { external_port: 20031, internal_port: 8080 } }));
      expect(op.status).toBe('succeeded');
      const warning = expect.stringMatching(/^table ip filter, chain FORWARD: its forward hook has policy drop/);
      expect(op.result.applied.warnings).toEqual([warning]);
      // Which is why the forward, applied, carries nothing.
      expect(await curlFrom(net.client, 'http://10.78.0.1:20031/')).toBeNull();
      expect((await api.call('GET', `/api/v1/hosts/${host.id}/network`, { token: admin })).body.data.warnings).toEqual([warning]);
    } finally {
      await net.host.exec('nft', ['delete', 'table', 'ip', 'filter']);
    }
    expect(await curlFrom(net.client, 'http://10.78.0.1:20031/')).toBe('hello from the instance\n');
    // The agent's next check notices the warning is gone and records that.
    await eventually(async () => (await api.call('GET', `/api/v1/hosts/${host.id}/network`, { token: admin })).body.data.warnings.length === 0, 10_000, 'the warning to clear');
    const id = (await api.call('GET', `/api/v1/instances/${vm.uuid}/port-forwards`, { token: owner.token })).body.data.port_forwards[0].id;
    expect((await finished(api, owner.token, await api.call('DELETE', `/api/v1/instances/${vm.uuid}/port-forwards/${id}`, { token: owner.token }))).status).toBe('succeeded');
  });

  it('a proxied domain over HTTP and HTTPS (certificate verified against Caddy\'s CA); unique platform-wide; gone after the delete', async () => {
    const add = await api.call('POST', `/api/v1/instances/${vm.uuid}/proxies`, { token: owner.token, body: { domain: 'App.Example.TEST', target_port: 8080, tls: true } });
    const op = await finished(api, owner.token, add);
    expect(op).toMatchObject({ status: 'succeeded', resource: { type: 'proxy', name: 'app.example.test' } });
    const resolve = ['--resolve', 'app.example.test:80:10.78.0.1', '--resolve', 'app.example.test:443:10.78.0.1'];
    // Served once its domain is proven (test/networking/domain-proof.test.ts proves domains; here an admin vouches).
    expect(await curlFrom(net.client, 'http://app.example.test/', resolve)).toBeNull();
    const admin = await api.admin();
    expect(await verifyDomain(api, admin, vm.uuid, 'app.example.test')).toMatchObject({ status: 'succeeded', result: { verified: true, method: 'admin' } });
    expect(await curlFrom(net.client, 'http://app.example.test/', resolve)).toBe('hello from the instance\n');
    // Caddy issues the certificate in the background after the load: poll until the handshake works.
    const https = await eventually(async () => fs.existsSync(caddy.rootCert) && curlFrom(net.client, 'https://app.example.test/', [...resolve, '--cacert', caddy.rootCert]), 30_000, 'HTTPS through Caddy');
    expect(https).toBe('hello from the instance\n');
    expect(await curlFrom(net.client, 'https://app.example.test/', resolve)).toBeNull(); // not trusted without the CA

    expectError(await api.call('POST', `/api/v1/instances/${vm.uuid}/proxies`, { token: owner.token, body: { domain: 'app.example.test.', target_port: 81 } }), 409, 'CONFLICT');
    expectError(await api.call('POST', `/api/v1/instances/${vm.uuid}/proxies`, { token: owner.token, body: { domain: '*.example.test', target_port: 81 } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', `/api/v1/instances/${vm.uuid}/proxies`, { token: owner.token, body: { domain: 'bad_name..test', target_port: 81 } }), 422, 'VALIDATION_ERROR');
    const idn = await finished(api, owner.token, await api.call('POST', `/api/client/proxys/create/${host.name}/${vm.uuid}`, { token: owner.token, body: { domain: 'bücher.example.test', target_port: 8080, ssl_enabled: false } }).then((r) => r.body.data.operation.id));
    expect(idn).toMatchObject({ status: 'succeeded', resource: { name: 'xn--bcher-kva.example.test' } });
    expect((await verifyDomain(api, admin, vm.uuid, 'xn--bcher-kva.example.test')).status).toBe('succeeded');
    const detail = await api.call('GET', `/api/client/proxys/detail/${host.name}/${vm.uuid}`, { token: owner.token });
    expect(detail.body.data).toEqual([
      expect.objectContaining({ proxy_index: 0, domain: 'app.example.test', target_port: 8080, ssl_enabled: true }),
      expect.objectContaining({ proxy_index: 1, domain: 'xn--bcher-kva.example.test', ssl_enabled: false }),
    ]);
    expect(await curlFrom(net.client, 'http://xn--bcher-kva.example.test/', ['--resolve', 'xn--bcher-kva.example.test:80:10.78.0.1'])).toBe('hello from the instance\n');

    const del = await api.call('DELETE', `/api/client/proxys/delete/${host.name}/${vm.uuid}/0`, { token: owner.token });
    expect(del.body).toMatchObject({ code: 200, data: { operation: { status: 'succeeded' } } });
    expect(await curlFrom(net.client, 'http://app.example.test/', resolve)).toBeNull();
    await api.call('DELETE', `/api/client/proxys/delete/${host.name}/${vm.uuid}/0`, { token: owner.token });
  });

  it('quotas per user name the quota; admins are not limited', async () => {
    const admin = await api.admin();
    expect((await api.call('PUT', `/api/v1/users/${owner.id}/network-quota`, { token: admin, body: { nat_ports: 1, proxies: 0, addresses: 1 } })).status).toBe(200);
    expect((await api.call('PUT', `/api/v1/users/${owner.id}/network-quota`, { token: owner.token, body: { nat_ports: 99, proxies: 0, addresses: 1 } })).status).toBe(403);
    const first = await finished(api, owner.token, await api.call('POST', `/api/v1/instances/${vm.uuid}/port-forwards`, { token: owner.token, body: { internal_port: 8080 } }));
    expect(first.status).toBe('succeeded');
    const over = await api.call('POST', `/api/v1/instances/${vm.uuid}/port-forwards`, { token: owner.token, body: { internal_port: 8081 } });
    expectError(over, 409, 'CONFLICT');
    expect(over.body.error).toMatchObject({ message: expect.stringContaining('nat_ports'), details: { quota: 'nat_ports', used: 1, limit: 1 } });
    expect((await api.call('POST', `/api/v1/instances/${vm.uuid}/proxies`, { token: owner.token, body: { domain: 'q.example.test', target_port: 80 } })).body.error.details.quota).toBe('proxies');
    const quota = await api.call('GET', `/api/v1/users/${owner.id}/network-quota`, { token: owner.token });
    expect(quota.body.data).toMatchObject({ quota: { nat_ports: 1 }, used: { nat_ports: 1 }, source: 'user' });
    const byAdmin = await finished(api, admin, await api.call('POST', `/api/v1/instances/${vm.uuid}/port-forwards`, { token: admin, body: { internal_port: 8081 } }));
    expect(byAdmin.status).toBe('succeeded');
    for (const f of (await api.call('GET', `/api/v1/instances/${vm.uuid}/port-forwards`, { token: admin })).body.data.port_forwards) {
      expect((await finished(api, admin, await api.call('DELETE', `/api/v1/instances/${vm.uuid}/port-forwards/${f.id}`, { token: admin }))).status).toBe('succeeded');
    }
  });

  it('every route: no token 401, bad input 422, out of range 422, another user\'s or a missing instance 404', async () => {
    const other = await api.createUser('user');
    for (const path of ['port-forwards', 'addresses', 'proxies']) {
      expectError(await api.call('GET', `/api/v1/instances/${vm.uuid}/${path}`), 401, 'INVALID_CREDENTIALS');
      expectError(await api.call('GET', `/api/v1/instances/${vm.uuid}/${path}`, { token: other.token }), 404, 'RESOURCE_NOT_FOUND');
      expectError(await api.call('POST', `/api/v1/instances/${vm.uuid}/${path}`, { token: other.token, body: { internal_port: 80, domain: 'x.example.test', target_port: 80 } }), 404, 'RESOURCE_NOT_FOUND');
      expectError(await api.call('DELETE', `/api/v1/instances/${vm.uuid}/${path}/1`, { token: other.token }), 404, 'RESOURCE_NOT_FOUND');
      expectError(await api.call('DELETE', `/api/v1/instances/${vm.uuid}/${path}/999999`, { token: owner.token }), 404, 'RESOURCE_NOT_FOUND');
      expectError(await api.call('GET', `/api/v1/instances/${vm.uuid}/${path}/999999`, { token: owner.token }), 404, 'RESOURCE_NOT_FOUND');
      expectError(await api.call('GET', `/api/v1/instances/${vm.uuid}/${path}/x`, { token: owner.token }), 422, 'VALIDATION_ERROR');
      expectError(await api.call('GET', `/api/v1/instances/no-such-vm/${path}`, { token: owner.token }), 404, 'RESOURCE_NOT_FOUND');
      expectError(await api.call('POST', `/api/v1/instances/${vm.uuid}/${path}`, { token: owner.token, rawBody: '{bad' }), 400, 'BAD_REQUEST');
    }
    const bad = await api.call('POST', `/api/v1/instances/${vm.uuid}/port-forwards`, { token: owner.token, body: { protocol: 'icmp', internal_port: 0 } });
    expectError(bad, 422, 'VALIDATION_ERROR');
    expect(bad.body.error.details.errors.map((e: { field: string }) => e.field).sort()).toEqual(['internal_port', 'protocol']);
    const range = await api.call('POST', `/api/v1/instances/${vm.uuid}/port-forwards`, { token: owner.token, body: { external_port: 30000, internal_port: 80 } });
    expectError(range, 422, 'VALIDATION_ERROR');
    expect(range.body.error.details.field).toBe('external_port');
    expectError(await api.call('POST', `/api/v1/instances/${vm.uuid}/proxies`, { token: owner.token, body: { domain: 'x.example.test', target_port: 70000 } }), 422, 'VALIDATION_ERROR');
    // Seed 001's surface: its own envelope and statuses.
    expect((await api.call('GET', `/api/client/natget/${host.name}/${vm.uuid}`)).body).toMatchObject({ code: 401 });
    expect((await api.call('GET', `/api/client/natget/${host.name}/${vm.uuid}`, { token: other.token })).body).toMatchObject({ code: 404 });
    expect((await api.call('GET', `/api/client/natget/no-such-host/${vm.uuid}`, { token: owner.token })).body).toMatchObject({ code: 404 });
    expect((await api.call('POST', `/api/client/natadd/${host.name}/${vm.uuid}`, { token: owner.token, body: { protocol: 'tcp', external_port: 1, internal_port: 80 } })).body).toMatchObject({ code: 422 });
    expect((await api.call('POST', `/api/client/proxys/create/${host.name}/${vm.uuid}`, { token: owner.token, body: { target_port: 80 } })).body).toMatchObject({ code: 422 });
    expect((await api.call('DELETE', `/api/client/ipaddr/delete/${host.name}/${vm.uuid}/0`, { token: owner.token })).body).toMatchObject({ code: 404 });
    expectError(await api.call('GET', `/api/v1/hosts/${host.id}/network`, { token: owner.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expect((await api.call('GET', `/api/v1/hosts/${host.id}/network`, { token: await api.admin() })).body.data).toMatchObject({ host: host.name, applies: expect.any(Array) });
  });

  it('a spoofed address never reaches another tenant\'s instance: a tenant\'s forward and 1:1 address reach its own, at the address the engine reports', async () => {
    const attacker = await api.createUser('user');
    // Asking for the victim's address (or the host's loopback) is refused, and nothing is stored.
    for (const ip4 of ['10.77.0.2', '127.0.0.1']) {
      const uuid = uniq('spoof');
      const res = await api.call('POST', '/api/v1/instances', { token: attacker.token, body: { uuid, name: 'spoof', host_id: host.id, nics: [{ name: 'eth0', ip4 }] } });
      expectError(res, 422, 'VALIDATION_ERROR');
      expect(res.body.error.details.field).toBe('nics.0.ip4');
      expect(await api.deps.knex('instances').where({ uuid }).first()).toBeUndefined();
    }
    // The attacker's own instance takes the pool's next address, which the (simulated) engine reports; its server answers there.
    const { op } = await createInstance(api, attacker.token, { host_id: host.id });
    expect(op.status).toBe('succeeded');
    const mine = await api.deps.knex('instances').where({ uuid: op.resource.id }).first();
    const [own] = mine.engine_addresses as string[];
    expect(own).toMatch(/^10\.77\.0\.(\d+)$/);
    expect(own).not.toBe('10.77.0.2');
    fs.mkdirSync(`${net.dir}/www-b`, { recursive: true });
    fs.writeFileSync(`${net.dir}/www-b/index.html`, 'hello from the attacker\'s instance\n');
    await net.inst.exec('ip', ['addr', 'add', `${own}/32`, 'dev', 'lo']);
    net.inst.spawn('python3', ['-m', 'http.server', '8080', '--bind', own, '--directory', `${net.dir}/www-b`]);
    await eventually(async () => (await curlFrom(net.inst, `http://${own}:8080/`))?.includes('attacker'), 15_000, 'the attacker\'s server');
    // Even with the victim's address recorded in its NICs (as the code before would have), its rules go to its own address.
    await api.deps.knex('instances').where({ id: mine.id }).update({ nics: JSON.stringify([{ name: 'eth0', ip4: '10.77.0.2' }]) });
    const spoofed = await api.call('POST', `/api/v1/instances/${mine.uuid}/port-forwards`, { token: attacker.token, body: { protocol: 'tcp', external_port: 20060, internal_port: 8080, internal_address: '10.77.0.2' } });
    expectError(spoofed, 422, 'VALIDATION_ERROR');
    const fwd = await finished(api, attacker.token, await api.call('POST', `/api/v1/instances/${mine.uuid}/port-forwards`, { token: attacker.token, body: { protocol: 'tcp', external_port: 20061, internal_port: 8080 } }));
    expect(fwd.status).toBe('succeeded');
    expect((await api.call('GET', `/api/v1/instances/${mine.uuid}/port-forwards`, { token: attacker.token })).body.data.port_forwards).toEqual([expect.objectContaining({ internal_address: own })]);
    expect(await curlFrom(net.client, 'http://10.78.0.1:20061/')).toBe('hello from the attacker\'s instance\n');
    const one = await finished(api, attacker.token, await api.call('POST', `/api/v1/instances/${mine.uuid}/addresses`, { token: attacker.token, body: { address: '10.78.1.6' } }));
    expect(one.status).toBe('succeeded');
    expect((await api.call('GET', `/api/v1/instances/${mine.uuid}/addresses`, { token: attacker.token })).body.data.addresses).toEqual([expect.objectContaining({ internal_address: own })]);
    expect(await curlFrom(net.client, 'http://10.78.1.6:8080/')).toBe('hello from the attacker\'s instance\n');
    // The victim's instance is not the attacker's to point anything at.
    expectError(await api.call('POST', `/api/v1/instances/${vm.uuid}/port-forwards`, { token: attacker.token, body: { protocol: 'tcp', external_port: 20062, internal_port: 8080 } }), 404, 'RESOURCE_NOT_FOUND');
    expect(await curlFrom(net.client, 'http://10.78.0.1:20062/')).toBeNull();
    expect((await finished(api, attacker.token, await api.call('DELETE', `/api/v1/instances/${mine.uuid}`, { token: attacker.token }))).status).toBe('succeeded');
    expect(await curlFrom(net.client, 'http://10.78.0.1:20061/')).toBeNull();
  });

  it('the drift checks (every second through this file) never took its own operations for drift', async () => {
    const checks = await api.deps.knex('network_applies').where({ host_id: host.id }).select('reason', 'corrected', 'drift').orderBy('id');
    // At start the agent found Caddy with its bare start-up config, and loaded the host's: a real correction.
    expect(checks[0]).toMatchObject({ reason: 'start', corrected: true, drift: ['the reverse proxy configuration differs'] });
    expect(checks.filter((c) => c.reason === 'schedule')).toEqual([]);
    expect(checks.filter((c) => c.reason === 'operation').length).toBeGreaterThan(10);
  });

  it('deleting the instance re-applies its host at once: its forward and address stop in the same operation, their port and address are free', async () => {
    const fwd = await finished(api, owner.token, await api.call('POST', `/api/v1/instances/${vm.uuid}/port-forwards`, { token: owner.token, body: { external_port: 20040, internal_port: 8080 } }));
    const addr = await finished(api, owner.token, await api.call('POST', `/api/v1/instances/${vm.uuid}/addresses`, { token: owner.token, body: { address: '10.78.1.5' } }));
    expect([fwd.status, addr.status]).toEqual(['succeeded', 'succeeded']);
    expect(await curlFrom(net.client, 'http://10.78.0.1:20040/')).toBe('hello from the instance\n');
    expect(await curlFrom(net.client, 'http://10.78.1.5:8080/')).toBe('hello from the instance\n');

    const del = await finished(api, owner.token, await api.call('DELETE', `/api/v1/instances/${vm.uuid}`, { token: owner.token }));
    expect(del).toMatchObject({ status: 'succeeded', result: { deleted: true, network: { removed: 2, applied: true } } });
    // No wait for a drift check: the operation itself applied the host without them.
    expect(await curlFrom(net.client, 'http://10.78.0.1:20040/')).toBeNull();
    expect(await curlFrom(net.client, 'http://10.78.1.5:8080/')).toBeNull();
    // This host's rows (other files' hosts use the same fabric addresses and ports).
    expect(await api.deps.knex('port_forwards').where({ host_id: host.id, external_port: 20040 })).toEqual([]);
    expect(await api.deps.knex('instance_addresses').where({ host_id: host.id, address: '10.78.1.5' })).toEqual([]);
    const steps = (await api.deps.knex('operation_events').where({ operation_id: del.id }).select('step')).map((e) => e.step);
    expect(steps).toEqual(expect.arrayContaining(['network-leave', 'network-apply', 'network-forget']));
  });
});
