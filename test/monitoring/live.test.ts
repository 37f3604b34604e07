import crypto from 'node:crypto';
import { startTestApi, holds, type TestApi, type TestUser } from '../support/api';
import { liveClient, testHost, wsUrl } from './support';
import { notify } from '../../db/notifications';
import { CLOSE, NOTIFY_CHANNELS } from '../../shared/monitoring/live';
import WebSocket from 'ws';
import { AUTH_SECONDS, MAX_PENDING_PER_ADDRESS, MAX_PENDING_TOTAL, MAX_REFUSED_MESSAGES, SUBSCRIBE_BURST } from '../../api/monitoring/live';

describe('monitoring: the live WebSocket channels', () => {
  let a: TestApi, b: TestApi;
  let admin: string;
  let manager: TestUser, viewer: TestUser, user: TestUser, other: TestUser;
  const opened: Array<ReturnType<typeof liveClient>> = [];
  const connect = (api: TestApi, path: string, headers?: Record<string, string>) => {
    const c = liveClient(wsUrl(api.url, path), headers);
    opened.push(c);
    return c;
  };

  beforeAll(async () => {
    a = await startTestApi(); // one after the other: two at once opened too many connections at the same moment on a loaded CI machine
    b = await startTestApi();
    admin = await a.admin();
    [manager, viewer, user, other] = await Promise.all([a.createUser('manager'), a.createUser('viewer'), a.createUser('user'), a.createUser('user')]);
  });
  afterAll(async () => {
    for (const c of opened) c.close();
    await Promise.all([a?.close(), b?.close()]);
  });

  it('delivers to a client of one API process what was raised through another (PostgreSQL LISTEN/NOTIFY)', async () => {
    const host = await testHost(a.deps.knex);
    const client = connect(a, `/api/v1/ws/system/status?token=${viewer.token}`);
    const hello = await client.next((m) => m.type === 'connected');
    expect(hello.data).toEqual({ user: { id: viewer.id, username: viewer.username, role: 'viewer' }, channels: ['system'] });
    const res = await b.call('POST', '/api/v1/monitoring/metrics', {
      token: admin, body: { host: host.name, values: { 'system.cpu.usage': 45.2, 'system.memory.usage': 50, 'system.disk.usage': 60, 'system.network.bytes_sent': 1024000, 'system.network.bytes_recv': 2048000 } },
    });
    expect(res.status).toBe(201);
    const m = await client.next((x) => x.type === 'system_status' && x.data.host === host.name);
    expect(m).toEqual({
      type: 'system_status', timestamp: res.body.data.timestamp,
      data: { host: host.name, cpu_usage: 45.2, memory_usage: 50, disk_usage: 60, network_traffic: { bytes_sent: 1024000, bytes_recv: 2048000 } },
    });
    // A client connecting later gets the latest figures at once.
    const late = connect(b, `/api/v1/ws/connect?token=${admin}&channels=system`);
    expect((await late.next((x) => x.type === 'system_status' && x.data.host === host.name)).data.cpu_usage).toBe(45.2);
  });

  it('takes the token and channels in the first message; answers pings; subscribes and unsubscribes', async () => {
    const client = connect(a, '/api/v1/ws/connect');
    await client.opened;
    client.send({ token: manager.token, channels: ['system', 'monitoring'] });
    expect((await client.next((m) => m.type === 'connected')).data.channels).toEqual(['system', 'monitoring']);
    client.send({ type: 'ping' });
    expect(await client.next((m) => m.type === 'pong')).toMatchObject({ type: 'pong', data: {}, timestamp: expect.any(String) });
    client.send({ type: 'subscribe', channels: ['bgp'] });
    expect((await client.next((m) => m.type === 'subscribed')).data.channels).toEqual(['system', 'monitoring', 'bgp']);
    client.send({ type: 'unsubscribe', channels: ['system'] });
    expect((await client.next((m) => m.type === 'unsubscribed')).data.channels).toEqual(['monitoring', 'bgp']);
    client.send({ type: 'subscribe', channels: ['weather'] });
    expect((await client.next((m) => m.type === 'error')).data.code).toBe('BAD_REQUEST');
    // Without channels, every channel the caller may see.
    const all = connect(a, `/api/v1/ws/connect?token=${user.token}`);
    expect((await all.next((m) => m.type === 'connected')).data.channels).toEqual(['wireguard']);
  });

  it('sends every new log entry as log_entry to admins who ask for the logs channel, whichever process wrote it', async () => {
    const tail = connect(a, `/api/v1/ws/connect?token=${admin}&channels=logs,monitoring`);
    expect((await tail.next((m) => m.type === 'connected')).data.channels).toEqual(['logs', 'monitoring']);
    // Without channels an admin gets the seed's four, not the log center's flood.
    const quiet = connect(a, `/api/v1/ws/connect?token=${admin}`);
    expect((await quiet.next((m) => m.type === 'connected')).data.channels).toEqual(['system', 'wireguard', 'bgp', 'monitoring']);
    // An audited change made through the other API process: its entry reaches this one through NOTIFY.
    const ruleId = `ws_log_${crypto.randomBytes(3).toString('hex')}`;
    const created = await b.call('POST', '/api/v1/monitoring/alerts/rules', { token: admin, body: { id: ruleId, name: 'log tail', metric_name: 'system.cpu.usage', condition: '>', threshold: 99, level: 'info' } });
    expect(created.status).toBe(201);
    const entry = await tail.next((m) => m.type === 'log_entry' && String(m.data.message).includes(ruleId));
    expect(entry).toMatchObject({
      type: 'log_entry', timestamp: expect.any(String),
      data: { id: expect.any(Number), level: 'INFO', source: 'audit', module: 'monitoring', action: 'alert_rule_create', timestamp: expect.any(String) },
    });
    const stored = await a.call('GET', `/api/v1/logs/${entry.data.id}`, { token: admin });
    expect(stored.status).toBe(200);
    expect(stored.body.data).toMatchObject({ id: entry.data.id, module: 'monitoring', action: 'alert_rule_create' });
    // An entry of the log center written directly (any process's warning) is announced too.
    await b.deps.knex('log_entries').insert({ level: 'WARNING', source: 'worker', module: 'webhooks', action: 'test', message: `tail check ${ruleId}` });
    expect((await tail.next((m) => m.type === 'log_entry' && m.data.message === `tail check ${ruleId}`)).data).toMatchObject({ level: 'WARNING', source: 'worker', module: 'webhooks' });
    // Sockets that did not ask for it get none; the log center is admins' only.
    expect(quiet.messages.some((m) => m.type === 'log_entry')).toBe(false);
    await b.call('DELETE', `/api/v1/monitoring/alerts/rules/${ruleId}`, { token: admin });
    for (const who of [manager.token, viewer.token]) {
      const refused = connect(a, `/api/v1/ws/connect?token=${who}&channels=logs`);
      expect((await refused.closed).code).toBe(4403);
    }
    const manager2 = connect(a, `/api/v1/ws/connect?token=${manager.token}&channels=system`);
    await manager2.next((m) => m.type === 'connected');
    manager2.send({ type: 'subscribe', channels: ['logs'] });
    expect((await manager2.next((m) => m.type === 'error')).data.code).toBe('INSUFFICIENT_PERMISSIONS');
  });

  it('refuses unauthenticated sockets and channels the caller may not see, with close codes', async () => {
    const cases: Array<[string, unknown, number]> = [
      ['/api/v1/ws/system/status', { channels: ['system'] }, 4401],
      ['/api/v1/ws/system/status', { token: 'not-a-token' }, 4401],
      ['/api/v1/ws/system/status', 'not json', 4400],
      ['/api/v1/ws/system/status', { token: user.token }, 4403],
      ['/api/v1/ws/monitoring/alerts', { token: user.token }, 4403],
      ['/api/v1/ws/bgp/status', { token: viewer.token }, 4403],
      ['/api/v1/ws/system/status', { token: admin, channels: ['bgp'] }, 4400],
      ['/api/v1/ws/connect', { token: admin, channels: ['weather'] }, 4400],
      ['/api/v1/ws/connect', { token: user.token, channels: ['wireguard', 'system'] }, 4403],
    ];
    for (const [path, first, code] of cases) {
      const c = connect(a, path);
      await c.opened;
      c.ws.send(typeof first === 'string' ? first : JSON.stringify(first));
      expect([path, first, (await c.closed).code]).toEqual([path, first, code]);
      expect(c.messages.some((m) => m.type === 'connected')).toBe(false);
    }
    const badQuery = connect(a, '/api/v1/ws/monitoring/alerts?token=idcf_nope');
    expect((await badQuery.closed).code).toBe(4401);
    const header = connect(a, '/api/v1/ws/monitoring/alerts', { authorization: `Bearer ${viewer.token}` });
    await header.next((m) => m.type === 'connected');
    const unknown = connect(a, `/api/v1/ws/weather?token=${admin}`);
    expect(await unknown.handshake).toBe(404);
    // A session that ends (logout) is noticed: new sockets with its token are refused.
    const gone = await a.createUser('viewer');
    expect((await a.call('POST', '/api/v1/auth/logout', { token: gone.token })).status).toBe(200);
    expect((await connect(a, `/api/v1/ws/system/status?token=${gone.token}`).closed).code).toBe(4401);
  });

  it('closes a socket that is open when its session is revoked through another API process: 4401 at the next ping', async () => {
    const quick = await startTestApi({ IDCFLOW_LIVE_PING_SECONDS: '1' });
    try {
      const member = await a.createUser('viewer');
      const client = connect(quick, `/api/v1/ws/system/status?token=${member.token}`);
      await client.next((m) => m.type === 'connected');
      // Pings come and go, each checking the token again: a valid session stays connected.
      await holds(() => client.ws.readyState === WebSocket.OPEN, 2_500, 'the socket open across pings');
      expect((await a.call('POST', '/api/v1/auth/logout', { token: member.token })).status).toBe(200);
      const closed = await Promise.race([client.closed, new Promise<null>((r) => { setTimeout(() => r(null), 10_000); })]);
      expect(closed).toMatchObject({ code: 4401 });
    } finally {
      await quick.close();
    }
  });

  it('sends WireGuard status to managers in full and to users for their own clients only; BGP to managers', async () => {
    const { knex } = a.deps;
    const host = await testHost(knex, 'wg');
    const key = () => crypto.randomBytes(32).toString('base64');
    const server = async (name: string) => (await knex('wg_servers').insert({
      name, host_id: host.id, interface: `wg${crypto.randomInt(1000, 9999)}`, listen_port: crypto.randomInt(20000, 60000), public_key: key(), private_key_sealed: 'x', status: 'running',
    }).returning('id'))[0].id as number;
    const [s1, s2] = [await server(`mine-${host.name}`), await server(`theirs-${host.name}`)];
    await knex('wg_clients').insert([
      { server_id: s1, user_id: user.id, name: 'laptop', public_key: key(), bytes_received: 100, bytes_sent: 200 },
      { server_id: s1, user_id: other.id, name: 'phone', public_key: key(), bytes_received: 1000, bytes_sent: 2000 },
      { server_id: s2, user_id: other.id, name: 'desk', public_key: key(), bytes_received: 5, bytes_sent: 5 },
    ]);
    const mine = connect(a, `/api/v1/ws/wireguard/status?token=${user.token}`);
    const all = connect(b, `/api/v1/ws/wireguard/status?token=${manager.token}`);
    const snapshot = (await mine.next((m) => m.type === 'wireguard_status')).data.servers;
    expect(snapshot).toEqual([{ id: s1, name: `mine-${host.name}`, interface: expect.any(String), host: host.name, status: 'running', clients_count: 1, bytes_received: 100, bytes_sent: 200 }]);
    const full = (await all.next((m) => m.type === 'wireguard_status')).data.servers;
    expect(full.filter((s: { id: number }) => [s1, s2].includes(s.id)).map((s: { clients_count: number; bytes_received: number }) => [s.clients_count, s.bytes_received])).toEqual([[2, 1100], [1, 5]]);

    // The agent's collection round says "read again"; both replicas push the new figures.
    await knex('wg_clients').where({ server_id: s1, user_id: user.id }).update({ bytes_received: 150 });
    const [fromMine, fromAll] = [mine.messages.length, all.messages.length];
    await notify(knex, NOTIFY_CHANNELS.netservices, { event: 'status', host: host.name });
    expect((await mine.next((m) => m.type === 'wireguard_status', 15_000, fromMine)).data.servers).toEqual([expect.objectContaining({ id: s1, bytes_received: 150, clients_count: 1 })]);
    expect((await all.next((m) => m.type === 'wireguard_status', 15_000, fromAll)).data.servers.find((s: { id: number }) => s.id === s1).bytes_received).toBe(1150);

    const bgp = connect(a, `/api/v1/ws/bgp/status?token=${manager.token}`);
    expect((await bgp.next((m) => m.type === 'bgp_status')).data).toEqual({ sessions: expect.any(Array) });
  });

  describe('issue 22: unauthenticated sockets are capped and short-lived; subscribe is paced per socket', () => {
    /** An unauthenticated socket from `localAddress`: resolves with the handshake's status (101 when upgraded). */
    const raw = (localAddress: string) => {
      const ws = new WebSocket(wsUrl(a.url, '/api/v1/ws/connect'), { localAddress });
      ws.on('error', () => undefined);
      const status = new Promise<number>((resolve) => {
        ws.once('open', () => resolve(101));
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      });
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      return { ws, status, closed };
    };

    it('refuses (429, before any WebSocket) the socket past the per-address cap and past the total; a token frees the place', async () => {
      const mine = Array.from({ length: MAX_PENDING_PER_ADDRESS }, () => raw('127.0.0.2'));
      try {
        expect(await Promise.all(mine.map((m) => m.status))).toEqual(mine.map(() => 101));
        const extra = raw('127.0.0.2');
        expect(await extra.status).toBe(429);
        // Another address is not held to this one's cap.
        const other = raw('127.0.0.3');
        expect(await other.status).toBe(101);
        other.ws.terminate();
        // One of them authenticates: its place is free again.
        mine[0].ws.send(JSON.stringify({ token: viewer.token, channels: ['system'] }));
        await eventuallyTrue(async () => (await raw('127.0.0.2').status) === 101);
      } finally {
        for (const m of mine) m.ws.terminate();
      }
      // The total, over many addresses.
      const spread = Array.from({ length: MAX_PENDING_TOTAL }, (_v, i) => raw(`127.0.1.${10 + Math.floor(i / MAX_PENDING_PER_ADDRESS)}`));
      try {
        const statuses = await Promise.all(spread.map((m) => m.status));
        expect(statuses.filter((x) => x === 101).length).toBeGreaterThan(MAX_PENDING_TOTAL - MAX_PENDING_PER_ADDRESS);
        expect(await raw('127.0.2.1').status).toBe(429);
      } finally {
        for (const m of spread) m.ws.terminate();
      }
      await eventuallyTrue(async () => (await raw('127.0.2.2').status) === 101);
    }, 60_000);

    it('closes a socket that sends no token within the short deadline', async () => {
      const started = Date.now();
      const idle = raw('127.0.0.4');
      expect(await idle.status).toBe(101);
      expect(await idle.closed).toBe(CLOSE.unauthenticated);
      expect(Date.now() - started).toBeLessThan((AUTH_SECONDS + 3) * 1000);
    });

    it('answers subscribe past its budget with RATE_LIMIT_EXCEEDED without work, and closes a socket that keeps on (4429)', async () => {
      const c = connect(a, `/api/v1/ws/connect?token=${manager.token}&channels=system`);
      await c.next((m) => m.type === 'connected');
      for (let i = 0; i < SUBSCRIBE_BURST + 10; i++) c.send({ type: i % 2 ? 'unsubscribe' : 'subscribe', channels: ['bgp'] });
      await c.next((m) => m.type === 'error' && m.data.code === 'RATE_LIMIT_EXCEEDED');
      await c.next(() => c.messages.filter((m) => ['subscribed', 'unsubscribed'].includes(m.type) || m.type === 'error').length >= SUBSCRIBE_BURST + 10);
      const answered = c.messages.filter((m) => m.type === 'subscribed' || m.type === 'unsubscribed').length;
      expect(answered).toBeGreaterThanOrEqual(SUBSCRIBE_BURST);
      expect(answered).toBeLessThanOrEqual(SUBSCRIBE_BURST + 2);
      for (let i = 0; i < MAX_REFUSED_MESSAGES; i++) c.send({ type: 'subscribe', channels: ['bgp'] });
      expect((await c.closed).code).toBe(CLOSE.tooManyMessages);
    });
  });

  async function eventuallyTrue(check: () => Promise<boolean>) {
    const deadline = Date.now() + 15_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 200));
    }
  }
});
