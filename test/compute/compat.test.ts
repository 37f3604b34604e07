import Docker from 'dockerode';
import { startTestApi, type TestApi } from '../support/api';
import { addHost, uniq } from '../support/compute';
import { podmanForTests, podmanMissing } from '../support/podman';
import { itIfRunnable } from '../support/environment';
import { freePort } from '../../workers/embedded-services';

let api: TestApi;
beforeAll(async () => { api = await startTestApi(); });
afterAll(async () => { await api.close(); });

/** Seed 001's envelope: {code, msg, data}; errors carry the HTTP status as code and the idcflow code in data.error. */
function expect001Error(res: { status: number; body: any }, status: number, code: string) { // eslint-disable-line @typescript-eslint/no-explicit-any
  expect({ status: res.status, code: res.body.code, error: res.body.data?.error }).toEqual({ status, code: status, error: code });
}

describe('seed 001 hosts', () => {
  it('GET /api/system/engine lists engines keyed by type', async () => {
    const res = await api.call('GET', '/api/system/engine', { token: await api.admin() });
    expect(res.body).toMatchObject({ code: 200, msg: 'success', data: { docker: { enabled: true, is_remote: true }, proxmox: { enabled: false } } });
    expect(res.body.data.proxmox.messages.join(' ')).toMatch(/not implemented/);
    expect001Error(await api.call('GET', '/api/system/engine'), 401, 'INVALID_CREDENTIALS');
  });

  it('create, detail, update, powers, status and delete a host by name; server_pass never comes back', async () => {
    const admin = await api.admin();
    const name = uniq('h001');
    const created = await api.call('POST', '/api/server/create', {
      token: admin,
      body: { server_name: name, server_addr: '10.0.2.20', server_user: 'admin', server_pass: 'p4ss-w0rd-001', engine_type: 'simulator', system_path: 'D:/VMs', images_path: 'D:/Images', launch_path: 'C:/x', ports_start: 30000, ports_close: 30100, limits_nums: 4 },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ code: 200, msg: 'success', data: { server_name: name, engine_type: 'simulator', has_server_pass: true, ports_start: 30000, limits_nums: 4 } });
    expect(created.text).not.toContain('p4ss-w0rd-001');
    const list = await api.call('GET', '/api/server/detail', { token: admin });
    expect(list.body.data.map((h: { server_name: string }) => h.server_name)).toContain(name);
    expect(list.text).not.toContain('p4ss-w0rd-001');
    const one = await api.call('GET', `/api/server/detail/${name}`, { token: admin });
    expect(one.body.data).toMatchObject({ server_name: name, server_addr: '10.0.2.20' });
    const user = await api.createUser('user');
    const asUser = await api.call('GET', `/api/server/detail/${name}`, { token: user.token });
    expect(asUser.body.data.server_addr).toBeUndefined();
    const upd = await api.call('PUT', `/api/server/update/${name}`, { token: admin, body: { limits_nums: 9 } });
    expect(upd.body.data.limits_nums).toBe(9);
    const off = await api.call('POST', `/api/server/powers/${name}`, { token: admin, body: { action: 'disable' } });
    expect(off.body.data.enabled).toBe(false);
    expect((await api.call('POST', `/api/server/powers/${name}`, { token: admin, body: { action: 'enable' } })).body.data.enabled).toBe(true);
    const status = await api.call('GET', `/api/server/status/${name}`, { token: admin });
    expect(status.body).toMatchObject({ code: 200, data: { host: name, source: 'engine', status: { cpu_count: 16 } } });
    // The same path with a numeric id is seed 000's: plain JSON.
    const byId = await api.call('GET', `/api/server/status/${created.body.data.id}`, { token: admin });
    expect(byId.body).toEqual({ server_id: created.body.data.id, server_name: name, status: 'online' });
    const del = await api.call('DELETE', `/api/server/delete/${name}`, { token: admin });
    expect(del.body).toMatchObject({ code: 200, data: { deleted: true } });
    expect001Error(await api.call('GET', `/api/server/detail/${name}`, { token: admin }), 404, 'RESOURCE_NOT_FOUND');
  });

  it('refuses bad input, non-admins, missing tokens and unknown hosts', async () => {
    const admin = await api.admin();
    const user = await api.createUser('user');
    const bad = await api.call('POST', '/api/server/create', { token: admin, body: { server_name: 'x y', server_addr: '', engine_type: 'VMWareSetup' } });
    expect001Error(bad, 422, 'VALIDATION_ERROR');
    const vmw = await api.call('POST', '/api/server/create', { token: admin, body: { server_name: uniq('v'), server_addr: 'x', engine_type: 'VMWareSetup' } });
    expect001Error(vmw, 422, 'VALIDATION_ERROR');
    expect(vmw.body.msg).toMatch(/not implemented/);
    expect001Error(await api.call('POST', '/api/server/create', { token: user.token, body: { server_name: uniq('v'), server_addr: 'x', engine_type: 'simulator' } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expect001Error(await api.call('POST', '/api/server/create', { body: {} }), 401, 'INVALID_CREDENTIALS');
    expect001Error(await api.call('PUT', '/api/server/update/nope-host', { token: admin, body: { limits_nums: 1 } }), 404, 'RESOURCE_NOT_FOUND');
    expect001Error(await api.call('DELETE', '/api/server/delete/nope-host', { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    expect001Error(await api.call('POST', '/api/server/powers/nope-host', { token: admin, body: { action: 'enable' } }), 404, 'RESOURCE_NOT_FOUND');
    expect001Error(await api.call('POST', '/api/server/powers/nope-host', { token: admin, body: { action: 'reboot' } }), 422, 'VALIDATION_ERROR');
    expect001Error(await api.call('GET', '/api/server/status/nope-host', { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    const h = await addHost(api, {});
    expect001Error(await api.call('GET', `/api/server/status/${h.name}`, { token: user.token }), 404, 'RESOURCE_NOT_FOUND');
    expect001Error(await api.call('DELETE', `/api/server/delete/${h.name}`, { token: user.token }), 403, 'INSUFFICIENT_PERMISSIONS');
  });
});

describe('seed 001 VMs', () => {
  it('create (waits), detail, status, powers, update, password, remote, upload, scaner, delete', async () => {
    const host = await addHost(api, { ip_pools: [{ cidr: '10.40.0.0/28', gateway: '10.40.0.1' }] });
    const u = await api.createUser('user');
    const vm = uniq('vm');
    const created = await api.call('POST', `/api/client/create/${host.name}`, {
      token: u.token,
      body: { vm_uuid: vm, vm_name: '测试虚拟机', os_name: 'Windows 10 x64', cpu_num: 2, ram_num: 4096, hdd_num: 50, nic_all: { eth0: { net_mode: 'nat' } } },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ code: 200, msg: '虚拟机创建成功', data: { vm_uuid: vm, status: 'running', operation: { status: 'succeeded' } } });
    const detail = await api.call('GET', `/api/client/detail/${host.name}/${vm}`, { token: u.token });
    expect(detail.body.data).toMatchObject({ vm_uuid: vm, vm_name: '测试虚拟机', cpu_num: 2, ram_num: 4096, hdd_num: 50, owners: [u.username], nic_all: { eth0: { ip4_addr: '10.40.0.2', mac_addr: expect.stringMatching(/^02:00:/), gateway: '10.40.0.1' } } });
    // A tenant's MAC and addresses are the platform's to give (issue 22): naming one is a 422 naming the seed's field.
    const spoof = await api.call('POST', `/api/client/create/${host.name}`, { token: u.token, body: { vm_uuid: uniq('vm'), vm_name: 'x', nic_all: { eth0: { mac_addr: '00:50:56:00:00:01' } } } });
    expect(spoof.body).toMatchObject({ code: 422, data: { error: 'VALIDATION_ERROR', details: { field: 'nic_all.eth0.mac_addr' } } });
    const list = await api.call('GET', `/api/client/detail/${host.name}`, { token: u.token });
    expect(list.body.data.map((v: { vm_uuid: string }) => v.vm_uuid)).toEqual([vm]);
    const other = await api.createUser('user');
    expect((await api.call('GET', `/api/client/detail/${host.name}`, { token: other.token })).body.data).toEqual([]);
    expect001Error(await api.call('GET', `/api/client/detail/${host.name}/${vm}`, { token: other.token }), 404, 'RESOURCE_NOT_FOUND');
    expect001Error(await api.call('POST', `/api/client/powers/${host.name}/${vm}`, { token: other.token, body: { action: 'stop' } }), 404, 'RESOURCE_NOT_FOUND');
    expect001Error(await api.call('DELETE', `/api/client/delete/${host.name}/${vm}`, { token: other.token }), 404, 'RESOURCE_NOT_FOUND');

    const status = await api.call('GET', `/api/client/status/${host.name}/${vm}`, { token: u.token });
    expect(status.body.data).toMatchObject({ state: 'running' });
    const stop = await api.call('POST', `/api/client/powers/${host.name}/${vm}`, { token: u.token, body: { action: 'stop' } });
    expect(stop.body.data).toMatchObject({ action: 'stop', status: 'stopped' });
    expect001Error(await api.call('POST', `/api/client/powers/${host.name}/${vm}`, { token: u.token, body: { action: 'fly' } }), 422, 'VALIDATION_ERROR');
    const asyncStart = await api.call('POST', `/api/client/powers/${host.name}/${vm}`, { token: u.token, body: { action: 'start' }, headers: { prefer: 'respond-async' } });
    expect(asyncStart.status).toBe(202);
    expect(asyncStart.headers.get('location')).toMatch(/\/api\/v1\/operations\//);
    await api.call('GET', `/api/v1/operations/${asyncStart.body.data.operation.id}/wait?timeout=30`, { token: u.token });
    const upd = await api.call('PUT', `/api/client/update/${host.name}/${vm}`, { token: u.token, body: { cpu_num: 3 } });
    expect(upd.body).toMatchObject({ code: 200, data: { vm_uuid: vm } });
    expect001Error(await api.call('PUT', `/api/client/update/${host.name}/${vm}`, { token: u.token, body: {} }), 422, 'VALIDATION_ERROR');
    const pw = await api.call('POST', `/api/client/password/${host.name}/${vm}`, { token: u.token, body: { password: 'new-password' } });
    expect(pw.body.data).toMatchObject({ password_changed: true });
    expect(pw.text).not.toContain('new-password');
    const remote = await api.call('GET', `/api/client/remote/${host.name}/${vm}`, { token: u.token });
    expect(remote.body.data.url).toMatch(/^simulator:\/\//);

    // The original's flaw: /api/client/upload was open and answered the OS password. Now it needs the VM's token and answers nothing secret.
    expect001Error(await api.call('POST', '/api/client/upload', { body: { vm_uuid: vm, cpu_usage: 45.2, mem_usage: 2048, disk_usage: 30.5 } }), 401, 'INVALID_CREDENTIALS');
    expect001Error(await api.call('POST', '/api/client/upload', { body: { vm_uuid: vm, cpu_usage: 1 }, headers: { 'x-instance-token': 'guess' } }), 401, 'INVALID_CREDENTIALS');
    expect001Error(await api.call('POST', '/api/client/upload', { body: { cpu_usage: 1 } }), 422, 'VALIDATION_ERROR');
    const id = detail.body.data.id;
    const token = (await api.call('GET', `/api/v1/instances/${id}/agent-token`, { token: u.token })).body.data.token;
    const up = await api.call('POST', '/api/client/upload', { body: { vm_uuid: vm, cpu_usage: 45.2, mem_usage: 2048, disk_usage: 30.5 }, headers: { 'x-instance-token': token } });
    expect(up.body).toMatchObject({ code: 200, data: { vm_uuid: vm } });
    expect(up.text).not.toMatch(/password|new-password/);

    const scan = await api.call('POST', `/api/client/scaner/${host.name}`, { token: await api.admin() });
    expect(scan.body.data).toMatchObject({ found: 1, imported: [] });
    expect001Error(await api.call('POST', `/api/client/scaner/${host.name}`, { token: u.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expect001Error(await api.call('POST', '/api/client/scaner/nope-host', { token: await api.admin() }), 404, 'RESOURCE_NOT_FOUND');

    const del = await api.call('DELETE', `/api/client/delete/${host.name}/${vm}`, { token: u.token });
    expect(del.body.data).toMatchObject({ vm_uuid: vm, deleted: true, released_ips: ['10.40.0.2'] });
    expect001Error(await api.call('GET', `/api/client/detail/${host.name}/${vm}`, { token: u.token }), 404, 'RESOURCE_NOT_FOUND');
  });

  it('a create or scan the engine fails answers 503 (a dependency failed, not us) in the envelope, with the operation', async () => {
    const host = await addHost(api, { options: { fail_actions: ['create', 'list'] } });
    const res = await api.call('POST', `/api/client/create/${host.name}`, { token: await api.admin(), body: { vm_name: 'x' } });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ code: 503, msg: expect.stringMatching(/injected failure on 'create'/), data: { error: 'SERVICE_UNAVAILABLE', details: { reason: 'ENGINE_ERROR', operation: { status: 'failed' } } } });
    const scan = await api.call('POST', `/api/client/scaner/${host.name}`, { token: await api.admin() });
    expect(scan.body).toMatchObject({ code: 503, msg: expect.stringMatching(/injected failure on 'list'/), data: { error: 'SERVICE_UNAVAILABLE', details: { reason: 'ENGINE_ERROR' } } });
  });

  it('refuses bad input, missing tokens and unknown hosts/VMs', async () => {
    const host = await addHost(api, {});
    const u = await api.createUser('user');
    expect001Error(await api.call('POST', `/api/client/create/${host.name}`, { token: u.token, body: { vm_name: '', cpu_num: 0 } }), 422, 'VALIDATION_ERROR');
    expect001Error(await api.call('POST', `/api/client/create/${host.name}`, { token: u.token, body: { vm_name: 'x', nic_all: { eth0: { mac_addr: 'zz' } } } }), 422, 'VALIDATION_ERROR');
    expect001Error(await api.call('POST', `/api/client/create/${host.name}`, { body: { vm_name: 'x' } }), 401, 'INVALID_CREDENTIALS');
    expect001Error(await api.call('POST', '/api/client/create/nope-host', { token: u.token, body: { vm_name: 'x' } }), 404, 'RESOURCE_NOT_FOUND');
    for (const [m, p] of [['GET', 'detail'], ['GET', 'status'], ['GET', 'remote'], ['DELETE', 'delete']] as const) {
      expect001Error(await api.call(m, `/api/client/${p}/${host.name}/no-such-vm`, { token: u.token }), 404, 'RESOURCE_NOT_FOUND');
    }
    expect001Error(await api.call('PUT', `/api/client/update/${host.name}/no-such-vm`, { token: u.token, body: { cpu_num: 2 } }), 404, 'RESOURCE_NOT_FOUND');
    expect001Error(await api.call('POST', `/api/client/password/${host.name}/no-such-vm`, { token: u.token, body: { password: 'abcdefg' } }), 404, 'RESOURCE_NOT_FOUND');
    expect001Error(await api.call('GET', `/api/client/detail/${host.name}`), 401, 'INVALID_CREDENTIALS');
  });
});

describe('seed 000 servers and containers', () => {
  it('add_server, status by id, health_check; refusals', async () => {
    const admin = await api.admin();
    // Unreachable: a loopback port with nothing listening (bound once to find it free, then closed).
    const closedPort = await freePort();
    const name = uniq('derp');
    const added = await api.call('POST', '/api/add_server', { token: admin, body: { server_name: name, ip_address: `tcp://127.0.0.1:${closedPort}`, status: 'online' } });
    expect(added.status).toBe(200);
    expect(added.body).toEqual({ message: 'Server added successfully', server_id: expect.any(Number) });
    const t0 = Date.now();
    const st = await api.call('GET', `/api/server/status/${added.body.server_id}`, { token: admin });
    expect(st.body).toEqual({ server_id: added.body.server_id, server_name: name, status: 'offline' });
    expect(Date.now() - t0).toBeLessThan(20_000);
    // A host whose engine answers is online; one disabled is not contacted; an agent host without a heartbeat is offline.
    const answering = await addHost(api, {});
    expect((await api.call('GET', `/api/server/status/${answering.id}`, { token: admin })).body).toEqual({ server_id: answering.id, server_name: answering.name, status: 'online' });
    const disabledName = uniq('derp-off');
    const disabled = await api.call('POST', '/api/add_server', { token: admin, body: { server_name: disabledName, ip_address: `127.0.0.1:${closedPort}`, status: 'offline' } });
    expect((await api.call('GET', `/api/server/status/${disabled.body.server_id}`, { token: admin })).body).toMatchObject({ status: 'disabled' });
    const silentAgent = await addHost(api, { use_agent: true });
    expect((await api.call('GET', `/api/server/status/${silentAgent.id}`, { token: admin })).body).toMatchObject({ status: 'offline' });
    // The health check probes every enabled host, with or without an agent: the unreachable engine makes it degraded.
    const health = await api.call('GET', '/api/server/health_check', { token: admin });
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'degraded', servers: expect.any(Number), online: expect.any(Number) });
    expect(health.body.offline).toEqual(expect.arrayContaining([name, silentAgent.name]));
    expect(health.body.offline).not.toContain(answering.name);
    expect(health.body.offline).not.toContain(disabledName);
    expect(health.body.servers).toBe(health.body.online + health.body.offline.length);
    const user = await api.createUser('user');
    const refused = await api.call('POST', '/api/add_server', { token: user.token, body: { server_name: uniq('x'), ip_address: `127.0.0.1:${closedPort}` } });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: expect.any(String), code: 'INSUFFICIENT_PERMISSIONS' });
    const bad = await api.call('POST', '/api/add_server', { token: admin, body: { server_name: '', ip_address: '' } });
    expect(bad.status).toBe(400); // seed 000: invalid data is 400 {"error": …}
    expect(typeof bad.body.error).toBe('string');
    expect(bad.body.code).toBe('VALIDATION_ERROR');
    expect((await api.call('POST', '/api/add_server', { body: {} })).status).toBe(401);
    const missing = await api.call('GET', '/api/server/status/999999', { token: admin });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('RESOURCE_NOT_FOUND');
    expect((await api.call('GET', '/api/server/health_check')).status).toBe(401);
    // Gone again, so that other health checks of this run are not degraded by them.
    for (const id of [added.body.server_id, disabled.body.server_id, answering.id, silentAgent.id]) {
      expect((await api.call('DELETE', `/api/v1/hosts/${id}`, { token: admin })).status).toBe(200);
    }
  });

  it('containers: listing is per user; unknown names are 404; bad bodies 400 (seed 000); no token 401', async () => {
    const u = await api.createUser('user');
    expect((await api.call('GET', '/api/containers', { token: u.token })).body).toEqual({ containers: [] });
    expect((await api.call('GET', '/api/containers')).status).toBe(401);
    expect((await api.call('GET', '/api/containers/nope/status', { token: u.token })).status).toBe(404);
    expect((await api.call('POST', '/api/containers/nope/stop', { token: u.token })).status).toBe(404);
    expect((await api.call('PUT', '/api/containers/nope', { token: u.token, body: { image: 'x' } })).status).toBe(404);
    const bad = await api.call('POST', '/api/containers', { token: u.token, body: { container_name: 'bad name', image: '' } });
    expect(bad.status).toBe(400);
    expect([...new Set(bad.body.details.errors.map((e: { field: string }) => e.field))].sort()).toEqual(['container_name', 'image']);
  });

  const podman = podmanForTests();
  itIfRunnable(podmanMissing(), 'containers on a docker host: create (waits), status, stop, update, per-owner', async () => {
    const { socketPath, image } = podman as { socketPath: string; image: string };
    const admin = await api.admin();
    const host = await addHost(api, { engine_type: 'docker', address: `unix://${socketPath}` });
    const u = await api.createUser('user');
    const name = uniq('derper');
    const created = await api.call('POST', '/api/containers', { token: u.token, body: { container_name: name, image, server_id: host.id, command: ['sleep', '3600'] } });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ message: 'Container created successfully', container_id: expect.any(Number), status: 'running' });
    const list = await api.call('GET', '/api/containers', { token: u.token });
    expect(list.body.containers).toEqual([expect.objectContaining({ container_name: name, status: 'running' })]);
    const other = await api.createUser('user');
    expect((await api.call('GET', `/api/containers/${name}/status`, { token: other.token })).status).toBe(404);
    expect((await api.call('POST', `/api/containers/${name}/stop`, { token: other.token })).status).toBe(404);
    expect((await api.call('GET', `/api/containers/${name}/status`, { token: u.token })).body).toEqual({ container_name: name, status: 'running' });
    const stopped = await api.call('POST', `/api/containers/${name}/stop`, { token: u.token });
    expect(stopped.body).toMatchObject({ message: 'Container stopped successfully', status: 'stopped' });
    const updated = await api.call('PUT', `/api/containers/${name}`, { token: u.token, body: { container_name: 'renamed' } });
    expect(updated.body).toMatchObject({ message: 'Container updated successfully', name: 'renamed' });
    const docker = new Docker({ socketPath });
    const labels = (await docker.getContainer(`idcflow-${name}`).inspect()).Config.Labels;
    expect(labels['io.idcflow.name']).toBe('renamed');
    const id = created.body.container_id;
    await api.call('DELETE', `/api/v1/instances/${id}`, { token: admin, headers: { prefer: 'respond-async' } });
    for (let i = 0; i < 100; i++) {
      if ((await docker.listContainers({ all: true, filters: { label: [`io.idcflow.uuid=${name}`] } })).length === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await docker.listContainers({ all: true, filters: { label: [`io.idcflow.uuid=${name}`] } })).toEqual([]);
  });
});
