import 'reflect-metadata'; // @peculiar/x509 needs the Reflect polyfill before it loads
import fs from 'node:fs';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { SignJWT, importPKCS8 } from 'jose';
import { startTestApi, expectError, eventually, type TestApi } from '../support/api';
import { addHost, createInstance, uniq } from '../support/compute';
import { agentDir, joinHost, joinToken, spawnAgent } from '../support/agents';
import { createAgentCa, createAgentKey, issueAgentCertificate } from '../../shared/compute/agent-ca';
import { AGENT_AUDIENCE, AGENT_JWT_TYPE, bodyHash } from '../../shared/compute/agent-request';
import { AgentApi, AgentApiError, type AgentIdentity } from '../../activities/compute/agent-api';
import { enrollAgent, loadAgentIdentity } from '../../activities/compute/agent-identity';
import { sha256 } from '../../shared/platform/crypto';
import { VERSION } from '../../shared/platform/version';
import { runCli } from '../client/support';

let api: TestApi;
let admin: string;
beforeAll(async () => {
  api = await startTestApi();
  admin = await api.admin();
});
afterAll(async () => { await api.close(); });

const enroll = (body: Record<string, unknown>) => api.call('POST', '/api/v1/agent/enroll', { body });
const heartbeat = async (identity: AgentIdentity) => (await AgentApi.create(identity)).heartbeat({
  hostname: 'test', cpu_count: 2, cpu_percent: 1.5, load_average: [0.1, 0.2, 0.3], mem_total_mb: 1024, mem_used_mb: 512, disk_total_gb: 10, disk_used_gb: 5, uptime_seconds: 60,
});
const refusal = async (p: Promise<unknown>) => p.then(() => { throw new Error('expected a refusal'); }, (err: AgentApiError) => ({ status: err.status, code: err.code, message: err.message }));

/** A signed request made by hand: the claims as given, signed with `key` and carrying `certPem`. */
async function signed(keyPem: string, certPem: string, claims: Record<string, unknown>, times: { iat: number; exp: number }) {
  const x5c = certPem.replace(/-----[^-]+-----|\s/g, '');
  return `IdcflowAgent ${await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: AGENT_JWT_TYPE, x5c: [x5c] })
    .setAudience(AGENT_AUDIENCE).setIssuedAt(times.iat).setExpirationTime(times.exp).setJti(uniq('jti')).sign(await importPKCS8(keyPem, 'ES256'))}`;
}

describe('join tokens: POST /hosts/:id/join-tokens', () => {
  it('issues a one-time token shown once (only its hash is kept), with the command to run on the host', async () => {
    const host = await addHost(api, { use_agent: true });
    const res = await api.call('POST', `/api/v1/hosts/${host.id}/join-tokens`, { token: admin, body: {} });
    expect(res.status).toBe(201);
    const data = res.body.data;
    expect(data).toMatchObject({ token: expect.stringMatching(/^idcj_[A-Za-z0-9_-]{43}$/), host: { id: host.id, name: host.name }, api_url: api.config.publicUrl });
    expect(data.command).toBe(`npm run agent -- --join ${api.config.publicUrl} ${data.token}`);
    expect(Math.abs(new Date(data.expires_at).getTime() - (Date.now() + 3600_000))).toBeLessThan(60_000);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const rows = await api.deps.knex('host_join_tokens').where({ host_id: host.id });
    expect(rows).toHaveLength(1);
    expect(rows[0].token_hash).toBe(sha256(data.token));
    expect(JSON.stringify(rows)).not.toContain(data.token);
    const short = await api.call('POST', `/api/v1/hosts/${host.id}/join-tokens`, { token: admin, body: { ttl_seconds: 120 } });
    expect(Math.abs(new Date(short.body.data.expires_at).getTime() - (Date.now() + 120_000))).toBeLessThan(10_000);
  });

  it('refuses bad input, no token, a customer or manager, and a missing host', async () => {
    const host = await addHost(api, { use_agent: true });
    const path = `/api/v1/hosts/${host.id}/join-tokens`;
    for (const body of [{ ttl_seconds: 'x' }, { ttl_seconds: 10 }, { ttl_seconds: 8 * 86400 }, { other: 1 }]) {
      const res = await api.call('POST', path, { token: admin, body });
      expectError(res, 422, 'VALIDATION_ERROR');
      expect(res.body.error.details.field).toBe(Object.keys(body)[0] === 'other' ? 'body' : 'ttl_seconds');
    }
    expectError(await api.call('POST', '/api/v1/hosts/abc/join-tokens', { token: admin, body: {} }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', path, { body: {} }), 401, 'INVALID_CREDENTIALS');
    for (const role of ['user', 'manager'] as const) {
      const someone = await api.createUser(role);
      expectError(await api.call('POST', path, { token: someone.token, body: {} }), 403, 'INSUFFICIENT_PERMISSIONS');
    }
    expectError(await api.call('POST', '/api/v1/hosts/99999999/join-tokens', { token: admin, body: {} }), 404, 'RESOURCE_NOT_FOUND');
    expect(await api.deps.knex('host_join_tokens').where({ host_id: host.id })).toEqual([]);
  });
});

describe('enrolment: POST /agent/enroll', () => {
  it('signs the host\'s own key (CN host:<name>, clientAuth, from idcflow\'s agent CA); the identity is kept 0600 on the host', async () => {
    const host = await addHost(api, { use_agent: true });
    const dir = agentDir('enrol');
    const identity = await enrollAgent(api.url, await joinToken(api, host.id), dir);
    expect(identity).toMatchObject({ hostId: host.id, hostName: host.name, apiUrl: api.url, temporal: { taskQueue: `host:${host.name}`, address: api.config.temporalAddress } });
    const cert = new x509.X509Certificate(identity.cert);
    const ca = new x509.X509Certificate(identity.ca);
    expect(cert.subject).toBe(`CN=host:${host.name}, O=idcflow agents`);
    expect(cert.issuer).toBe(ca.subject);
    expect(await cert.verify({ publicKey: ca.publicKey, signatureOnly: true })).toBe(true);
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([x509.ExtendedKeyUsage.clientAuth]);
    // The private key never left: the certificate's key is the one kept here.
    const keyed = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=check', keys: { privateKey: await crypto.subtle.importKey('pkcs8', x509.PemConverter.decode(identity.key)[0], { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']), publicKey: await cert.publicKey.export() } as never,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    expect(await keyed.verify({ publicKey: cert.publicKey, signatureOnly: true })).toBe(true);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of fs.readdirSync(dir)) expect([f, fs.statSync(path.join(dir, f)).mode & 0o777]).toEqual([f, 0o600]);
    expect(loadAgentIdentity(dir)).toEqual(identity);
    const stored = await api.deps.knex('host_agent_certs').where({ host_id: host.id });
    expect(stored).toEqual([expect.objectContaining({ revoked_at: null, agent_version: VERSION })]);
    expect(JSON.stringify(stored)).not.toContain('PRIVATE KEY');
  });

  it('refuses a token used before, an expired one, an unknown one, and bad input, without issuing anything', async () => {
    const host = await addHost(api, { use_agent: true });
    const { csr } = await createAgentKey();
    const token = await joinToken(api, host.id);
    expect((await enroll({ token, csr, agent_version: VERSION })).status).toBe(200);
    const reused = await enroll({ token, csr, agent_version: VERSION });
    expectError(reused, 401, 'INVALID_CREDENTIALS');
    expect(reused.body.error.message).toMatch(/used already/);

    const expiring = await joinToken(api, host.id, 60);
    await api.deps.knex('host_join_tokens').where({ token_hash: sha256(expiring) }).update({ expires_at: new Date(Date.now() - 1000) });
    const expired = await enroll({ token: expiring, csr, agent_version: VERSION });
    expectError(expired, 401, 'INVALID_CREDENTIALS');
    expect(expired.body.error.message).toMatch(/expired/);
    expectError(await enroll({ token: 'idcj_no-such-token', csr, agent_version: VERSION }), 401, 'INVALID_CREDENTIALS');

    const fresh = await joinToken(api, host.id);
    const bad = async (body: Record<string, unknown>, field: string) => {
      const res = await enroll({ token: fresh, csr, agent_version: VERSION, ...body });
      expectError(res, 422, 'VALIDATION_ERROR');
      expect(res.body.error.details.field).toBe(field);
    };
    await bad({ csr: 'not a csr' }, 'csr');
    await bad({ csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' }, 'csr');
    const rsa = await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify']);
    await bad({ csr: (await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=x', keys: rsa as never, signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5' } })).toString('pem') }, 'csr');
    await bad({ agent_version: 'latest' }, 'agent_version');
    await bad({ token: '' }, 'token');
    // Nothing was issued by the refusals: one certificate, from the first enrolment; the fresh token still works.
    expect(await api.deps.knex('host_agent_certs').where({ host_id: host.id })).toHaveLength(1);
    expect((await enroll({ token: fresh, csr, agent_version: VERSION })).status).toBe(200);
  });

  it('joining again rotates: the earlier certificate is refused from then on', async () => {
    const host = await addHost(api, { use_agent: true });
    const first = await joinHost(api, host.id);
    expect(await heartbeat(first)).toEqual({ host: host.name, online: true });
    const second = await joinHost(api, host.id);
    expect(await heartbeat(second)).toEqual({ host: host.name, online: true });
    const old = await refusal(heartbeat(first));
    expect(old).toMatchObject({ status: 401, code: 'INVALID_CREDENTIALS', message: expect.stringMatching(/revoked \(rejoined\)/) });
  });
});

describe('agent endpoints: signed by the host\'s own identity, for itself only', () => {
  let host: { id: number; name: string };
  let other: { id: number; name: string };
  let identity: AgentIdentity;
  beforeAll(async () => {
    host = await addHost(api, { use_agent: true });
    other = await addHost(api, { use_agent: true });
    identity = await joinHost(api, host.id);
  });

  it('heartbeat, host figures, metric samples and log lines reach the platform for the agent\'s host', async () => {
    const agent = await AgentApi.create(identity);
    await heartbeat(identity);
    const view = (await api.call('GET', `/api/v1/hosts/${host.id}`, { token: admin })).body.data;
    expect(view.agent).toMatchObject({ online: true, version: VERSION, version_problem: null });
    expect(view.status).toMatchObject({ source: 'agent', hostname: 'test', cpu_count: 2, agent_version: VERSION });
    expect(await agent.sample({ 'system.cpu.usage': 12.5, 'system.memory.usage': 40 })).toMatchObject({ host: host.name, values: 2 });
    const sample = await api.deps.knex('metric_samples').where({ source: `host:${host.name}` }).orderBy('at', 'desc').first();
    expect(sample).toMatchObject({ host_id: host.id, kind: 'host', values: { 'system.cpu.usage': 12.5, 'system.memory.usage': 40 } });
    const marker = uniq('agent-line');
    await agent.logs([{ at: new Date(), level: 'ERROR', module: 'agent', message: marker, details: { x: 1 }, stack_trace: null, request_id: null, user_id: 1, username: 'admin', process: 'idcflow-agent@box:42' }]);
    const line = await api.deps.knex('log_entries').where({ message: marker }).first();
    expect(line).toMatchObject({ level: 'ERROR', source: 'process', process: `host:${host.name}/idcflow-agent@box:42`, user_id: null, username: null, details: { x: 1, host: host.name } });
    await agent.goodbye();
    expect((await api.call('GET', `/api/v1/hosts/${host.id}`, { token: admin })).body.data.agent.online).toBe(false);
  });

  it('network-service figures of its own servers and sessions are kept; another host\'s are refused', async () => {
    const agent = await AgentApi.create(identity);
    const session = async (hostId: number) => (await api.deps.knex('bgp_sessions').insert({ name: uniq('s'), host_id: hostId, neighbor: '192.0.2.1', remote_as: 65001, local_as: 65000 }).returning('id'))[0].id as number;
    const own = await session(host.id);
    const foreign = await session(other.id);
    expect((await agent.netservicesTargets()).bgp).toEqual([{ session_id: own, protocol: `idcf_s${own}` }]);
    const report = (id: number) => ({ session_id: id, status: 'established', info: 'Established', last_error: null, state_since: new Date().toISOString(), routes_received: 3, routes_advertised: 1 });
    expect(await agent.netservicesReport({ wireguard: [], bgp: [report(own)] })).toEqual({ wireguard: 0, bgp: 1, wireguard_drift: [] });
    expect(await api.deps.knex('bgp_sessions').where({ id: own }).first()).toMatchObject({ status: 'established', routes_received: 3 });
    const refused = await refusal(agent.netservicesReport({ wireguard: [], bgp: [report(foreign)] }));
    expect(refused).toMatchObject({ status: 403, code: 'INSUFFICIENT_PERMISSIONS', message: expect.stringContaining(`sessions [${foreign}]`) });
    expect(await api.deps.knex('bgp_sessions').where({ id: foreign }).first()).toMatchObject({ status: 'idle', routes_received: null });
    await refusal(agent.netservicesReport({ wireguard: [{ server_id: 99999999, peers: [] }], bgp: [] })).then((r) => expect(r.status).toBe(403));
  });

  it('reporting for another host is refused, whatever the endpoint', async () => {
    const agent = await AgentApi.create(identity);
    for (const [method, suffix, body] of [
      ['POST', 'heartbeat', {}], ['POST', 'metrics', { values: { 'system.cpu.usage': 1 } }], ['GET', 'netservices', undefined], ['POST', 'netservices', { wireguard: [], bgp: [] }],
      ['POST', 'logs', { lines: [{ at: new Date().toISOString(), level: 'ERROR', module: 'x', message: 'x', details: {}, stack_trace: null, request_id: null, process: 'p' }] }],
    ] as const) {
      const res = await refusal(agent.request(method, `/api/v1/agent/hosts/${other.name}/${suffix}`, body));
      expect([suffix, res.status, res.code]).toEqual([suffix, 403, 'INSUFFICIENT_PERMISSIONS']);
    }
    expect((await api.call('GET', `/api/v1/hosts/${other.id}`, { token: admin })).body.data.agent.last_seen).toBeNull();
  });

  it('refuses no signature, a user\'s token, a certificate of another CA, a replayed or expired signature, and one made for another request', async () => {
    const url = `/api/v1/agent/hosts/${host.name}/heartbeat`;
    const send = (authorization: string, body = '{}') => fetch(api.url + url, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body })
      .then(async (r) => ({ status: r.status, body: (await r.json()) as { error: { code: string; message: string } } }));
    expect((await send('')).status).toBe(401);
    expect((await send(`Bearer ${admin}`)).status).toBe(401);
    expect((await send('IdcflowAgent not.a.jwt')).status).toBe(401);
    const now = Math.floor(Date.now() / 1000);
    const claims = { htm: 'POST', htu: url, bsh: bodyHash('{}'), ver: VERSION, iss: `host:${host.name}` };

    // Another CA's certificate for the same host name and the same key.
    const { key, csr } = await createAgentKey();
    const foreignCert = await issueAgentCertificate(await createAgentCa(), csr, host.name, 1);
    const foreign = await send(await signed(key, foreignCert, claims, { iat: now, exp: now + 30 }));
    expect(foreign).toMatchObject({ status: 401, body: { error: { code: 'INVALID_CREDENTIALS', message: expect.stringMatching(/not issued by idcflow's agent CA/) } } });

    // The real identity: accepted once, refused when sent again.
    const once = await signed(identity.key, identity.cert, claims, { iat: now, exp: now + 30 });
    expect((await send(once)).status).toBe(200);
    const replay = await send(once);
    expect(replay).toMatchObject({ status: 401, body: { error: { message: expect.stringMatching(/replay/) } } });
    // Expired (beyond the clock skew allowed), and signed for a lifetime longer than allowed.
    const expired = await send(await signed(identity.key, identity.cert, claims, { iat: now - 300, exp: now - 240 }));
    expect(expired).toMatchObject({ status: 401, body: { error: { code: 'TOKEN_EXPIRED' } } });
    expect((await send(await signed(identity.key, identity.cert, claims, { iat: now, exp: now + 3600 }))).status).toBe(401);
    // Made for another body, another path, another method.
    for (const made of [{ bsh: bodyHash('{"stopping":true}') }, { htu: `/api/v1/agent/hosts/${host.name}/metrics` }, { htm: 'GET' }]) {
      const res = await send(await signed(identity.key, identity.cert, { ...claims, ...made }, { iat: now, exp: now + 30 }));
      expect([made, res.status, res.body.error.message]).toEqual([made, 401, expect.stringMatching(/another request/)]);
    }
    // Signed by a key that is not the certificate's.
    const res = await send(await signed(key, identity.cert, claims, { iat: now, exp: now + 30 }));
    expect([res.status, res.body.error.message]).toEqual([401, expect.stringMatching(/does not verify/)]);
  });

  it('deleting the host or fencing it revokes its agent\'s certificate', async () => {
    const doomed = await addHost(api, { use_agent: true });
    const doomedIdentity = await joinHost(api, doomed.id);
    await heartbeat(doomedIdentity);
    expect((await api.call('DELETE', `/api/v1/hosts/${doomed.id}`, { token: admin })).status).toBe(200);
    expect(await refusal(heartbeat(doomedIdentity))).toMatchObject({ status: 401, message: expect.stringMatching(/not one idcflow issued|deleted/) });

    const fenced = await addHost(api, { use_agent: true });
    const fencedIdentity = await joinHost(api, fenced.id);
    await heartbeat(fencedIdentity);
    const failover = await api.call('POST', '/api/v1/availability/failover', { token: admin, body: { host_id: fenced.id }, headers: { prefer: 'respond-async' } });
    expect(failover.status).toBe(202);
    await eventually(async () => (await api.deps.knex('host_agent_certs').where({ host_id: fenced.id }).first()).revoked_at, 30_000, 'the fence');
    expect(await refusal(heartbeat(fencedIdentity))).toMatchObject({ status: 401, message: expect.stringMatching(/revoked \(fenced\)/) });
    // Joined again by an admin, it is trusted again.
    expect(await heartbeat(await joinHost(api, fenced.id))).toEqual({ host: fenced.name, online: true });
  });
});

describe('agent versions', () => {
  let strict: TestApi;
  beforeAll(async () => { strict = await startTestApi({ IDCFLOW_AGENT_MIN_VERSION: '99.0.0' }); });
  afterAll(async () => { await strict.close(); });

  it('an agent older than the platform accepts is refused with both versions named, at enrolment and on every request; the API shows it', async () => {
    const host = await addHost(api, { use_agent: true });
    const token = await joinToken(api, host.id);
    const { csr } = await createAgentKey();
    const refused = await strict.call('POST', '/api/v1/agent/enroll', { body: { token, csr, agent_version: VERSION } });
    expectError(refused, 409, 'CONFLICT');
    expect(refused.body.error.message).toBe(`Agent version ${VERSION} is older than 99.0.0, the oldest this platform (version ${VERSION}) accepts: upgrade the agent`);
    expect(refused.body.error.details).toMatchObject({ reason: 'agent_outdated', agent_version: VERSION, min_agent_version: '99.0.0' });
    // The token was not used up by the refusal: the same agent enrols with a platform that accepts it.
    const identity = await enrollAgent(api.url, token, agentDir('version'));
    const strictAgent = await AgentApi.create({ ...identity, apiUrl: strict.url });
    expect(await refusal(strictAgent.heartbeat({}))).toMatchObject({ status: 409, code: 'CONFLICT', message: expect.stringContaining('older than 99.0.0') });
    const view = (await strict.call('GET', `/api/v1/hosts/${host.id}`, { token: await strict.admin() })).body.data;
    expect(view.agent.version_problem).toMatch(/older than 99\.0\.0/);
  });

  it('the workers send nothing to an outdated agent that still heartbeats into the database (from before identities)', async () => {
    const host = await addHost(api, { use_agent: true });
    await api.deps.knex('hosts').where({ id: host.id }).update({ agent_last_seen: new Date(), agent_version: '0.0.1' });
    const view = (await api.call('GET', `/api/v1/hosts/${host.id}`, { token: admin })).body.data;
    expect(view.agent).toMatchObject({ online: true, version: '0.0.1', version_problem: expect.stringMatching(/^Agent version 0\.0\.1 is older than/) });
    const { op } = await createInstance(api, admin, { host_id: host.id });
    expect(op).toMatchObject({ status: 'failed', error: { code: 'SERVICE_UNAVAILABLE' } });
    await api.deps.knex('hosts').where({ id: host.id }).update({ agent_last_seen: null });
  });
});

describe('the agent process (workers/agent.ts)', () => {
  it('joined without DATABASE_URL or the master key, it heartbeats, samples and logs through its identity; restarted, it uses the identity it kept', async () => {
    const host = await addHost(api, { use_agent: true });
    const { DATABASE_URL: _db, IDCFLOW_MASTER_KEY: _mk, IDCFLOW_JWT_SECRET: _jwt, ...rest } = process.env;
    const dataDir = agentDir('data');
    const env = { ...rest, LOG_LEVEL: 'info', IDCFLOW_DATA_DIR: dataDir, IDCFLOW_AGENT_HEARTBEAT_SECONDS: '1', IDCFLOW_METRICS_SAMPLE_SECONDS: '1' };
    const online = async () => (await api.call('GET', `/api/v1/hosts/${host.id}`, { token: admin })).body.data.agent.online as boolean;
    const agent = await spawnAgent(api, host, env, { readyLine: 'agent reporting' });
    try {
      const environ = fs.readFileSync(`/proc/${agent.proc.pid}/environ`, 'utf8').split('\0');
      expect(environ.filter((e) => /^(DATABASE_URL|IDCFLOW_MASTER_KEY|IDCFLOW_JWT_SECRET)=/.test(e))).toEqual([]);
      await eventually(online, 15_000, 'the agent online');
      await eventually(async () => api.deps.knex('metric_samples').where({ source: `host:${host.name}` }).first(), 15_000, 'a sample of its host');
      // Its own warning (it runs no activities without the database) reached the log center through the API.
      const line = await eventually(async () => api.deps.knex('log_entries').where('process', 'like', `host:${host.name}/%`).where('message', 'like', 'agent reporting%').first(), 15_000, 'its warning in the log center');
      expect(line).toMatchObject({ level: 'WARNING', details: expect.objectContaining({ host: host.name }) });
      expect(fs.readdirSync(dataDir).filter((f) => f.endsWith('.key'))).toEqual([]);
    } finally {
      await agent.stop();
    }
    // Stopped on purpose, it said goodbye: offline at once.
    expect(await online()).toBe(false);
    const again = await spawnAgent(api, host, env, { dir: agent.dir, join: false, readyLine: 'agent reporting' });
    try {
      await eventually(online, 15_000, 'the restarted agent online');
      expect(await api.deps.knex('host_agent_certs').where({ host_id: host.id })).toHaveLength(1);
    } finally {
      await again.stop();
    }
  });
});

describe('idcflow hosts join <host>', () => {
  it('prints a join token and the command to run on the host; the token joins', async () => {
    const host = await addHost(api, { use_agent: true });
    const home = agentDir('cli-home');
    const cli = (args: string[]) => runCli(home, api.url, args, '', { IDCFLOW_TOKEN: admin });
    const out = await cli(['hosts', 'join', host.name]);
    expect(out.code).toBe(0);
    const token = /^\s+(idcj_\S+)$/m.exec(out.stdout)?.[1];
    expect(out.stdout).toContain(`npm run agent -- --join ${api.config.publicUrl} ${token}`);
    const json = await cli(['--json', 'hosts', 'join', String(host.id), '--ttl', '300']);
    expect(JSON.parse(json.stdout)).toMatchObject({ host: { id: host.id, name: host.name }, token: expect.stringMatching(/^idcj_/) });
    const identity = await enrollAgent(api.url, token!, agentDir('cli'));
    expect(identity.hostName).toBe(host.name);
    const missing = await cli(['hosts', 'join', 'no-such-host-here']);
    expect([missing.code, missing.stderr.trim()]).toEqual([2, 'No host named no-such-host-here']);
  });
});
