import http from 'node:http';
import { startTestApi, expectError, type TestApi, type TestUser } from '../support/api';
import { finished, uniq } from '../support/compute';
import { spawnWorker, type Spawned } from '../support/processes';
import { addFabricInstance, addNetworkHost, curlFrom, networkFabric, networkingUnavailable, spawnNetworkAgent, startCaddy, type NetworkFabric } from '../support/networking';
import { caddyAdmin } from '../../activities/networking/tools';
import { freePort } from '../../workers/embedded-services';
import { pebbleUnavailable, startChallDns } from './pebble';
import { describeIfRunnable } from '../support/environment';

const skip = networkingUnavailable({ caddy: true }) ?? pebbleUnavailable();

// A worker of this file's own, whose proofs ask pebble-challtestsrv's DNS (IDCFLOW_DNS_RESOLVERS) and whose HTTP proofs
// go to a port of this file's (IDCFLOW_DOMAIN_PROOF_HTTP_PORT, as behind a port mapping).
const queue = uniq('domain-proof');
let api: TestApi;
let worker: Spawned;
let dns: Awaited<ReturnType<typeof startChallDns>>;
let net: NetworkFabric;
let agent: Spawned;
let caddy: Awaited<ReturnType<typeof startCaddy>>;
let host: { id: number; name: string };
let owner: TestUser;
let attacker: TestUser;
let admin: string;
let vm: { uuid: string };
let attackerVm: { uuid: string };
let httpPort: number;
let tokenServer: http.Server;
/** What the test's HTTP server answers at /.well-known/idcflow-challenge/<token>. */
const served = new Map<string, string>();

interface Proxy { id: number; domain: string; state: string; verification: { status: string; method: string | null; token: string; error: string | null; dns: { name: string; value: string }; http: { url: string } | null } }

const proxiesOf = async (uuid: string, token: string) => (await api.call('GET', `/api/v1/instances/${uuid}/proxies`, { token })).body.data.proxies as Proxy[];
const proxyOf = async (uuid: string, token: string, domain: string) => (await proxiesOf(uuid, token)).find((p) => p.domain === domain)!;
const claim = (uuid: string, token: string, domain: string) => api.call('POST', `/api/v1/instances/${uuid}/proxies`, { token, body: { domain, target_port: 8080 } });
const verify = (uuid: string, token: string, id: number, body?: Record<string, unknown>) => api.call('POST', `/api/v1/instances/${uuid}/proxies/${id}/verify`, { token, body });
const rendered = async () => (await caddyAdmin(caddy.socket, 'GET', '/config/')).body;
const page = (domain: string) => curlFrom(net.client, `http://${domain}/`, ['--resolve', `${domain}:80:10.78.0.1`]);

describeIfRunnable(skip, 'a reverse proxy\'s domain is served only once proven (pebble-challtestsrv\'s DNS, a real agent and Caddy)', () => {
  beforeAll(async () => {
    dns = await startChallDns();
    httpPort = await freePort();
    tokenServer = http.createServer((req, res) => {
      const token = /^\/\.well-known\/idcflow-challenge\/([0-9a-f]+)$/.exec(req.url ?? '')?.[1];
      const body = token ? served.get(token) : undefined;
      res.writeHead(body ? 200 : 404, { 'content-type': 'text/plain' }).end(body ?? 'not found');
    });
    await new Promise<void>((r) => tokenServer.listen(httpPort, '127.0.0.1', r));
    worker = await spawnWorker(queue, { IDCFLOW_DNS_RESOLVERS: dns.server, IDCFLOW_DOMAIN_PROOF_HTTP_PORT: String(httpPort) });
    api = await startTestApi({ IDCFLOW_TASK_QUEUE: queue, IDCFLOW_DOMAIN_PROOF_HTTP_PORT: String(httpPort) });
    net = await networkFabric();
    caddy = await startCaddy(net.host, net.dir);
    host = await addNetworkHost(api);
    agent = await spawnNetworkAgent(api, host, net.host.name, { IDCFLOW_CADDY_ADMIN_SOCKET: caddy.socket, IDCFLOW_CADDY_STORAGE: caddy.storage, IDCFLOW_NETWORK_RECONCILE_SECONDS: '1' });
    admin = await api.admin();
    owner = await api.createUser('user');
    attacker = await api.createUser('user');
    vm = await addFabricInstance(api, owner.token, host.id);
    attackerVm = await addFabricInstance(api, attacker.token, host.id, { ip4: '10.77.0.9' });
  }, 240_000);
  afterAll(async () => {
    await agent?.stop();
    await net?.destroy();
    await api?.close();
    await worker?.stop();
    await dns?.stop();
    tokenServer?.close();
  });

  it('a claim is pending, not rendered into the host\'s proxy; its answer gives the token and both ways to prove it', async () => {
    const res = await claim(vm.uuid, owner.token, 'Web.Proof.TEST');
    expect(res.status).toBe(202);
    const v = res.body.data.verification;
    expect(v).toMatchObject({
      status: 'pending', method: null, token: expect.stringMatching(/^[0-9a-f]{40}$/),
      dns: { type: 'TXT', name: '_idcflow-challenge.web.proof.test', value: v.token },
      http: { url: `http://web.proof.test:${httpPort}/.well-known/idcflow-challenge/${v.token}`, body: v.token },
      verify_url: expect.stringMatching(new RegExp(`^/api/v1/instances/${vm.uuid}/proxies/\\d+/verify$`)),
    });
    expect(res.body.message).toContain('_idcflow-challenge.web.proof.test');
    expect((await finished(api, owner.token, res)).status).toBe('succeeded');
    const proxy = await proxyOf(vm.uuid, owner.token, 'web.proof.test');
    expect(proxy).toMatchObject({ state: 'active', verification: { status: 'pending', token: v.token } });
    expect(await rendered()).not.toContain('web.proof.test');
    expect(await page('web.proof.test')).toBeNull();
  });

  it('a TXT record with another token: the claim stays pending with the reason, and unserved', async () => {
    const proxy = await proxyOf(vm.uuid, owner.token, 'web.proof.test');
    await dns.setTxt('_idcflow-challenge.web.proof.test', 'not-the-token');
    const op = await finished(api, owner.token, await verify(vm.uuid, owner.token, proxy.id, { check: 'dns' }));
    expect(op).toMatchObject({ status: 'failed', type: 'networking.proxy.verify', error: { code: 'VALIDATION_ERROR', message: expect.stringContaining('does not hold this claim\'s token') } });
    const after = await proxyOf(vm.uuid, owner.token, 'web.proof.test');
    expect(after.verification).toMatchObject({ status: 'pending', error: expect.stringContaining('_idcflow-challenge.web.proof.test') });
    expect(await rendered()).not.toContain('web.proof.test');
    // No record at all says so too.
    await dns.clearTxt('_idcflow-challenge.web.proof.test');
    const none = await finished(api, owner.token, await verify(vm.uuid, owner.token, proxy.id, { check: 'dns' }));
    expect(none.error.message).toMatch(/no such record|does not hold/);
  });

  it('the TXT record with the claim\'s token proves it: verified, rendered, served', async () => {
    const proxy = await proxyOf(vm.uuid, owner.token, 'web.proof.test');
    await dns.setTxt('_idcflow-challenge.web.proof.test', proxy.verification.token);
    const op = await finished(api, owner.token, await verify(vm.uuid, owner.token, proxy.id));
    expect(op).toMatchObject({ status: 'succeeded', result: { verified: true, method: 'dns', domain: 'web.proof.test' } });
    expect(await proxyOf(vm.uuid, owner.token, 'web.proof.test')).toMatchObject({ state: 'active', verification: { status: 'verified', method: 'dns', error: null } });
    expect(await rendered()).toContain('web.proof.test');
    expect(await page('web.proof.test')).toBe('hello from the instance\n');
    // Verifying again changes nothing.
    expect(await finished(api, owner.token, await verify(vm.uuid, owner.token, proxy.id))).toMatchObject({ status: 'succeeded', result: { already: true } });
  });

  it('a verified domain cannot be claimed again, by another tenant or its owner (409, no token of the owner\'s in the answer)', async () => {
    const owned = await proxyOf(vm.uuid, owner.token, 'web.proof.test');
    const res = await claim(attackerVm.uuid, attacker.token, 'web.proof.test');
    expectError(res, 409, 'CONFLICT');
    expect(res.text).not.toContain(owned.verification.token);
    expectError(await claim(vm.uuid, owner.token, 'web.proof.test.'), 409, 'CONFLICT');
    const seed = await api.call('POST', `/api/client/proxys/create/${host.name}/${attackerVm.uuid}`, { token: attacker.token, body: { domain: 'web.proof.test', target_port: 8080 } });
    expect(seed.body).toMatchObject({ code: 409 });
    expect(await proxiesOf(attackerVm.uuid, attacker.token)).toEqual([]);
  });

  it('two tenants claim one domain: each has their own token, neither sees the other\'s; the first to prove owns it', async () => {
    const mine = await claim(vm.uuid, owner.token, 'race.proof.test');
    const theirs = await claim(attackerVm.uuid, attacker.token, 'race.proof.test');
    expect([mine.status, theirs.status]).toEqual([202, 202]);
    const [myToken, theirToken] = [mine.body.data.verification.token, theirs.body.data.verification.token];
    expect(myToken).not.toBe(theirToken);
    expect(theirs.text).not.toContain(myToken);
    await finished(api, owner.token, mine);
    await finished(api, attacker.token, theirs);
    const attackerSees = (await api.call('GET', `/api/v1/instances/${attackerVm.uuid}/proxies`, { token: attacker.token })).text;
    expect(attackerSees).toContain(theirToken);
    expect(attackerSees).not.toContain(myToken);
    expectError(await api.call('GET', `/api/v1/instances/${vm.uuid}/proxies`, { token: attacker.token }), 404, 'RESOURCE_NOT_FOUND');
    // One claim per account: the owner's second claim of the same domain is refused.
    expectError(await claim(vm.uuid, owner.token, 'race.proof.test'), 409, 'CONFLICT');

    // The domain's DNS holds the owner's token: the attacker's claim cannot be proven with it.
    await dns.setTxt('_idcflow-challenge.race.proof.test', myToken);
    const attackerClaim = await proxyOf(attackerVm.uuid, attacker.token, 'race.proof.test');
    const failed = await finished(api, attacker.token, await verify(attackerVm.uuid, attacker.token, attackerClaim.id));
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'VALIDATION_ERROR' } });
    expect(JSON.stringify(failed)).not.toContain(myToken);
    const myClaim = await proxyOf(vm.uuid, owner.token, 'race.proof.test');
    expect((await finished(api, owner.token, await verify(vm.uuid, owner.token, myClaim.id))).status).toBe('succeeded');
    expect(await page('race.proof.test')).toBe('hello from the instance\n');

    // Now proven: the attacker's waiting claim cannot be verified (409), nor a new claim made; it never was served.
    expectError(await verify(attackerVm.uuid, attacker.token, attackerClaim.id), 409, 'CONFLICT');
    expectError(await claim(attackerVm.uuid, attacker.token, 'race.proof.test'), 409, 'CONFLICT');
    expect(await proxyOf(attackerVm.uuid, attacker.token, 'race.proof.test')).toMatchObject({ verification: { status: 'pending' } });
    // Even an admin's word cannot make a second owner of it.
    expectError(await verify(attackerVm.uuid, admin, attackerClaim.id, { force: true }), 409, 'CONFLICT');
    expect((await finished(api, attacker.token, await api.call('DELETE', `/api/v1/instances/${attackerVm.uuid}/proxies/${attackerClaim.id}`, { token: attacker.token }))).status).toBe('succeeded');
    expect(await page('race.proof.test')).toBe('hello from the instance\n');
  });

  it('the HTTP token: refused toward a private address (the SSRF guard) unless an admin allows it', async () => {
    const res = await claim(vm.uuid, owner.token, 'http.proof.test');
    const token = res.body.data.verification.token as string;
    await finished(api, owner.token, res);
    const proxy = await proxyOf(vm.uuid, owner.token, 'http.proof.test');
    await dns.setA('http.proof.test', '127.0.0.1');
    served.set(token, `${token}\n`);
    const refused = await finished(api, owner.token, await verify(vm.uuid, owner.token, proxy.id, { check: 'http' }));
    expect(refused).toMatchObject({ status: 'failed', error: { code: 'VALIDATION_ERROR', message: expect.stringContaining('127.0.0.1, which is not a public address') } });
    expectError(await verify(vm.uuid, owner.token, proxy.id, { check: 'http', allow_private: true }), 403, 'INSUFFICIENT_PERMISSIONS');
    // A wrong body is no proof either.
    served.set(token, 'something else');
    const wrong = await finished(api, admin, await verify(vm.uuid, admin, proxy.id, { check: 'http', allow_private: true }));
    expect(wrong).toMatchObject({ status: 'failed', error: { message: expect.stringContaining('did not answer this claim\'s token') } });
    served.set(token, token);
    const op = await finished(api, admin, await verify(vm.uuid, admin, proxy.id, { check: 'http', allow_private: true }));
    expect(op).toMatchObject({ status: 'succeeded', result: { method: 'http' } });
    expect(await page('http.proof.test')).toBe('hello from the instance\n');
  });

  it('an admin may mark a domain verified; a tenant may not', async () => {
    const res = await claim(vm.uuid, owner.token, 'vouched.proof.test');
    await finished(api, owner.token, res);
    const proxy = await proxyOf(vm.uuid, owner.token, 'vouched.proof.test');
    expectError(await verify(vm.uuid, owner.token, proxy.id, { force: true }), 403, 'INSUFFICIENT_PERMISSIONS');
    expect(await proxyOf(vm.uuid, owner.token, 'vouched.proof.test')).toMatchObject({ verification: { status: 'pending' } });
    const op = await finished(api, admin, await verify(vm.uuid, admin, proxy.id, { force: true }));
    expect(op).toMatchObject({ status: 'succeeded', result: { method: 'admin' } });
    expect(await page('vouched.proof.test')).toBe('hello from the instance\n');
  });

  it('seed 001: the create answer carries the claim\'s token; the detail list says whether it is verified; verify waits', async () => {
    const res = await api.call('POST', `/api/client/proxys/create/${host.name}/${vm.uuid}`, { token: owner.token, body: { domain: 'seed.proof.test', target_port: 8080, ssl_enabled: false } });
    expect(res.body).toMatchObject({ code: 200, data: { verified: false, verification: { status: 'pending', dns: { name: '_idcflow-challenge.seed.proof.test' } } } });
    const token = res.body.data.verification.token;
    const detail = await api.call('GET', `/api/client/proxys/detail/${host.name}/${vm.uuid}`, { token: owner.token });
    const index = detail.body.data.find((p: { domain: string }) => p.domain === 'seed.proof.test').proxy_index;
    expect(detail.body.data[index]).toMatchObject({ verified: false, status: 'active' });
    const url = `/api/client/proxys/verify/${host.name}/${vm.uuid}/${index}`;
    expect((await api.call('POST', url, { token: owner.token })).body).toMatchObject({ code: 422 });
    await dns.setTxt('_idcflow-challenge.seed.proof.test', token);
    expect((await api.call('POST', url, { token: owner.token })).body).toMatchObject({ code: 200, data: { verified: true, method: 'dns' } });
    expect((await api.call('POST', url, { token: attacker.token })).body).toMatchObject({ code: 404 });
    expect(await page('seed.proof.test')).toBe('hello from the instance\n');
  });

  it('verify: no token 401, another user\'s or a missing proxy 404, bad input 422 naming the field', async () => {
    const proxy = await proxyOf(vm.uuid, owner.token, 'web.proof.test');
    expectError(await verify(vm.uuid, '', proxy.id), 401, 'INVALID_CREDENTIALS');
    expectError(await verify(vm.uuid, attacker.token, proxy.id), 404, 'RESOURCE_NOT_FOUND');
    expectError(await verify(attackerVm.uuid, attacker.token, proxy.id), 404, 'RESOURCE_NOT_FOUND');
    expectError(await verify(vm.uuid, owner.token, 999999), 404, 'RESOURCE_NOT_FOUND');
    expectError(await verify('no-such-vm', owner.token, 1), 404, 'RESOURCE_NOT_FOUND');
    const bad = await verify(vm.uuid, owner.token, proxy.id, { check: 'smtp' });
    expectError(bad, 422, 'VALIDATION_ERROR');
    expect(bad.body.error.details.errors.map((e: { field: string }) => e.field)).toEqual(['check']);
    expectError(await verify(vm.uuid, owner.token, proxy.id, { force: 'yes' }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', `/api/v1/instances/${vm.uuid}/proxies/x/verify`, { token: owner.token }), 422, 'VALIDATION_ERROR');
  });

  it('the drift checks (every second through this file) never took a proof\'s apply for drift', async () => {
    const checks = await api.deps.knex('network_applies').where({ host_id: host.id }).select('reason');
    expect(checks.filter((c) => c.reason === 'schedule')).toEqual([]);
  });
});
