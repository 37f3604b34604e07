import fs from 'node:fs';
import path from 'node:path';
import { startTestApi, expectError, eventually, type TestApi, type TestUser } from '../support/api';
import { finished } from '../support/compute';
import type { Spawned } from '../support/processes';
import { addFabricInstance, addNetworkHost, curlFrom, networkFabric, networkingUnavailable, spawnNetworkAgent, startCaddy, verifyDomain, type NetworkFabric } from '../support/networking';
import { caddyAdmin } from '../../activities/networking/tools';
import { pebbleUnavailable, startPebble } from './pebble';
import { describeIfRunnable } from '../support/environment';

const skip = networkingUnavailable({ caddy: true }) ?? pebbleUnavailable();

// The proxy listens on ports other than 80/443 (as behind a port mapping): Pebble validates on these, as a CA would on 80/443.
const HTTP_PORT = 8880;
const HTTPS_PORT = 8443;

let api: TestApi;
let net: NetworkFabric;
let agent: Spawned;
let caddy: Awaited<ReturnType<typeof startCaddy>>;
let pebble: Awaited<ReturnType<typeof startPebble>>;
let host: { id: number; name: string };
let owner: TestUser;
let admin: string;
let vm: { uuid: string };

const resolve = (domain: string) => ['--resolve', `${domain}:${HTTPS_PORT}:10.78.0.1`];
const https = (domain: string, ca: string[]) => curlFrom(net.client, `https://${domain}:${HTTPS_PORT}/`, [...resolve(domain), ...ca]);

async function addTlsProxy(domain: string) {
  const op = await finished(api, owner.token, await api.call('POST', `/api/v1/instances/${vm.uuid}/proxies`, { token: owner.token, body: { domain, target_port: 8080, tls: true } }));
  expect(op).toMatchObject({ status: 'succeeded', resource: { name: domain } });
  // A certificate is asked for only once the domain is proven (here an admin vouches for it).
  expect(await verifyDomain(api, admin, vm.uuid, domain)).toMatchObject({ status: 'succeeded', result: { verified: true } });
}

/** The proxy's certificate as its owner sees it, once the agent has recorded one matching `ready`. */
async function certificateOf(domain: string, ready: (c: Record<string, unknown>) => boolean, what: string) {
  return eventually(async () => {
    const list = await api.call('GET', `/api/v1/instances/${vm.uuid}/proxies`, { token: owner.token });
    const c = list.body.data.proxies.find((p: { domain: string }) => p.domain === domain)?.certificate;
    return c && ready(c) ? c : null;
  }, 30_000, what);
}

const setAcme = async (body: Record<string, unknown>) => finished(api, admin, await api.call('PUT', `/api/v1/hosts/${host.id}/network/acme`, { token: admin, body }));

describeIfRunnable(skip, 'proxy certificates from an ACME server (Pebble validating Caddy\'s challenges for real)', () => {
  beforeAll(async () => {
    api = await startTestApi();
    net = await networkFabric();
    pebble = await startPebble(net.client, net.dir, { address: '10.78.0.2', target: '10.78.0.1', httpPort: HTTP_PORT, tlsPort: HTTPS_PORT });
    caddy = await startCaddy(net.host, net.dir);
    host = await addNetworkHost(api);
    agent = await spawnNetworkAgent(api, host, net.host.name, {
      IDCFLOW_CADDY_ADMIN_SOCKET: caddy.socket, IDCFLOW_CADDY_STORAGE: caddy.storage, IDCFLOW_NETWORK_RECONCILE_SECONDS: '1',
      IDCFLOW_CADDY_HTTP_PORT: String(HTTP_PORT), IDCFLOW_CADDY_HTTPS_PORT: String(HTTPS_PORT),
    });
    admin = await api.admin();
    owner = await api.createUser('user');
    vm = await addFabricInstance(api, owner.token, host.id);
  });
  afterAll(async () => {
    await agent?.stop();
    await net?.destroy();
    await api?.close();
  });

  it('the settings: admins only, validated (422 naming the field), 404 for a missing host; the internal CA without them', async () => {
    const url = `/api/v1/hosts/${host.id}/network/acme`;
    expect((await api.call('GET', url, { token: admin })).body.data).toEqual({ host: host.name, issuer: 'internal', acme: null });
    const fieldsOf = async (body: Record<string, unknown>) => {
      const res = await api.call('PUT', url, { token: admin, body });
      expectError(res, 422, 'VALIDATION_ERROR');
      return res.body.error.details.errors.map((e: { field: string }) => e.field);
    };
    expect(await fieldsOf({ directory: 'http://10.78.0.2:14000/dir' })).toEqual(['directory']);
    expect(await fieldsOf({ directory: 'not a url' })).toEqual(['directory']);
    expect(await fieldsOf({ directory: 'https://user:pw@ca.example.test/dir' })).toEqual(['directory']);
    expect(await fieldsOf({ directory: pebble.directory, email: 'nobody' })).toEqual(['email']);
    expect(await fieldsOf({ directory: pebble.directory, ca_root_pem: 'not a certificate' })).toEqual(['ca_root_pem']);
    expect(await fieldsOf({ directory: pebble.directory, ca_root_pem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' })).toEqual(['ca_root_pem']);
    expect((await fieldsOf({ directory: pebble.directory, challenges: ['dns-01'] }))[0]).toMatch(/^challenges/);
    expect(await fieldsOf({ directory: pebble.directory, challenges: [] })).toEqual(['challenges']);
    expectError(await api.call('PUT', url, { body: { directory: pebble.directory } }), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('PUT', url, { token: owner.token, body: { directory: pebble.directory } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('GET', url, { token: owner.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('DELETE', url, { token: owner.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('PUT', '/api/v1/hosts/999999/network/acme', { token: admin, body: { directory: pebble.directory } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', '/api/v1/hosts/999999/network/acme', { token: admin }), 404, 'RESOURCE_NOT_FOUND');

    // A host whose settings cannot be applied (no agent) keeps the ones it had: the operation fails and puts them back.
    const bare = await addNetworkHost(api, { use_agent: false });
    const failed = await finished(api, admin, await api.call('PUT', `/api/v1/hosts/${bare.id}/network/acme`, { token: admin, body: { directory: pebble.directory } }));
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'NOT_SUPPORTED' } });
    expect((await api.call('GET', `/api/v1/hosts/${bare.id}/network/acme`, { token: admin })).body.data).toMatchObject({ issuer: 'internal', acme: null });
    expect(await api.deps.knex('host_acme').where({ host_id: bare.id })).toEqual([]);
  });

  it('HTTP-01 on the proxy\'s HTTP port: Pebble validates it and the served certificate chains to Pebble\'s root', async () => {
    const op = await setAcme({ directory: pebble.directory, email: 'ops@example.test', ca_root_pem: pebble.listenerCaPem, challenges: ['http-01'] });
    expect(op).toMatchObject({ status: 'succeeded', type: 'networking.host.acme', result: { acme_directory: pebble.directory } });
    const view = (await api.call('GET', `/api/v1/hosts/${host.id}/network/acme`, { token: admin })).body.data;
    expect(view).toMatchObject({ issuer: 'acme', acme: { directory: pebble.directory, email: 'ops@example.test', challenges: ['http-01'], state: 'active', ca_roots: [expect.objectContaining({ subject: 'CN=idcflow test ACME listener CA' })] } });

    await addTlsProxy('web.acme.test');
    const served = await eventually(() => https('web.acme.test', ['--cacert', pebble.issuingRootFile]), 30_000, 'HTTPS with a certificate from Pebble');
    expect(served).toBe('hello from the instance\n');
    expect(await https('web.acme.test', [])).toBeNull(); // Pebble's root is in no system store
    if (fs.existsSync(caddy.rootCert)) expect(await https('web.acme.test', ['--cacert', caddy.rootCert])).toBeNull();
    // Caddy solved HTTP-01 (TLS-ALPN-01 is off for this host), as its TLS log says.
    const log = fs.readFileSync(path.join(caddy.storage, 'logs', 'idcflow-tls.log'), 'utf8');
    expect(log).toMatch(/"identifier":"web\.acme\.test","challenge_type":"http-01"/);
    expect(log).not.toMatch(/"identifier":"web\.acme\.test","challenge_type":"tls-alpn-01"/);

    const cert = await certificateOf('web.acme.test', (c) => Boolean(c.not_after), 'the agent to record the certificate');
    expect(cert).toEqual({
      source: 'acme', acme_directory: pebble.directory, issuer: expect.stringMatching(/^CN=Pebble Intermediate CA/),
      not_before: expect.any(String), not_after: expect.any(String), error: null, error_at: null,
    });
    expect(Date.parse(cert.not_after as string)).toBeGreaterThan(Date.now() + 30 * 86400_000);
  });

  it('TLS-ALPN-01 on the proxy\'s HTTPS port', async () => {
    expect((await setAcme({ directory: pebble.directory, ca_root_pem: pebble.listenerCaPem, challenges: ['tls-alpn-01'] })).status).toBe('succeeded');
    await addTlsProxy('alpn.acme.test');
    expect(await eventually(() => https('alpn.acme.test', ['--cacert', pebble.issuingRootFile]), 30_000, 'HTTPS with a TLS-ALPN-01 certificate')).toBe('hello from the instance\n');
    const log = fs.readFileSync(path.join(caddy.storage, 'logs', 'idcflow-tls.log'), 'utf8');
    expect(log).toMatch(/"identifier":"alpn\.acme\.test","challenge_type":"tls-alpn-01"/);
    expect(log).not.toMatch(/"identifier":"alpn\.acme\.test","challenge_type":"http-01"/);
  });

  it('a failing order (the domain resolves elsewhere) is visible to the proxy\'s owner, with the CA\'s words', async () => {
    await pebble.setA('broken.acme.test', '10.78.0.2'); // the client side, where nothing listens
    await addTlsProxy('broken.acme.test');
    const cert = await certificateOf('broken.acme.test', (c) => Boolean(c.error), 'the failed order to be recorded');
    expect(cert).toMatchObject({ source: 'acme', issuer: null, not_after: null, error: expect.stringMatching(/Failed to connect to 10\.78\.0\.2:8443|broken\.acme\.test/), error_at: expect.any(String) });
    expect(await https('broken.acme.test', ['--cacert', pebble.issuingRootFile])).toBeNull();
    // Another user sees none of it.
    const other = await api.createUser('user');
    expectError(await api.call('GET', `/api/v1/instances/${vm.uuid}/proxies`, { token: other.token }), 404, 'RESOURCE_NOT_FOUND');
  });

  it('without the settings, the host\'s TLS domains are back on Caddy\'s internal CA', async () => {
    const op = await finished(api, admin, await api.call('DELETE', `/api/v1/hosts/${host.id}/network/acme`, { token: admin }));
    expect(op).toMatchObject({ status: 'succeeded', result: { acme_directory: null } });
    expect((await api.call('GET', `/api/v1/hosts/${host.id}/network/acme`, { token: admin })).body.data).toMatchObject({ issuer: 'internal', acme: null });
    const served = await eventually(async () => fs.existsSync(caddy.rootCert) && https('web.acme.test', ['--cacert', caddy.rootCert]), 30_000, 'HTTPS from the internal CA');
    expect(served).toBe('hello from the instance\n');
    const cert = await certificateOf('web.acme.test', (c) => c.source === 'internal' && Boolean(c.not_after), 'the internal certificate to be recorded');
    expect(cert).toMatchObject({ acme_directory: null, issuer: expect.stringMatching(/idcflow internal CA/), error: null });
  });

  it('the drift checks (every second through this file) never took the file\'s own changes for drift', async () => {
    const checks = await api.deps.knex('network_applies').where({ host_id: host.id }).select('reason', 'drift');
    expect(checks.filter((c) => c.reason === 'schedule')).toEqual([]);
  });

  it('drift: the CA root file removed by hand is written again by the next check, and recorded', async () => {
    expect((await setAcme({ directory: pebble.directory, ca_root_pem: pebble.listenerCaPem })).status).toBe('succeeded');
    const config = JSON.parse((await caddyAdmin(caddy.socket, 'GET', '/config/')).body);
    const issuer = config.apps.tls.automation.policies[0].issuers[0];
    expect(issuer).toMatchObject({ module: 'acme', challenges: { http: { alternate_port: HTTP_PORT }, 'tls-alpn': { alternate_port: HTTPS_PORT } } });
    const [rootsFile] = issuer.trusted_roots_pem_files as string[];
    expect(fs.readFileSync(rootsFile, 'utf8')).toBe(pebble.listenerCaPem.trim() + '\n');
    fs.rmSync(rootsFile);
    await eventually(async () => fs.existsSync(rootsFile), 15_000, 'the root file to be written again');
    const fixed = await eventually<{ drift: string[] }>(() => api.deps.knex('network_applies').where({ host_id: host.id, reason: 'schedule', corrected: true }).first('drift'), 15_000, 'the correction to be recorded');
    expect(fixed.drift).toEqual(['the ACME CA root file is missing']);
  });
});
