import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startTestApi, eventually, type TestApi, type TestUser } from '../support/api';
import { addHost, createInstance, finished } from '../support/compute';
import type { Spawned } from '../support/processes';
import { runTool, nftFailure, HostToolError } from '../../activities/networking/tools';
import { addFabricInstance, addNetworkHost, curlFrom, networkFabric, networkingUnavailable, nftTable, spawnNetworkAgent, verifyDomain, type NetworkFabric } from '../support/networking';
import { describeIfRunnable } from '../support/environment';

const skip = networkingUnavailable();

let api: TestApi;
let net: NetworkFabric;
let agent: Spawned | undefined;
let host: { id: number; name: string };
let owner: TestUser;
let vm: { uuid: string };

const forwards = async () => (await api.call('GET', `/api/v1/instances/${vm.uuid}/port-forwards`, { token: owner.token })).body.data.port_forwards as Array<{ id: number; external_port: number; state: string }>;
const tcpElements = async () => ((await nftTable(net.host))?.nftables.find((o) => o.map?.name === 'tcp_fwd')?.map.elem ?? []) as unknown[];

describeIfRunnable(skip, 'the host agent: crash mid-apply, drift, hosts that cannot apply', () => {
  beforeAll(async () => {
    api = await startTestApi({ IDCFLOW_AGENT_WAIT_SECONDS: '5' });
    net = await networkFabric();
    host = await addNetworkHost(api);
    agent = await spawnNetworkAgent(api, host, net.host.name, { IDCFLOW_NETWORK_RECONCILE_SECONDS: '1' });
    owner = await api.createUser('user');
    vm = await addFabricInstance(api, owner.token, host.id);
  });
  afterAll(async () => {
    await agent?.stop();
    await net?.destroy();
    await api?.close();
  });

  it('drift: a deleted table and a stray element are put right by the agent\'s loop, which records what it corrected', async () => {
    const add = await finished(api, owner.token, await api.call('POST', `/api/v1/instances/${vm.uuid}/port-forwards`, { token: owner.token, body: { external_port: 20030, internal_port: 8080 } }));
    expect(add.status).toBe('succeeded');
    expect(await curlFrom(net.client, 'http://10.78.0.1:20030/')).toBe('hello from the instance\n');

    await net.host.exec('nft', ['delete', 'table', 'ip', 'idcflow']);
    await eventually(async () => (await curlFrom(net.client, 'http://10.78.0.1:20030/')) === 'hello from the instance\n', 15_000, 'the table to be restored');
    await net.host.exec('nft', ['add', 'element', 'ip', 'idcflow', 'tcp_fwd', '{ 10.78.0.1 . 20031 : 10.77.0.2 . 8080 }']);
    await eventually(async () => (await tcpElements()).length === 1, 15_000, 'the stray element to be removed');
    expect(await curlFrom(net.client, 'http://10.78.0.1:20031/')).toBeNull();

    const view = await api.call('GET', `/api/v1/hosts/${host.id}/network`, { token: await api.admin() });
    const corrected = view.body.data.applies.filter((a: { corrected: boolean }) => a.corrected).map((a: { drift: string[] }) => a.drift.join('; '));
    expect(corrected).toEqual(expect.arrayContaining([expect.stringContaining('table ip idcflow is missing'), expect.stringContaining('tcp_fwd: unexpected 10.78.0.1 . 20031')]));
    expect(view.body.data.counts).toEqual({ port_forwards: 1, addresses: 0, proxies: 0 });
  });

  it('crash: the agent killed after applying and before reporting; after its restart the rule exists exactly once', async () => {
    await agent!.stop();
    agent = await spawnNetworkAgent(api, host, net.host.name, { IDCFLOW_FAULT_DELAY: 'networkingApplyHost.after:60000', IDCFLOW_NETWORK_RECONCILE_SECONDS: '0' });
    const res = await api.call('POST', `/api/v1/instances/${vm.uuid}/port-forwards`, { token: owner.token, body: { external_port: 20040, internal_port: 8080 } });
    expect(res.status).toBe(202);
    await eventually(async () => JSON.stringify(await tcpElements()).includes('20040'), 30_000, 'the apply to reach nftables');
    expect((await forwards()).find((f) => f.external_port === 20040)?.state).toBe('pending');
    await agent.stop('SIGKILL');
    agent = await spawnNetworkAgent(api, host, net.host.name, { IDCFLOW_NETWORK_RECONCILE_SECONDS: '0' });

    const op = await finished(api, owner.token, res, 90);
    expect(op.status).toBe('succeeded');
    const table = await nftTable(net.host);
    const elements = JSON.stringify(table!.nftables.find((o) => o.map?.name === 'tcp_fwd')!.map.elem);
    expect(elements.match(/20040/g)).toHaveLength(1);
    expect(table!.nftables.filter((o) => o.rule?.chain === 'prerouting')).toHaveLength(3);
    expect((await net.host.exec('nft', ['list', 'tables'])).match(/table ip idcflow/g)).toHaveLength(1);
    expect(await curlFrom(net.client, 'http://10.78.0.1:20040/')).toBe('hello from the instance\n');
    expect((await forwards()).map((f) => [f.external_port, f.state])).toEqual([[20030, 'active'], [20040, 'active']]);
  });

  it('a host that cannot apply refuses with a clear code naming what is missing; nothing is left behind', async () => {
    const admin = await api.admin();
    // No reverse proxy on this agent: a claim is recorded (a domain not yet proven is not served, so nothing needs the
    // proxy yet); serving it once proven is NOT_SUPPORTED, and the claim stays pending, unserved.
    const claim = await finished(api, owner.token, await api.call('POST', `/api/v1/instances/${vm.uuid}/proxies`, { token: owner.token, body: { domain: 'np.example.test', target_port: 8080 } }));
    expect(claim.status).toBe('succeeded');
    const proxy = await verifyDomain(api, admin, vm.uuid, 'np.example.test');
    expect(proxy).toMatchObject({ status: 'failed', error: { code: 'NOT_SUPPORTED', message: expect.stringContaining('no reverse proxy') } });
    expect((await api.call('GET', `/api/v1/instances/${vm.uuid}/proxies`, { token: owner.token })).body.data.proxies).toEqual([
      expect.objectContaining({ domain: 'np.example.test', state: 'active', verification: expect.objectContaining({ status: 'pending', error: expect.stringContaining('could not serve it') }) }),
    ]);
    const seed = await api.call('POST', `/api/client/proxys/verify/${host.name}/${vm.uuid}/0`, { token: admin, body: { force: true } });
    expect(seed.body).toMatchObject({ code: 400, data: { error: 'BAD_REQUEST' } });
    const id = (await api.call('GET', `/api/v1/instances/${vm.uuid}/proxies`, { token: owner.token })).body.data.proxies[0].id;
    expect((await finished(api, owner.token, await api.call('DELETE', `/api/v1/instances/${vm.uuid}/proxies/${id}`, { token: owner.token }))).status).toBe('succeeded');

    // An agent whose host has no nft binary.
    const bin = fs.mkdtempSync(path.join(net.dir, 'bin-'));
    fs.symlinkSync(spawnSync('sh', ['-c', 'command -v ip']).stdout.toString().trim(), path.join(bin, 'ip'));
    const bare = await addNetworkHost(api);
    const bareAgent = await spawnNetworkAgent(api, bare, net.host.name, { PATH: bin });
    try {
      const inst = await addFabricInstance(api, admin, bare.id);
      const op = await finished(api, admin, await api.call('POST', `/api/v1/instances/${inst.uuid}/port-forwards`, { token: admin, body: { internal_port: 8080 } }));
      expect(op).toMatchObject({ status: 'failed', error: { code: 'NOT_SUPPORTED', message: expect.stringMatching(/nft is not installed/) } });
      expect((await api.call('GET', `/api/v1/instances/${inst.uuid}/port-forwards`, { token: admin })).body.data.port_forwards).toEqual([]);
    } finally {
      await bareAgent.stop();
    }

    // A host without an agent: networking is the agent's work.
    const noAgent = await addHost(api, { nat_port_start: 20000, nat_port_end: 20010, public_addresses: ['10.78.0.1'] });
    const { op: created } = await createInstance(api, admin, { host_id: noAgent.id, nics: [{ name: 'eth0', ip4: '10.77.5.2' }] });
    const op = await finished(api, admin, await api.call('POST', `/api/v1/instances/${created.resource.id}/port-forwards`, { token: admin, body: { internal_port: 22 } }));
    expect(op).toMatchObject({ status: 'failed', error: { code: 'NOT_SUPPORTED', message: expect.stringContaining('has no agent') } });
    // A host without a NAT range or public addresses says so at once.
    const bareHost = await addHost(api, {});
    const { op: plain } = await createInstance(api, admin, { host_id: bareHost.id, nics: [{ name: 'eth0', ip4: '10.77.6.2' }] });
    const refused = await api.call('POST', `/api/v1/instances/${plain.resource.id}/port-forwards`, { token: admin, body: { internal_port: 22 } });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('no NAT port range'), details: { reason: 'NOT_SUPPORTED' } });
    expect((await api.call('POST', `/api/v1/instances/${plain.resource.id}/addresses`, { token: admin, body: {} })).body.error.details.reason).toBe('NOT_SUPPORTED');
  });

  it('an agent without the rights (no CAP_NET_ADMIN) is told apart from a refused ruleset: SERVICE_UNAVAILABLE', async () => {
    const denied = await runTool('capsh', ['--drop=cap_net_admin', '--', '-c', 'nft -f -'], { netns: net.host.name, input: 'table ip idcflow_x {}\n' });
    expect(denied.code).not.toBe(0);
    const err = nftFailure(denied, '-f');
    expect(err).toBeInstanceOf(HostToolError);
    expect(err).toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: expect.stringContaining('CAP_NET_ADMIN') });
    const refused = await runTool('nft', ['-f', '-'], { netns: net.host.name, input: 'table ip idcflow_x { map m { type ipv4_addr : ipv4_addr; elements = { 1.2.3.4 : 5.6.7.8, 1.2.3.4 : 5.6.7.9 } } }\n' });
    expect(refused.code).not.toBe(0);
    expect(nftFailure(refused, '-f')).not.toBeInstanceOf(HostToolError);
    expect(await net.host.exec('nft', ['list', 'tables'])).not.toContain('idcflow_x');
  });
});
