import AdmZip from 'adm-zip';
import { startTestApi, expectError, type TestApi } from '../support/api';
import { addHost, createInstance, finished } from '../support/compute';
import { spawnEntrypoint, type Spawned } from '../support/processes';
import { agentDir, spawnAgent as spawnJoinedAgent } from '../support/agents';

let api: TestApi;
beforeAll(async () => { api = await startTestApi({ IDCFLOW_AGENT_WAIT_SECONDS: '3' }); });
afterAll(async () => { await api.close(); });

const agentEnv = { ...process.env, LOG_LEVEL: 'info', IDCFLOW_AGENT_HEARTBEAT_SECONDS: '1' };
const spawnAgent = (host: { id: number }) => spawnJoinedAgent(api, host, agentEnv);

describe('host agents (task queue host:<name>)', () => {
  let agent: Spawned | undefined;
  afterEach(async () => { await agent?.stop(); agent = undefined; });

  it('heartbeats host status; operations run on the agent; offline agents fail fast with SERVICE_UNAVAILABLE', async () => {
    const admin = await api.admin();
    const host = await addHost(api, { use_agent: true });
    agent = await spawnAgent(host);

    const view = await api.call('GET', `/api/v1/hosts/${host.id}`, { token: admin });
    expect(view.body.data.agent).toMatchObject({ task_queue: `host:${host.name}`, online: true, last_seen: expect.any(String) });
    const status = await api.call('GET', `/api/v1/hosts/${host.id}/status`, { token: admin });
    expect(status.body.data).toMatchObject({ source: 'agent', live: true, status: { source: 'agent', cpu_count: expect.any(Number), mem_total_mb: expect.any(Number), disk_total_gb: expect.any(Number) } });

    // The simulated engine lives in the agent's process: the instance exists only where the agent ran the calls.
    const { op } = await createInstance(api, admin, { host_id: host.id });
    expect(op).toMatchObject({ status: 'succeeded', result: { state: 'running' } });
    const id = (await api.deps.knex('instances').where({ uuid: op.resource.id }).first()).id;
    const stop = await finished(api, admin, await api.call('POST', `/api/v1/instances/${id}/power`, { token: admin, body: { action: 'stop' } }));
    expect(stop.result.state).toBe('stopped');

    // Stopped on purpose: the agent says so, and the next operation fails at once with a clear error.
    await agent.stop();
    agent = undefined;
    expect((await api.call('GET', `/api/v1/hosts/${host.id}`, { token: admin })).body.data.agent.online).toBe(false);
    const t0 = Date.now();
    const offline = await finished(api, admin, await api.call('POST', `/api/v1/instances/${id}/power`, { token: admin, body: { action: 'start' } }));
    expect(offline).toMatchObject({ status: 'failed', error: { code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/agent of host .* is offline/) } });
    expect(Date.now() - t0).toBeLessThan(15_000);
    expectError(await api.call('GET', `/api/v1/hosts/${host.id}/status`, { token: admin }), 503, 'SERVICE_UNAVAILABLE');
  });

  it('an agent killed without notice: the call is not picked up and fails after the bounded wait', async () => {
    const admin = await api.admin();
    const host = await addHost(api, { use_agent: true });
    agent = await spawnAgent(host);
    const { op } = await createInstance(api, admin, { host_id: host.id });
    expect(op.status).toBe('succeeded');
    const id = (await api.deps.knex('instances').where({ uuid: op.resource.id }).first()).id;
    await agent.stop('SIGKILL');
    agent = undefined;
    // The heartbeat is still fresh, so the call is sent to host:<name> and nobody polls it.
    const t0 = Date.now();
    const res = await finished(api, admin, await api.call('POST', `/api/v1/instances/${id}/power`, { token: admin, body: { action: 'stop' } }));
    expect(res).toMatchObject({ status: 'failed', error: { code: 'SERVICE_UNAVAILABLE' } });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2500);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('refuses to start without an identity, or with a join token the platform does not know', async () => {
    await expect(spawnJoinedAgent(api, { id: 0 }, agentEnv, { join: false, dir: agentDir('none') })).rejects.toThrow(/has not joined yet/);
    const bogus = spawnEntrypoint('workers/agent.ts', ['--join', api.url, 'idcj_no-such-token'], { ...agentEnv, IDCFLOW_AGENT_DIR: agentDir('bogus') }, 'agent polling', 60_000);
    await expect(bogus).rejects.toThrow(/INVALID_CREDENTIALS: Unknown join token/);
  });
});

describe('user deletion backs up compute data', () => {
  it('the backup holds the user\'s instances and quota, without secrets', async () => {
    const admin = await api.admin();
    const host = await addHost(api, {});
    const u = await api.createUser('user');
    await api.call('PUT', `/api/v1/users/${u.id}/quota`, { token: admin, body: { cpu: 4, ram_mb: 4096, disk_gb: 40, instances: 2 } });
    const { op } = await createInstance(api, u.token, { host_id: host.id, password: 'secret-os-pw' });
    expect(op.status).toBe('succeeded');
    const del = await api.call('DELETE', `/api/v1/users/${u.id}?backup_data=true&permanent=true`, { token: admin });
    expect(del.status).toBe(200);
    const dl = await fetch(`${api.url}/api/v1/user-backups/${del.body.data.backup_id}/download`, { headers: { authorization: `Bearer ${admin}` } });
    const zip = new AdmZip(Buffer.from(await dl.arrayBuffer()));
    const instances = JSON.parse(zip.readAsText('instances.json'));
    expect(instances).toEqual([expect.objectContaining({ uuid: op.resource.id, host: host.name, cpu: 1 })]);
    expect(JSON.parse(zip.readAsText('compute_quota.json'))).toMatchObject({ cpu: 4, instances: 2 });
    expect(zip.getEntries().map((e) => zip.readAsText(e)).join('')).not.toMatch(/secret-os-pw|password_sealed|agent_token/);
    // The instance outlives its owner, now admin-only.
    expect((await api.deps.knex('instances').where({ uuid: op.resource.id }).first()).owner_id).toBeNull();
  });
});
