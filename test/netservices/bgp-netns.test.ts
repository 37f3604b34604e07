import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestApi, eventually, expectError, type TestApi } from '../support/api';
import { addHost, finished } from '../support/compute';
import { NetnsFabric, netnsUnavailable, type Netns } from '../support/netns';
import { agentInNetns } from './agent-in-netns';
import { describeIfRunnable } from '../support/environment';

const why = netnsUnavailable(['bird', 'birdc', 'socat'], '.ci/run installs bird2 and socat');
let api: TestApi;
let fabric: NetnsFabric | undefined;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-bgp-'));
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await fabric?.destroy();
  await api.close();
});

/** State and since-time of a BGP protocol as BIRD's `show protocols` prints them (`timeformat protocol iso long ms`). */
async function protocolState(birdc: (...args: string[]) => Promise<string>, name: string) {
  const out = await birdc('show', 'protocols', name);
  const m = new RegExp(`^${name}\\s+BGP\\s+\\S+\\s+(\\S+)\\s+(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d+)\\s+(\\S+)`, 'm').exec(out);
  if (!m) throw new Error(`no protocol ${name} in:\n${out}`);
  return { state: m[1], since: m[2], info: m[3] };
}

/** A BIRD daemon in a namespace, in the foreground so the namespace's teardown stops it. */
async function bird(ns: Netns, name: string, conf: string) {
  const file = path.join(dir, `${name}.conf`);
  fs.writeFileSync(file, conf);
  const socket = path.join(dir, `${name}.ctl`);
  ns.spawn('bird', ['-f', '-c', file, '-s', socket, '-P', path.join(dir, `${name}.pid`)]);
  await eventually(async () => fs.existsSync(socket), 10_000, `bird ${name} socket`);
  // birdc exits 1 when a route is not found: that is an answer too.
  return (...args: string[]) => ns.exec('birdc', ['-s', socket, ...args]).catch((err: { stdout?: string }) => err.stdout ?? '');
}

describeIfRunnable(why, 'BGP applied for real: BIRD in two network namespaces', () => {
  it('a session reaches Established; an announcement reaches the peer and is withdrawn; refused configs, wrong AS and wrong password say why', async () => {
    fabric = new NetnsFabric();
    const [a, b] = await Promise.all([fabric.ns('bgpa'), fabric.ns('bgpb')]);
    await fabric.link(a, b, '10.216.0.1/24', '10.216.0.2/24');
    const include = path.join(dir, 'a-idcflow.conf');
    fs.writeFileSync(include, '');
    await bird(a, 'a', `log "${dir}/a.log" all;\nrouter id 10.216.0.1;\ntimeformat protocol iso long;\nprotocol device {}\ninclude "${include}";\n`);
    const birdB = await bird(b, 'b', `router id 10.216.0.2;\ntimeformat protocol iso long ms;\nprotocol device {}\nprotocol bgp peer_a {\n  local 10.216.0.2 as 65002;\n  neighbor 10.216.0.1 as 65001;\n  password "s3cret";\n  connect retry time 2; error wait time 1, 2;\n  ipv4 { import all; export none; };\n}\n`);
    const admin = await api.admin();
    const host = await addHost(api, { use_agent: true });
    const agent = await agentInNetns(api, host, a, path.join(dir, 'agent'), { IDCFLOW_BIRD_CONFIG: include, IDCFLOW_BIRD_SOCKET: path.join(dir, 'a.ctl') });
    const session = async (body: Record<string, unknown>) => {
      const res = await api.call('POST', '/api/v1/bgp/sessions', { token: admin, body: { host_id: host.id, neighbor: '10.216.0.2', remote_as: 65002, local_as: 65001, ...body } });
      expect(res.status).toBe(201);
      return { s: res.body.data, op: await finished(api, admin, res.body.data.operation.id) };
    };
    const view = async (id: number) => (await api.call('GET', `/api/v1/bgp/sessions/${id}`, { token: admin })).body.data;
    try {
      const good = await session({ name: 'peer-b', password: 's3cret' });
      expect(good.s).toMatchObject({ status: 'idle', has_password: true, remote_as: 65002 });
      expect(good.op.status).toBe('succeeded');
      expect(fs.readFileSync(include, 'utf8')).not.toContain('s3cret-not');
      const est = await eventually(async () => { const v = await view(good.s.id); return v.status === 'established' ? v : null; }, 30_000, 'session established');
      expect(est.uptime).toEqual(expect.any(Number));
      expect((await api.call('GET', '/api/v1/bgp/sessions', { token: admin })).text).not.toContain('s3cret');
      // The session as the peer sees it: up since this instant. A reconfiguration that restarts it moves the instant.
      const upBefore = await eventually(async () => { const p = await protocolState(birdB, 'peer_a'); return p.info === 'Established' && p; }, 30_000, 'the peer to see it established');

      // Announce inside the allowed range: the peer learns it with the prepend and the community; withdrawn, it goes.
      expect((await api.call('POST', '/api/v1/bgp/allowed-prefixes', { token: admin, body: { host_id: host.id, prefix: '198.51.100.0/22' } })).status).toBe(201);
      const outside = await api.call('POST', '/api/v1/bgp/announcements', { token: admin, body: { host_id: host.id, prefix: '203.0.113.0/24' } });
      expectError(outside, 422, 'VALIDATION_ERROR');
      expect(outside.body.error.details.field).toBe('prefix');
      const ann = await api.call('POST', '/api/v1/bgp/announcements', { token: admin, body: { host_id: host.id, prefix: '198.51.100.0/24', next_hop: '10.216.0.7', as_path: '65001 65001', community: '65001:100' } });
      expect(ann.status).toBe(201);
      expect(ann.body.data).toMatchObject({ status: 'active', prefix: '198.51.100.0/24' });
      expect((await finished(api, admin, ann.body.data.operation.id)).status).toBe('succeeded');
      const learned = await eventually(async () => { const r = await birdB('show', 'route', '198.51.100.0/24', 'all'); return r.includes('198.51.100.0/24') ? r : null; }, 30_000, 'route at the peer');
      expect(learned).toMatch(/BGP\.as_path: 65001 65001 65001/);
      expect(learned).toContain('(65001,100)');
      // The announcement's next hop (a third address on the shared network), not the speaker's own 10.216.0.1.
      expect(learned).toMatch(/via 10\.216\.0\.7 on /);
      expect(learned).toMatch(/BGP\.next_hop: 10\.216\.0\.7/);
      await eventually(async () => (await view(good.s.id)).routes_advertised === 1, 20_000, 'routes advertised read back');
      // The session did not flap on reconfiguration: still established, up since the same instant.
      expect((await view(good.s.id)).status).toBe('established');
      expect(await protocolState(birdB, 'peer_a')).toEqual(upBefore);
      const withdrawn = await api.call('DELETE', `/api/v1/bgp/announcements/${ann.body.data.id}`, { token: admin });
      expect((await finished(api, admin, withdrawn.body.data.operation.id)).status).toBe('succeeded');
      await eventually(async () => !(await birdB('show', 'route', '198.51.100.0/24')).includes('198.51.100.0/24'), 30_000, 'route withdrawn at the peer');

      // Stop and start through the API.
      const stopped = await api.call('POST', `/api/v1/bgp/sessions/${good.s.id}/stop`, { token: admin });
      expect(stopped.status).toBe(200);
      expect(stopped.body.data).toMatchObject({ id: good.s.id, status: 'disabled', stopped_at: expect.any(String) });
      const restarted = await api.call('POST', `/api/v1/bgp/sessions/${good.s.id}/start`, { token: admin });
      expect(restarted.status).toBe(200);
      expect(restarted.body.message).toBe('BGP会话启动成功');
      await eventually(async () => (await view(good.s.id)).status === 'established', 30_000, 'established again');

      // A configuration BIRD refuses (a link-local neighbor needs an interface): the operation fails and the previous file stays.
      const before = fs.readFileSync(include, 'utf8');
      const refused = await session({ name: 'link-local', neighbor: 'fe80::1' });
      expect(refused.op).toMatchObject({ status: 'failed', error: { code: 'VALIDATION_ERROR', message: expect.stringMatching(/BIRD refused/) } });
      expect(fs.readFileSync(include, 'utf8')).toBe(before);
      await finished(api, admin, (await api.call('DELETE', `/api/v1/bgp/sessions/${refused.s.id}`, { token: admin })).body.data.operation.id);

      // Wrong AS: not established, and BIRD's reason is shown.
      await finished(api, admin, (await api.call('DELETE', `/api/v1/bgp/sessions/${good.s.id}`, { token: admin })).body.data.operation.id);
      const badAs = await session({ name: 'bad-as', remote_as: 4200000009, password: 's3cret' });
      const said = await eventually(async () => { const v = await view(badAs.s.id); return v.last_error ? v : null; }, 30_000, 'a reason for the wrong AS');
      expect(said.status).not.toBe('established');
      expect(said.last_error).toMatch(/Bad peer AS/);
      expect(said.remote_as).toBe(4200000009);

      // Wrong password: the TCP-MD5 segments are dropped, so it never gets past connecting.
      await finished(api, admin, (await api.call('DELETE', `/api/v1/bgp/sessions/${badAs.s.id}`, { token: admin })).body.data.operation.id);
      const badPw = await session({ name: 'bad-pw', password: 'not-the-secret' });
      const since = Date.now();
      const later = await eventually(async () => { const v = await view(badPw.s.id); return v.last_update && new Date(v.last_update).getTime() > since + 8000 ? v : null; }, 30_000, 'eight seconds of readings');
      expect(later.status).not.toBe('established');
      expect(['connect', 'active', 'idle']).toContain(later.status);

      const health = await api.call('GET', '/api/v1/status/health/detailed', { token: admin });
      expect(health.body.data.components.bgp).toMatchObject({ status: 'healthy', sessions: expect.any(Number) });
    } finally {
      await agent.stop();
    }
  });
});
