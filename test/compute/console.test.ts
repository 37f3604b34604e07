import WebSocket from 'ws';
import Docker from 'dockerode';
import { freePort } from '../../workers/embedded-services';
import { sha256 } from '../../shared/platform/crypto';
import { startTestApi, expectError, eventually, type TestApi } from '../support/api';
import { addHost, createInstance, finished, uniq } from '../support/compute';
import { podmanForTests, podmanMissing } from '../support/podman';
import { spawnWorker, type Spawned } from '../support/processes';
import { spawnAgent } from '../support/agents';
import { describeIfRunnable } from '../support/environment';

/** Container consoles: a WebSocket terminal through the worker's console gateway, against Podman's Docker API. */
const podman = podmanForTests();

/**
 * Opens the console URL; resolves with the socket once open (its output collected from the first frame, which can
 * arrive with the handshake), or with the HTTP status the gateway refused it with.
 */
function connect(url: string): Promise<{ ws: WebSocket; term: ReturnType<typeof screen> } | { refused: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const term = screen(ws);
    ws.once('open', () => resolve({ ws, term }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      res.on('end', () => resolve({ refused: res.statusCode ?? 0, body }));
    });
    ws.once('error', reject);
  });
}

// eslint-disable-next-line no-control-regex
const CURSOR_QUERY = /\x1b\[6n/;
// eslint-disable-next-line no-control-regex
const PROMPT = /# (\x1b\[J)?$/;

/** The terminal's output as it arrives; `until` waits for a pattern in what came after the last match. */
function screen(ws: WebSocket) {
  let output = '';
  let seen = 0;
  ws.on('message', (data: Buffer) => { output += data.toString('utf8'); });
  return {
    async until(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
      for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
        const m = pattern.exec(output.slice(seen));
        if (m) {
          const text = output.slice(seen, seen + m.index + m[0].length);
          seen += m.index + m[0].length;
          return text;
        }
      }
      throw new Error(`no ${pattern} in terminal output: ${JSON.stringify(output.slice(seen))}`);
    },
  };
}

describeIfRunnable(podmanMissing(), 'container console (Podman Docker API)', () => {
  const queue = `console-${Date.now()}`;
  let api: TestApi;
  let worker: Spawned;
  let gatewayPort: number;
  let host: { id: number; name: string };
  let owner: { id: number; token: string };
  let instanceId: number;
  let uuid: string;

  beforeAll(async () => {
    const { socketPath, image } = podman as { socketPath: string; image: string };
    gatewayPort = await freePort();
    api = await startTestApi({ IDCFLOW_TASK_QUEUE: queue });
    worker = await spawnWorker(queue, { IDCFLOW_CONSOLE_PORT: String(gatewayPort), IDCFLOW_CONSOLE_TICKET_SECONDS: '30' });
    host = await addHost(api, { engine_type: 'docker', address: `unix://${socketPath}` });
    owner = await api.createUser('user');
    uuid = uniq('tty');
    const { op } = await createInstance(api, owner.token, { uuid, host_id: host.id, image, command: ['sleep', '3600'] });
    expect(op.status).toBe('succeeded');
    instanceId = (await api.deps.knex('instances').where({ uuid }).first('id')).id;
  }, 120_000);

  afterAll(async () => {
    const docker = new Docker({ socketPath: (podman as { socketPath: string }).socketPath });
    for (const c of await docker.listContainers({ all: true, filters: { label: [`io.idcflow.uuid=${uuid}`] } })) await docker.getContainer(c.Id).remove({ force: true });
    await worker?.stop();
    await api?.close();
  });

  /** Login shells running in the test's container. */
  const shells = async () => {
    const docker = new Docker({ socketPath: (podman as { socketPath: string }).socketPath });
    const [container] = await docker.listContainers({ filters: { label: [`io.idcflow.uuid=${uuid}`] } });
    return ((await docker.getContainer(container.Id).top()).Processes ?? []).filter((p: string[]) => /\bsh -l\b/.test(p.join(' '))).length;
  };

  const ticketFor = async () => {
    const res = await api.call('GET', `/api/v1/instances/${instanceId}/console`, { token: owner.token });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    return res.body.data as { type: string; url: string; web_url: string; expires_at: string };
  };

  it('gives the owner a single-use terminal: commands run in the container, exit closes it, the session is recorded', async () => {
    const access = await ticketFor();
    expect(access.type).toBe('terminal');
    expect(access.url).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:${gatewayPort}/console\\?ticket=[A-Za-z0-9_-]{40,}$`));
    expect(Date.parse(access.expires_at) - Date.now()).toBeGreaterThan(20_000);
    expect(access.web_url).toBe(`/console#${encodeURIComponent(access.url)}`);
    const ticket = new URL(access.url).searchParams.get('ticket')!;
    // Only the ticket's digest is kept.
    const row = await api.deps.knex('console_sessions').where({ ticket_hash: sha256(ticket) }).first();
    expect(row).toMatchObject({ instance_id: instanceId, user_id: owner.id, host_id: host.id, opened_at: null });
    expect(JSON.stringify(row)).not.toContain(ticket);

    const conn = await connect(access.url);
    if (!('ws' in conn)) throw new Error(`refused: ${conn.refused} ${conn.body}`);
    const { ws, term } = conn;
    ws.send(JSON.stringify({ type: 'resize', cols: 132, rows: 40 }));
    // Act as a terminal does: busybox's shell asks where the cursor is (ESC[6n) before its first prompt.
    await term.until(CURSOR_QUERY);
    ws.send(Buffer.from('\x1b[1;1R'));
    await term.until(PROMPT);
    ws.send(Buffer.from('echo "$((6*7))-from-$(hostname)"; stty size\n'));
    expect(await term.until(/42-from-\S+[\s\S]*?\d+ \d+/)).toMatch(/40 132/);
    ws.send(JSON.stringify({ type: 'input', data: 'exit\n' }));
    const [code] = await new Promise<[number, string]>((r) => ws.once('close', (c, reason) => r([c, reason.toString()])));
    expect(code).toBe(1000);
    const closed = await eventually(async () => { const r = await api.deps.knex('console_sessions').where({ id: row.id }).first(); return r.closed_at && r; }, 5000, 'the session marked closed');
    expect(closed).toMatchObject({ close_reason: 'shell exited' });
    expect(closed.opened_at).not.toBeNull();
    expect(Number(closed.bytes_in)).toBeGreaterThan(10);
    expect(Number(closed.bytes_out)).toBeGreaterThan(10);

    // The same ticket does not open a second terminal.
    expect(await connect(access.url)).toMatchObject({ refused: 401, body: expect.stringContaining('used or expired') });
    // A client that just goes away leaves no shell behind in the container.
    const again = await connect((await ticketFor()).url);
    if (!('ws' in again)) throw new Error(`refused: ${again.refused}`);
    await again.term.until(CURSOR_QUERY);
    expect(await shells()).toBeGreaterThan(0);
    again.ws.close();
    await eventually(async () => (await shells()) === 0, 10_000, 'the shell to end');
    const sessions = await api.deps.knex('console_sessions').where({ instance_id: instanceId }).orderBy('id', 'desc').first();
    await eventually(async () => (await api.deps.knex('console_sessions').where({ id: sessions.id }).first()).close_reason === 'client closed', 10_000, 'the session record');

    const audit = await api.deps.knex('audit_log').where({ action: 'console', resource_type: 'instance', resource_id: String(instanceId) });
    expect(audit.length).toBeGreaterThanOrEqual(1);
  });

  it('a ticket names the gateway that says in PostgreSQL it serves the host, without asking a worker; one silent too long is not used', async () => {
    const knex = api.deps.knex;
    const own = `ws://127.0.0.1:${gatewayPort}/console`;
    expect(await knex('console_gateways').where({ url: own }).first()).toMatchObject({ task_queue: queue, agent_hosts: [] });
    // A gateway said to run more recently than the worker's, at an address where nothing listens: the API names it,
    // so it did not ask the worker (whose engine read answers the worker's own gateway).
    const decoy = 'ws://127.0.0.2:9/console';
    await knex('console_gateways').insert({ url: decoy, task_queue: queue, seen_at: knex.raw('now() + interval \'1 second\'') });
    try {
      expect((await ticketFor()).url.startsWith(`${decoy}?ticket=`)).toBe(true);
      await knex('console_gateways').where({ url: decoy }).update({ seen_at: knex.raw('now() - interval \'1 hour\'') });
      expect((await ticketFor()).url.startsWith(`${own}?ticket=`)).toBe(true);
      // No gateway said to run: the worker is asked, as before, and names its own.
      await knex('console_gateways').where({ url: own }).update({ seen_at: knex.raw('now() - interval \'1 hour\'') });
      expect((await ticketFor()).url.startsWith(`${own}?ticket=`)).toBe(true);
    } finally {
      await knex('console_gateways').where({ url: decoy }).delete();
      await knex('console_gateways').where({ url: own }).update({ seen_at: knex.fn.now() });
    }
  });

  it('refuses forged, missing and expired tickets, other paths, plain HTTP, and tickets of users disabled since', async () => {
    const base = `ws://127.0.0.1:${gatewayPort}`;
    expect(await connect(`${base}/console?ticket=forged`)).toMatchObject({ refused: 401 });
    expect(await connect(`${base}/console`)).toMatchObject({ refused: 401, body: expect.stringContaining('ticket is required') });
    expect(await connect(`${base}/elsewhere?ticket=x`)).toMatchObject({ refused: 404 });
    const plain = await fetch(`http://127.0.0.1:${gatewayPort}/console`);
    expect(plain.status).toBe(426);

    const expired = await ticketFor();
    await api.deps.knex('console_sessions').where({ ticket_hash: sha256(new URL(expired.url).searchParams.get('ticket')!) }).update({ expires_at: new Date(Date.now() - 1000) });
    expect(await connect(expired.url)).toMatchObject({ refused: 401 });

    const other = await api.createUser('user');
    await api.deps.knex('instances').where({ id: instanceId }).update({ owner_id: other.id });
    try {
      const issued = (await api.call('GET', `/api/v1/instances/${instanceId}/console`, { token: other.token })).body.data;
      await api.call('POST', `/api/v1/users/${other.id}/toggle-status`, { token: await api.admin() });
      const refused = await connect(issued.url);
      expect(refused).toMatchObject({ refused: 403, body: expect.stringContaining('no longer active') });
    } finally {
      await api.deps.knex('instances').where({ id: instanceId }).update({ owner_id: owner.id });
    }
  });

  it('a host driven by its agent: the console is served by the agent\'s gateway, and another gateway refuses the ticket', async () => {
    const { socketPath, image } = podman as { socketPath: string; image: string };
    const agentHost = await addHost(api, { engine_type: 'docker', address: `unix://${socketPath}`, use_agent: true });
    const agentPort = await freePort();
    const agent = await spawnAgent(api, agentHost, { ...process.env, LOG_LEVEL: 'info', IDCFLOW_CONSOLE_PORT: String(agentPort) });
    const agentUuid = uniq('tty-agent');
    try {
      const { op } = await createInstance(api, owner.token, { uuid: agentUuid, host_id: agentHost.id, image, command: ['sleep', '3600'] });
      expect(op.status).toBe('succeeded');
      const id = (await api.deps.knex('instances').where({ uuid: agentUuid }).first('id')).id;
      const ticket = async () => (await api.call('GET', `/api/v1/instances/${id}/console`, { token: owner.token })).body.data.url as string;
      const url = await ticket();
      expect(url).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:${agentPort}/console\\?ticket=`));
      const conn = await connect(url);
      if (!('ws' in conn)) throw new Error(`refused: ${conn.refused} ${conn.body}`);
      await conn.term.until(CURSOR_QUERY);
      conn.ws.send(Buffer.from('\x1b[1;1R'));
      conn.ws.send(Buffer.from('echo "agent-$((40+2))"\n'));
      await conn.term.until(/agent-42/);
      conn.ws.terminate();
      // The main worker's gateway does not drive this host: it refuses the ticket (which is then spent).
      const misdirected = (await ticket()).replace(`:${agentPort}/`, `:${gatewayPort}/`);
      expect(await connect(misdirected)).toMatchObject({ refused: 421, body: expect.stringContaining(`does not serve host ${agentHost.name}`) });
    } finally {
      const docker = new Docker({ socketPath });
      for (const c of await docker.listContainers({ all: true, filters: { label: [`io.idcflow.uuid=${agentUuid}`] } })) await docker.getContainer(c.Id).remove({ force: true });
      await agent.stop();
    }
  });

  it('serves the browser terminal page and its assets (xterm.js), and nothing else under /console/assets', async () => {
    const page = await api.call('GET', '/console');
    expect(page.status).toBe(200);
    expect(page.text).toContain('/console/assets/xterm.js');
    for (const [file, type] of [['xterm.js', 'javascript'], ['xterm.css', 'css'], ['addon-fit.js', 'javascript'], ['console.js', 'javascript']]) {
      const res = await api.call('GET', `/console/assets/${file}`);
      expect({ file, status: res.status, type: res.headers.get('content-type') }).toEqual({ file, status: 200, type: expect.stringContaining(type) });
    }
    for (const file of ['package.json', 'constructor', '..%2Fpackage.json']) expectError(await api.call('GET', `/console/assets/${file}`), 404, 'RESOURCE_NOT_FOUND');
  });

  it('a gateway killed with a console open hangs up the shell it left when it starts again', async () => {
    const access = await ticketFor();
    const conn = await connect(access.url);
    if (!('ws' in conn)) throw new Error(`refused: ${conn.refused}`);
    await conn.term.until(CURSOR_QUERY);
    expect(await shells()).toBe(1);
    await worker.stop('SIGKILL');
    await eventually(async () => conn.ws.readyState === WebSocket.CLOSED, 10_000, 'the socket to drop');
    expect(await shells()).toBe(1); // nobody hung it up
    worker = await spawnWorker(queue, { IDCFLOW_CONSOLE_PORT: String(gatewayPort), IDCFLOW_CONSOLE_TICKET_SECONDS: '30' });
    await eventually(async () => (await shells()) === 0, 15_000, 'the orphaned shell to end');
    const row = await api.deps.knex('console_sessions').where({ ticket_hash: sha256(new URL(access.url).searchParams.get('ticket')!) }).first();
    expect(row).toMatchObject({ close_reason: 'gateway restarted', terminal_id: expect.stringMatching(/^\d+$/) });
  });

  it('the API refuses consoles to others, without a token, for missing instances, and for stopped containers', async () => {
    const stranger = await api.createUser('user');
    expectError(await api.call('GET', `/api/v1/instances/${instanceId}/console`, { token: stranger.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', `/api/v1/instances/${instanceId}/console`), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('GET', '/api/v1/instances/99999999/console', { token: owner.token }), 404, 'RESOURCE_NOT_FOUND');
    const seed = await api.call('GET', `/api/client/remote/${host.name}/${uuid}`, { token: owner.token });
    expect(seed.body).toMatchObject({ code: 200, data: { type: 'terminal', url: expect.stringContaining('/console?ticket=') } });

    // Stopped behind idcflow's back (the record still says running): the API hands out a ticket, the gateway refuses it.
    const docker = new Docker({ socketPath: (podman as { socketPath: string }).socketPath });
    const [container] = await docker.listContainers({ filters: { label: [`io.idcflow.uuid=${uuid}`] } });
    await docker.getContainer(container.Id).kill();
    expect(await connect((await ticketFor()).url)).toMatchObject({ refused: 409, body: expect.stringContaining('must be running') });

    const stop = await finished(api, owner.token, await api.call('POST', `/api/v1/instances/${instanceId}/power`, { token: owner.token, body: { action: 'hard_stop' } }));
    expect(stop.status).toBe('succeeded');
    const before = await api.deps.knex('console_sessions').where({ instance_id: instanceId }).count<{ count: string }[]>('* as count');
    expectError(await api.call('GET', `/api/v1/instances/${instanceId}/console`, { token: owner.token }), 409, 'CONFLICT');
    const after = await api.deps.knex('console_sessions').where({ instance_id: instanceId }).count<{ count: string }[]>('* as count');
    expect(after[0].count).toBe(before[0].count);
  });
});
