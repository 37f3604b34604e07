import { startTestApi, expectError, type TestApi } from '../support/api';
import { addHost, createInstance, finished, uniq } from '../support/compute';

let api: TestApi;
beforeAll(async () => { api = await startTestApi({ IDCFLOW_AGENT_WAIT_SECONDS: '3' }); });
afterAll(async () => { await api.close(); });

describe('instance lifecycle on the simulator', () => {
  it('creates (with an IP from the pool), reads, powers, resizes, sets a password, reports usage and deletes', async () => {
    const host = await addHost(api, { ip_pools: [{ cidr: '10.20.0.0/29', gateway: '10.20.0.1', dns: ['10.20.0.1'] }] });
    const u = await api.createUser('user');
    const uuid = uniq('vm');
    const { op } = await createInstance(api, u.token, { uuid, name: 'web', host_id: host.id, cpu: 2, ram_mb: 1024, disk_gb: 20, os_name: 'Debian 12', password: 'first-pass' });
    expect(op).toMatchObject({ status: 'succeeded', type: 'instance.create', resource: { type: 'instance', id: uuid } });
    expect(op.result).toMatchObject({ uuid, state: 'running', host: host.name });
    expect(op.result.nics[0]).toMatchObject({ name: 'eth0', ip4: '10.20.0.2', gateway: '10.20.0.1', mask: '255.255.255.248' });
    const steps = (await api.call('GET', `/api/v1/operations/${op.id}/events`, { token: u.token })).body.data.events.map((e: { step: string }) => e.step);
    // Four recorded steps, in their order (create: the engine's create and start in one call, answered once it runs).
    expect(steps[0]).toBe('started');
    expect(steps.filter((s: string) => ['validate', 'reserve', 'create', 'record'].includes(s))).toEqual(['validate', 'reserve', 'create', 'record']);
    const ops = JSON.stringify(await api.deps.knex('operations').where({ id: op.id }).first());
    expect(ops).not.toContain('first-pass');
    // Nor is it anywhere in the workflow history (payloads decoded): only its sealed form travels.
    const history = await api.deps.temporal.workflow.getHandle(op.id).fetchHistory();
    const texts: string[] = [];
    const walk = (v: unknown) => {
      if (v instanceof Uint8Array) texts.push(Buffer.from(v).toString('utf8'));
      else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
      else if (typeof v === 'string') texts.push(v);
    };
    walk(history);
    expect(texts.join('\n')).toContain('passwordSealed');
    expect(texts.join('\n')).not.toContain('first-pass');

    const list = await api.call('GET', '/api/v1/instances', { token: u.token });
    expect(list.body.data.instances.map((i: { uuid: string }) => i.uuid)).toEqual([uuid]);
    const inst = list.body.data.instances[0];
    expect(inst).toMatchObject({ name: 'web', cpu: 2, ram_mb: 1024, disk_gb: 20, owners: [u.username], state: 'running', has_password: true });
    expect(JSON.stringify(inst)).not.toContain('first-pass');
    const byHost = await api.call('GET', `/api/v1/hosts/${host.id}/instances`, { token: u.token });
    expect(byHost.body.data.pagination.total).toBe(1);

    const other = await api.createUser('user');
    expectError(await api.call('GET', `/api/v1/instances/${inst.id}`, { token: other.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', `/api/v1/instances/${inst.id}/power`, { token: other.token, body: { action: 'stop' } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('DELETE', `/api/v1/instances/${inst.id}`, { token: other.token }), 404, 'RESOURCE_NOT_FOUND');
    expect((await api.call('GET', '/api/v1/instances', { token: other.token })).body.data.instances).toEqual([]);
    expect((await api.call('GET', `/api/v1/instances/${inst.id}`, { token: await api.admin() })).status).toBe(200);

    const status = await api.call('GET', `/api/v1/instances/${inst.id}/status`, { token: u.token });
    expect(status.body.data).toMatchObject({ state: 'running', engine: { state: 'running' }, stats: { mem_limit_mb: 1024 } });

    const stop = await finished(api, u.token, await api.call('POST', `/api/v1/instances/${inst.id}/power`, { token: u.token, body: { action: 'stop' } }));
    expect(stop).toMatchObject({ status: 'succeeded', result: { state: 'stopped', action: 'stop' } });
    expectError(await api.call('POST', `/api/v1/instances/${inst.id}/power`, { token: u.token, body: { action: 'explode' } }), 422, 'VALIDATION_ERROR');
    const start = await finished(api, u.token, await api.call('POST', `/api/v1/instances/${inst.id}/power`, { token: u.token, body: { action: 'start' } }));
    expect(start.result.state).toBe('running');
    const suspend = await finished(api, u.token, await api.call('POST', `/api/v1/instances/${inst.id}/power`, { token: u.token, body: { action: 'suspend' } }));
    expect(suspend.result.state).toBe('suspended');
    const resume = await finished(api, u.token, await api.call('POST', `/api/v1/instances/${inst.id}/power`, { token: u.token, body: { action: 'resume' } }));
    expect(resume.result.state).toBe('running');

    const resized = await finished(api, u.token, await api.call('PUT', `/api/v1/instances/${inst.id}`, { token: u.token, body: { cpu: 3, name: 'web-2' } }));
    expect(resized.status).toBe('succeeded');
    expect((await api.call('GET', `/api/v1/instances/${inst.id}`, { token: u.token })).body.data).toMatchObject({ cpu: 3, name: 'web-2' });
    expectError(await api.call('PUT', `/api/v1/instances/${inst.id}`, { token: u.token, body: {} }), 422, 'VALIDATION_ERROR');

    const pw = await finished(api, u.token, await api.call('POST', `/api/v1/instances/${inst.id}/password`, { token: u.token, body: { password: 'second-pass' } }));
    expect(pw).toMatchObject({ status: 'succeeded', result: { password_changed: true } });
    expectError(await api.call('POST', `/api/v1/instances/${inst.id}/password`, { token: u.token, body: { password: 'x' } }), 422, 'VALIDATION_ERROR');

    const consoleRes = await api.call('GET', `/api/v1/instances/${inst.id}/console`, { token: u.token });
    expect(consoleRes.body.data).toMatchObject({ type: 'simulator', url: expect.stringMatching(/^simulator:\/\/console\//) });

    // The instance agent reports usage with its own token; nothing else works and no secret comes back.
    const token = (await api.call('GET', `/api/v1/instances/${inst.id}/agent-token`, { token: u.token })).body.data.token;
    expectError(await api.call('GET', `/api/v1/instances/${inst.id}/agent-token`, { token: other.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', '/api/v1/instances/report', { body: { vm_uuid: uuid, cpu_usage: 5 } }), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('POST', '/api/v1/instances/report', { body: { vm_uuid: uuid, token: 'wrong', cpu_usage: 5 } }), 401, 'INVALID_CREDENTIALS');
    const report = await api.call('POST', '/api/v1/instances/report', { body: { vm_uuid: uuid, token, cpu_usage: 45.2, mem_usage: 2048 } });
    expect(report.status).toBe(200);
    expect(report.text).not.toMatch(/pass/);
    expect((await api.call('GET', `/api/v1/instances/${inst.id}`, { token: u.token })).body.data.usage).toMatchObject({ cpu_usage: 45.2, mem_usage: 2048 });

    const del = await finished(api, u.token, await api.call('DELETE', `/api/v1/instances/${inst.id}`, { token: u.token }));
    expect(del).toMatchObject({ status: 'succeeded', result: { deleted: true, existed_on_engine: true, released_ips: ['10.20.0.2'] } });
    expectError(await api.call('GET', `/api/v1/instances/${inst.id}`, { token: u.token }), 404, 'RESOURCE_NOT_FOUND');
    expect((await api.call('GET', `/api/v1/users/${u.id}/quota`, { token: u.token })).body.data.used).toEqual({ cpu: 0, ram_mb: 0, disk_gb: 0, instances: 0 });
    expect(await api.deps.knex('ip_allocations').where({ host_id: host.id })).toEqual([]);

    // A host whose only instances are deleted can go; the deleted instances keep their history.
    const admin = await api.admin();
    expect((await api.call('DELETE', `/api/v1/hosts/${host.id}`, { token: admin })).body.data).toMatchObject({ deleted: true });
    expectError(await api.call('GET', `/api/v1/hosts/${host.id}`, { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    expect((await api.call('GET', `/api/v1/hosts?search=${host.name}`, { token: admin })).body.data.hosts).toEqual([]);
    expect(await api.deps.knex('instances').where({ uuid }).first()).toMatchObject({ state: 'deleted' });
    const again = await api.call('POST', '/api/v1/hosts', { token: admin, body: { name: host.name, address: 'local', engine_type: 'simulator' } });
    expect(again.status).toBe(201);
  });

  it('an operation names its instance by the id its URL takes, and links to it', async () => {
    const host = await addHost(api, {});
    const u = await api.createUser('user');
    const { op } = await createInstance(api, u.token, { host_id: host.id });
    expect(op.links.resource).toBe(`/api/v1/instances/${op.resource.id}`);
    const byLink = await api.call('GET', op.links.resource, { token: u.token });
    expect(byLink.status).toBe(200);
    expect(byLink.body.data).toMatchObject({ uuid: op.resource.id, host: { id: host.id } });
    const other = await api.createUser('user');
    expectError(await api.call('GET', op.links.resource, { token: other.token }), 404, 'RESOURCE_NOT_FOUND');
  });

  it('a host with instances cannot be deleted', async () => {
    const host = await addHost(api, {});
    await createInstance(api, await api.admin(), { host_id: host.id });
    expectError(await api.call('DELETE', `/api/v1/hosts/${host.id}`, { token: await api.admin() }), 409, 'CONFLICT');
  });

  it('answers 409 for a second operation on the same instance while one runs', async () => {
    const host = await addHost(api, { options: { latency_ms: 1500 } });
    const { op } = await createInstance(api, await api.admin(), { host_id: host.id });
    const id = (await api.deps.knex('instances').where({ uuid: op.resource.id }).first()).id;
    const first = await api.call('POST', `/api/v1/instances/${id}/power`, { token: await api.admin(), body: { action: 'stop' } });
    expect(first.status).toBe(202);
    expectError(await api.call('POST', `/api/v1/instances/${id}/power`, { token: await api.admin(), body: { action: 'start' } }), 409, 'CONFLICT');
    await finished(api, await api.admin(), first);
  });

  it('refuses bad input, viewers, missing tokens and unknown ids', async () => {
    const u = await api.createUser('user');
    const viewer = await api.createUser('viewer');
    const bad = await api.call('POST', '/api/v1/instances', { token: u.token, body: { name: '', cpu: 0, uuid: 'bad uuid', nics: [{ mac: 'zz' }] } });
    expectError(bad, 422, 'VALIDATION_ERROR');
    expect(bad.body.error.details.errors.map((e: { field: string }) => e.field)).toEqual(expect.arrayContaining(['name', 'cpu', 'uuid', 'nics.0.mac']));
    expectError(await api.call('POST', '/api/v1/instances', { token: viewer.token, body: { name: 'x' } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('POST', '/api/v1/instances', { body: { name: 'x' } }), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('POST', '/api/v1/hosts/999999/instances', { token: u.token, body: { name: 'x' } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', '/api/v1/instances/999999', { token: u.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', '/api/v1/instances/999999/status', { token: u.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('PUT', '/api/v1/instances/999999', { token: u.token, body: { cpu: 2 } }), 404, 'RESOURCE_NOT_FOUND');
    const other = await api.createUser('user');
    expectError(await api.call('POST', '/api/v1/instances', { token: u.token, body: { name: 'x', owner_id: other.id } }), 403, 'INSUFFICIENT_PERMISSIONS');
  });
});

describe('sagas, quotas and placement', () => {
  it('a create whose start fails leaves nothing behind: no row, no IP, no engine instance', async () => {
    const host = await addHost(api, { options: { fail_actions: ['start'] }, ip_pools: [{ start: '10.30.0.10', end: '10.30.0.12' }] });
    const u = await api.createUser('user');
    const { op } = await createInstance(api, u.token, { host_id: host.id });
    expect(op).toMatchObject({ status: 'failed', error: { code: 'ENGINE_ERROR', message: expect.stringMatching(/injected failure on 'start'/) } });
    const events = (await api.call('GET', `/api/v1/operations/${op.id}/events`, { token: u.token })).body.data.events.map((e: { step: string }) => e.step);
    expect(events).toEqual(expect.arrayContaining(['undo:create', 'undo:reserve']));
    expect(events.indexOf('undo:create')).toBeLessThan(events.indexOf('undo:reserve'));
    expect(await api.deps.knex('instances').where({ host_id: host.id })).toEqual([]);
    expect(await api.deps.knex('ip_allocations').where({ host_id: host.id })).toEqual([]);
    // The engine agrees: a scan finds nothing there.
    const scan = await finished(api, await api.admin(), await api.call('POST', `/api/v1/hosts/${host.id}/scan`, { token: await api.admin() }));
    expect(scan.result).toMatchObject({ found: 0, imported: [] });
  });

  it('an undo that fails does not stop the rollback: the others run, the operation ends failed and names what is left', async () => {
    const host = await addHost(api, { options: { fail_actions: ['start', 'delete'] }, ip_pools: [{ start: '10.31.0.10', end: '10.31.0.12' }] });
    const u = await api.createUser('user');
    const { op } = await createInstance(api, u.token, { host_id: host.id });
    expect(op).toMatchObject({
      status: 'failed',
      error: { code: 'ENGINE_ERROR', message: expect.stringMatching(/injected failure on 'start'/), details: { undo_failures: [{ step: 'create', code: 'ENGINE_ERROR', message: expect.stringMatching(/injected failure on 'delete'/) }] } },
    });
    const events = (await api.call('GET', `/api/v1/operations/${op.id}/events`, { token: u.token })).body.data.events.map((e: { step: string }) => e.step);
    expect(events).toEqual(expect.arrayContaining(['undo:create', 'undo-failed:create', 'undo:reserve']));
    // The undos after the failed one still ran: no row, no address held.
    expect(await api.deps.knex('instances').where({ host_id: host.id })).toEqual([]);
    expect(await api.deps.knex('ip_allocations').where({ host_id: host.id })).toEqual([]);
  });

  it('a failed resize or delete is undone: the recorded sizes and state come back', async () => {
    const admin = await api.admin();
    const host = await addHost(api, {});
    const { op } = await createInstance(api, admin, { host_id: host.id, cpu: 1 });
    const id = (await api.deps.knex('instances').where({ uuid: op.resource.id }).first()).id;
    // The engine starts refusing updates and deletes (simulator failure injection).
    await api.call('PUT', `/api/v1/hosts/${host.id}`, { token: admin, body: { options: { fail_actions: ['update', 'delete'] } } });
    const resize = await finished(api, admin, await api.call('PUT', `/api/v1/instances/${id}`, { token: admin, body: { cpu: 4 } }));
    expect(resize).toMatchObject({ status: 'failed', error: { code: 'ENGINE_ERROR' } });
    expect((await api.call('GET', `/api/v1/instances/${id}`, { token: admin })).body.data).toMatchObject({ cpu: 1, state: 'running' });
    const del = await finished(api, admin, await api.call('DELETE', `/api/v1/instances/${id}`, { token: admin }));
    expect(del).toMatchObject({ status: 'failed', error: { code: 'ENGINE_ERROR' } });
    const steps = (await api.call('GET', `/api/v1/operations/${del.id}/events`, { token: admin })).body.data.events.map((e: { step: string }) => e.step);
    expect(steps).toContain('undo:mark');
    expect((await api.call('GET', `/api/v1/instances/${id}`, { token: admin })).body.data).toMatchObject({ state: 'running' });
  });

  it('a canceled create is undone too', async () => {
    const host = await addHost(api, { options: { latency_ms: 2000 } });
    const u = await api.createUser('user');
    const res = await api.call('POST', '/api/v1/instances', { token: u.token, body: { name: 'slow', host_id: host.id, uuid: uniq('vm') } });
    for (let i = 0; i < 50; i++) {
      const op = (await api.call('GET', `/api/v1/operations/${res.body.data.operation.id}`, { token: u.token })).body.data;
      if (['create', 'start', 'wait-running'].includes(op.progress.step)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await api.call('POST', `/api/v1/operations/${res.body.data.operation.id}/cancel`, { token: u.token })).status).toBe(202);
    const op = await finished(api, u.token, res);
    expect(op.status).toBe('canceled');
    expect(await api.deps.knex('instances').where({ host_id: host.id })).toEqual([]);
  });

  it('a power action canceled after it took: the record follows the engine', async () => {
    const host = await addHost(api, {});
    const u = await api.createUser('user');
    const { op: created } = await createInstance(api, u.token, { host_id: host.id });
    const id = (await api.deps.knex('instances').where({ uuid: created.resource.id }).first()).id;
    await api.call('PUT', `/api/v1/hosts/${host.id}`, { token: await api.admin(), body: { options: { latency_ms: 1500 } } });
    const res = await api.call('POST', `/api/v1/instances/${id}/power`, { token: u.token, body: { action: 'stop' } });
    for (let i = 0; ; i++) {
      const op = (await api.call('GET', `/api/v1/operations/${res.body.data.operation.id}`, { token: u.token })).body.data;
      if (op.progress.step === 'wait') break;
      if (i > 100) throw new Error('never reached the wait step');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await api.call('POST', `/api/v1/operations/${res.body.data.operation.id}/cancel`, { token: u.token })).status).toBe(202);
    expect((await finished(api, u.token, res)).status).toBe('canceled');
    const status = (await api.call('GET', `/api/v1/instances/${id}/status`, { token: u.token })).body.data;
    expect(status).toMatchObject({ state: 'stopped', recorded_state: 'stopped' });
  });

  it('enforces the per-user quota in the workflow', async () => {
    const host = await addHost(api, {});
    const u = await api.createUser('user');
    await api.call('PUT', `/api/v1/users/${u.id}/quota`, { token: await api.admin(), body: { cpu: 2, ram_mb: 2048, disk_gb: 50, instances: 1 } });
    const { op: big } = await createInstance(api, u.token, { host_id: host.id, cpu: 4 });
    expect(big).toMatchObject({ status: 'failed', error: { code: 'CONFLICT', message: expect.stringMatching(/Quota exceeded \(cpu\)/) } });
    const { op: ok } = await createInstance(api, u.token, { host_id: host.id, cpu: 1 });
    expect(ok.status).toBe('succeeded');
    const { op: second } = await createInstance(api, u.token, { host_id: host.id, cpu: 1 });
    expect(second.error.message).toMatch(/Quota exceeded \(instances\)/);
    expect(await api.deps.knex('instances').whereNull('deleted_at').where({ owner_id: u.id })).toHaveLength(1);
  });

  it('places an instance by the weighted strategy when no host is given, and refuses a full host', async () => {
    const admin = await api.admin();
    const heavy = await addHost(api, { instance_limit: 1 });
    await api.call('PUT', '/api/v1/cluster/load-balancer', { token: admin, body: { strategy: 'weighted', node_weights: { [heavy.name]: 1000 } } });
    try {
      const { op } = await createInstance(api, admin, { engine_type: 'simulator' });
      expect(op).toMatchObject({ status: 'succeeded', result: { host: heavy.name } });
      const events = (await api.call('GET', `/api/v1/operations/${op.id}/events`, { token: admin })).body.data.events.map((e: { step: string }) => e.step);
      expect(events).toContain('placement');
      const { op: full } = await createInstance(api, admin, { host_id: heavy.id });
      expect(full).toMatchObject({ status: 'failed', error: { code: 'CONFLICT', message: expect.stringMatching(/instance limit/) } });
    } finally {
      await api.call('PUT', '/api/v1/cluster/load-balancer', { token: admin, body: { strategy: 'round_robin', node_weights: {} } });
    }
  });

  it('scan matches an engine instance to its row by uuid and refreshes its engine ref (imports and missing: test/compute/docker.test.ts)', async () => {
    const admin = await api.admin();
    const host = await addHost(api, {});
    const { op } = await createInstance(api, admin, { host_id: host.id });
    const row = await api.deps.knex('instances').where({ uuid: op.resource.id }).first();
    // Gone behind idcflow's back: the engine forgets it (a simulator delete through the engine activity, not the API).
    await api.deps.knex('instances').where({ id: row.id }).update({ engine_ref: 'idcflow-not-there' });
    const scan = await finished(api, admin, await api.call('POST', `/api/v1/hosts/${host.id}/scan`, { token: admin }));
    expect(scan.status).toBe('succeeded');
    // The engine's instance (ref idcflow-<uuid>) is matched by uuid; the row is refreshed, nothing imported twice.
    expect(scan.result.found).toBe(1);
    expect(scan.result.imported).toEqual([]);
    expect((await api.deps.knex('instances').where({ id: row.id }).first()).engine_ref).toBe(`idcflow-${row.uuid}`);
    const user = await api.createUser('user');
    expectError(await api.call('POST', `/api/v1/hosts/${host.id}/scan`, { token: user.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('POST', '/api/v1/hosts/999999/scan', { token: admin }), 404, 'RESOURCE_NOT_FOUND');
  });

  it('an operation routed to a host whose agent is offline fails with SERVICE_UNAVAILABLE, and leaves nothing behind', async () => {
    const host = await addHost(api, { use_agent: true });
    const u = await api.createUser('user');
    const started = Date.now();
    const { op } = await createInstance(api, u.token, { host_id: host.id });
    expect(op).toMatchObject({ status: 'failed', error: { code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/agent of host .* is offline/) } });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await api.deps.knex('instances').where({ host_id: host.id })).toEqual([]);
  });
});
