import net from 'node:net';
import { startTestApi, expectError, eventually, type TestApi, type TestUser } from '../support/api';
import { uid, waitOperation } from '../support/dbsync';

/**
 * Issue 22, finding 2: one customer must not get another's stored database password. Through HTTP, as the attacker
 * (user B, a non-admin), against the owner (user A).
 */
let api: TestApi;
let ownerA: TestUser;
let attackerB: TestUser;
let managerC: TestUser;
let admin: string;
let fake: FakePg;

/** Seed 002's error envelope. */
function expectSeedError(res: { status: number; body: any }, status: number) { // eslint-disable-line @typescript-eslint/no-explicit-any
  expect({ status: res.status, envelope: res.body?.status }).toEqual({ status, envelope: 'error' });
}

interface FakePg {
  port: number;
  /** Connections that completed the startup message. */
  startups: number;
  /** Every message the clients sent after the server asked for a password, by type byte ('p' is a password). */
  messages: string[];
  passwords: string[];
  close(): Promise<void>;
}

/**
 * A hostile PostgreSQL server: answers an SSLRequest with 'N', and a startup message with AuthenticationCleartextPassword
 * (R, code 3); whatever the client sends next is recorded. It never completes a session.
 */
async function fakePostgres(): Promise<FakePg> {
  const state = { startups: 0, messages: [] as string[], passwords: [] as string[] };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let started = false;
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (!started) {
          if (buf.length < 8) return;
          const len = buf.readInt32BE(0);
          if (buf.length < len) return;
          const code = buf.readInt32BE(4);
          buf = buf.subarray(len);
          if (code === 80877103 || code === 80877104) { sock.write('N'); continue; } // SSLRequest, GSSENCRequest
          started = true;
          state.startups++;
          const ask = Buffer.alloc(9);
          ask.write('R', 0);
          ask.writeInt32BE(8, 1);
          ask.writeInt32BE(3, 5);
          sock.write(ask);
          continue;
        }
        if (buf.length < 5) return;
        const type = String.fromCharCode(buf[0]);
        const len = buf.readInt32BE(1);
        if (buf.length < 1 + len) return;
        state.messages.push(type);
        if (type === 'p') state.passwords.push(buf.subarray(5, 1 + len).toString('utf8').replace(/\0$/, ''));
        buf = buf.subarray(1 + len);
        if (type === 'p') {
          // Had it got the password, the attacker's server would now say "authentication ok" and close.
          const err = Buffer.from('SFATAL\0C28P01\0Mgot it\0\0');
          const head = Buffer.alloc(5);
          head.write('E', 0);
          head.writeInt32BE(4 + err.length, 1);
          sock.end(Buffer.concat([head, err]));
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get startups() { return state.startups; },
    messages: state.messages,
    passwords: state.passwords,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

/**
 * A hostile MySQL server: a v10 handshake without TLS, then, whatever the client answers, an AuthSwitchRequest to
 * mysql_clear_password. Every byte the clients send is kept.
 */
async function fakeMysql(): Promise<{ port: number; received: Buffer[]; switched: number; close(): Promise<void> }> {
  const state = { received: [] as Buffer[], switched: 0 };
  const sockets = new Set<net.Socket>();
  const packet = (seq: number, payload: Buffer) => {
    const head = Buffer.alloc(4);
    head.writeUIntLE(payload.length, 0, 3);
    head[3] = seq;
    return Buffer.concat([head, payload]);
  };
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    const caps = 0x1 | 0x200 | 0x2000 | 0x8000 | 0x80000; // LONG_PASSWORD, PROTOCOL_41, TRANSACTIONS, SECURE_CONNECTION, PLUGIN_AUTH (no SSL)
    const hello = Buffer.concat([
      Buffer.from([0x0a]), Buffer.from('5.7.99-fake\0'), Buffer.from([1, 0, 0, 0]), Buffer.from('abcdefgh'), Buffer.from([0]),
      Buffer.from([caps & 0xff, (caps >> 8) & 0xff]), Buffer.from([0x21]), Buffer.from([2, 0]), Buffer.from([(caps >> 16) & 0xff, (caps >> 24) & 0xff]),
      Buffer.from([21]), Buffer.alloc(10), Buffer.from('ijklmnopqrst\0'), Buffer.from('mysql_clear_password\0'),
    ]);
    sock.write(packet(0, hello));
    let answered = false;
    sock.on('data', (chunk) => {
      state.received.push(chunk);
      if (answered) return;
      answered = true;
      state.switched++;
      sock.write(packet(2, Buffer.concat([Buffer.from([0xfe]), Buffer.from('mysql_clear_password\0'), Buffer.from('\0')])));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    received: state.received,
    get switched() { return state.switched; },
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

const secretA = `a-secret-${uid()}`;
let credA: number;
let instA: number;

beforeAll(async () => {
  api = await startTestApi();
  admin = await api.admin();
  ownerA = await api.createUser('manager');
  attackerB = await api.createUser('user');
  managerC = await api.createUser('manager');
  fake = await fakePostgres();
  const cred = await api.call('POST', '/api/v1/db/credentials', { token: ownerA.token, body: { name: `a-cred-${uid()}`, username: 'a_user', password: secretA, db_type: 'postgresql' } });
  expect(cred.status).toBe(201);
  credA = cred.body.data.id;
  const inst = await api.call('POST', '/api/v1/db/instances', { token: ownerA.token, body: { name: `a-db-${uid()}`, db_type: 'postgresql', host: 'db-a.example.test', port: 5432, credential_id: credA, ssl: 'require' } });
  expect(inst.status).toBe(201);
  instA = inst.body.data.id;
});
afterAll(async () => {
  await fake.close();
  await api.close();
});

describe('credentials and instances belong to their owner', () => {
  it('B does not see A’s credential in any list or by id, and cannot change or delete it', async () => {
    const list = await api.call('GET', '/api/v1/db/credentials?size=100', { token: attackerB.token });
    expect(list.status).toBe(200);
    expect(list.body.data.credentials.map((c: { id: number }) => c.id)).not.toContain(credA);
    const seed = await api.call('GET', '/api/credentials?per_page=100', { token: attackerB.token });
    expect(seed.body.status).toBe('success');
    expect(seed.body.data.map((c: { id: number }) => c.id)).not.toContain(credA);
    const options = await api.call('GET', '/api/v1/db/types/form-options', { token: attackerB.token });
    expect(options.body.data.credentials.map((c: { id: number }) => c.id)).not.toContain(credA);
    expectError(await api.call('GET', `/api/v1/db/credentials/${credA}`, { token: attackerB.token }), 404, 'RESOURCE_NOT_FOUND');
    expectSeedError(await api.call('GET', `/api/credentials/${credA}`, { token: attackerB.token }), 404);
    expectError(await api.call('PUT', `/api/v1/db/credentials/${credA}`, { token: attackerB.token, body: { password: 'mine-now' } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('DELETE', `/api/v1/db/credentials/${credA}`, { token: attackerB.token }), 404, 'RESOURCE_NOT_FOUND');
    // The owner and an admin still see it.
    expect((await api.call('GET', `/api/v1/db/credentials/${credA}`, { token: ownerA.token })).body.data).toMatchObject({ id: credA, instance_count: 1 });
    expect((await api.call('GET', `/api/credentials/${credA}`, { token: admin })).body).toMatchObject({ status: 'success', data: { id: credA } });
    const all = await api.call('GET', '/api/v1/db/credentials?size=100&search=a-cred-', { token: admin });
    expect(all.body.data.credentials.map((c: { id: number }) => c.id)).toContain(credA);
  });

  it('B cannot create an instance with A’s credential_id (404), on create or on update of its own instance', async () => {
    const res = await api.call('POST', '/api/v1/db/instances', { token: attackerB.token, body: { name: `b-db-${uid()}`, db_type: 'postgresql', host: '127.0.0.1', port: fake.port, credential_id: credA, ssl: 'disable' } });
    expectError(res, 404, 'RESOURCE_NOT_FOUND');
    const bCred = await api.call('POST', '/api/v1/db/credentials', { token: attackerB.token, body: { name: `b-cred-${uid()}`, username: 'b', password: 'b-pass' } });
    const own = await api.call('POST', '/api/v1/db/instances', { token: attackerB.token, body: { name: `b-db-${uid()}`, db_type: 'postgresql', host: '127.0.0.1', port: fake.port, credential_id: bCred.body.data.id, ssl: 'disable' } });
    expect(own.status).toBe(201);
    expectError(await api.call('PUT', `/api/v1/db/instances/${own.body.data.id}`, { token: attackerB.token, body: { credential_id: credA } }), 404, 'RESOURCE_NOT_FOUND');
    expect((await api.call('GET', `/api/v1/db/instances/${own.body.data.id}`, { token: attackerB.token })).body.data.credential_id).toBe(bCred.body.data.id);
    expect(fake.passwords).not.toContain(secretA);
  });

  it('B cannot read, edit, test, sync or delete A’s instance (404), on either surface', async () => {
    expectError(await api.call('PUT', `/api/v1/db/instances/${instA}`, { token: attackerB.token, body: { host: '127.0.0.1', port: fake.port, ssl: 'disable' } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', `/api/v1/db/instances/${instA}`, { token: attackerB.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', `/api/v1/db/instances/${instA}/test`, { token: attackerB.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', `/api/v1/db/instances/${instA}/sync`, { token: attackerB.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', `/api/v1/db/instances/${instA}/accounts`, { token: attackerB.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('DELETE', `/api/v1/db/instances/${instA}`, { token: attackerB.token }), 404, 'RESOURCE_NOT_FOUND');
    expectSeedError(await api.call('GET', `/api/instances/${instA}`, { token: attackerB.token }), 404);
    expectSeedError(await api.call('POST', `/api/instances/${instA}/test`, { token: attackerB.token }), 404);
    const lists = [
      (await api.call('GET', '/api/v1/db/instances?size=100', { token: attackerB.token })).body.data.instances,
      (await api.call('GET', '/api/instances?per_page=100', { token: attackerB.token })).body.data,
    ];
    for (const l of lists) expect(l.map((i: { id: number }) => i.id)).not.toContain(instA);
    // A sync session over "all" or naming A's instance does not reach it.
    const named = await api.call('POST', '/api/v1/db/sessions', { token: attackerB.token, body: { instance_ids: [instA] } });
    expect(named.status).toBe(404);
    const stats = await api.call('GET', '/api/v1/db/instances/statistics', { token: attackerB.token });
    expect(stats.body.data.total_instances).toBe(1);
    const overview = await api.call('GET', '/api/overview', { token: attackerB.token });
    expect(overview.body.data.instances.total).toBe(1);
    // A's instance is untouched and A still sees it.
    const mine = await api.call('GET', `/api/v1/db/instances/${instA}`, { token: ownerA.token });
    expect(mine.body.data).toMatchObject({ host: 'db-a.example.test', credential_id: credA, ssl: 'require' });
    expect((await api.call('GET', `/api/instances/${instA}`, { token: admin })).body.data.id).toBe(instA);
    expect(fake.startups).toBe(0);
  });

  it('no token is 401; bad input is 422 naming the field', async () => {
    expectError(await api.call('GET', `/api/v1/db/instances/${instA}`), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('POST', '/api/v1/db/test-connection', { body: { db_type: 'postgresql', host: '127.0.0.1', username: 'x' } }), 401, 'INVALID_CREDENTIALS');
    const bad = await api.call('PUT', `/api/v1/db/instances/${instA}`, { token: ownerA.token, body: { port: 0 } });
    expectError(bad, 422, 'VALIDATION_ERROR');
    expect(bad.body.error.details.errors.map((e: { field: string }) => e.field)).toEqual(['port']);
  });
});

describe('a stored password goes only where it was saved', () => {
  it('changing host, port or TLS mode detaches the credential; the owner re-attaches it explicitly', async () => {
    const cred = (await api.call('POST', '/api/v1/db/credentials', { token: ownerA.token, body: { name: `bind-${uid()}`, username: 'a', password: secretA } })).body.data.id;
    const inst = (await api.call('POST', '/api/v1/db/instances', { token: ownerA.token, body: { name: `bind-${uid()}`, db_type: 'postgresql', host: 'db-a.example.test', credential_id: cred, ssl: 'require' } })).body.data.id;
    for (const change of [{ host: '127.0.0.1', port: fake.port }, { port: 6543 }, { ssl: 'disable' }]) {
      await api.call('PUT', `/api/v1/db/instances/${inst}`, { token: ownerA.token, body: { host: 'db-a.example.test', port: 5432, ssl: 'require', credential_id: cred } });
      const moved = await api.call('PUT', `/api/v1/db/instances/${inst}`, { token: ownerA.token, body: change });
      expect(moved.status).toBe(200);
      expect(moved.body.data).toMatchObject({ credential_id: null });
    }
    // An unchanged address keeps it.
    await api.call('PUT', `/api/v1/db/instances/${inst}`, { token: ownerA.token, body: { host: '127.0.0.1', port: fake.port, ssl: 'disable', credential_id: cred } });
    const same = await api.call('PUT', `/api/v1/db/instances/${inst}`, { token: ownerA.token, body: { host: '127.0.0.1', description: 'x' } });
    expect(same.body.data.credential_id).toBe(cred);
  });

  it('the worker refuses a credential whose instance no longer points where it was bound (no connection at all)', async () => {
    const cred = (await api.call('POST', '/api/v1/db/credentials', { token: ownerA.token, body: { name: `bound-${uid()}`, username: 'a', password: secretA } })).body.data.id;
    const inst = (await api.call('POST', '/api/v1/db/instances', { token: ownerA.token, body: { name: `bound-${uid()}`, db_type: 'postgresql', host: 'db-a.example.test', credential_id: cred, ssl: 'require' } })).body.data.id;
    // A row moved behind the API's back (or an instance of another owner holding the credential) is not trusted.
    await api.deps.knex('db_instances').where({ id: inst }).update({ host: '127.0.0.1', port: fake.port, options: JSON.stringify({ ssl: 'disable' }) });
    const before = fake.startups;
    const res = await api.call('POST', `/api/v1/db/instances/${inst}/test`, { token: ownerA.token });
    expect(res.body.data).toMatchObject({ success: false, error_type: 'auth' });
    expect(res.body.data.message).toMatch(/not bound|re-attach/i);
    await api.deps.knex('db_instances').where({ id: inst }).update({ host: 'db-a.example.test', port: 5432, options: JSON.stringify({ ssl: 'require' }), created_by: attackerB.id });
    const other = await api.call('POST', `/api/v1/db/instances/${inst}/test`, { token: admin });
    expect(other.body.data).toMatchObject({ success: false, error_type: 'auth' });
    expect(fake.startups).toBe(before);
  });
});

describe('never a password in clear text without TLS', () => {
  let inst: number;
  beforeAll(async () => {
    const cred = (await api.call('POST', '/api/v1/db/credentials', { token: ownerA.token, body: { name: `clear-${uid()}`, username: 'a', password: secretA } })).body.data.id;
    inst = (await api.call('POST', '/api/v1/db/instances', { token: ownerA.token, body: { name: `clear-${uid()}`, db_type: 'postgresql', host: '127.0.0.1', port: fake.port, credential_id: cred, ssl: 'disable' } })).body.data.id;
  });

  it('the connection test refuses AuthenticationCleartextPassword: the server receives no password', async () => {
    const before = fake.startups;
    const res = await api.call('POST', `/api/v1/db/instances/${inst}/test`, { token: ownerA.token });
    expect(res.status).toBe(200);
    expect(fake.startups).toBeGreaterThan(before);
    expect(fake.messages).not.toContain('p');
    expect(res.body.data).toMatchObject({ success: false, error_type: 'tls' });
    expect(res.body.data.message).toMatch(/clear ?text/i);
    const adhoc = await api.call('POST', '/api/v1/db/test-connection', { token: admin, body: { db_type: 'postgresql', host: '127.0.0.1', port: fake.port, username: 'a', password: secretA, ssl: 'prefer' } });
    expect(adhoc.body.data).toMatchObject({ success: false, error_type: 'tls' });
    expect(fake.messages).not.toContain('p');
  });

  it('MySQL/MariaDB: mysql_clear_password is not answered without TLS', async () => {
    const my = await fakeMysql();
    try {
      const cred = (await api.call('POST', '/api/v1/db/credentials', { token: ownerA.token, body: { name: `my-${uid()}`, username: 'a', password: secretA } })).body.data.id;
      const mine = (await api.call('POST', '/api/v1/db/instances', { token: ownerA.token, body: { name: `my-${uid()}`, db_type: 'mysql', host: '127.0.0.1', port: my.port, credential_id: cred, ssl: 'disable' } })).body.data.id;
      const res = await api.call('POST', `/api/v1/db/instances/${mine}/test`, { token: ownerA.token });
      expect(res.body.data).toMatchObject({ success: false, error_type: 'tls' });
      expect(my.switched).toBeGreaterThan(0);
      expect(Buffer.concat(my.received).includes(Buffer.from(secretA))).toBe(false);
    } finally {
      await my.close();
    }
  });

  it('a triggered sync and a scheduled job’s run send no password either', async () => {
    const before = fake.startups;
    const started = await api.call('POST', `/api/v1/db/instances/${inst}/sync`, { token: ownerA.token });
    expect(started.status).toBe(202);
    const op = await waitOperation(api, started.body.data.operation.id, ownerA.token);
    expect(op.result).toMatchObject({ failed_instances: 1 });
    const job = await api.call('POST', '/api/v1/db/jobs', { token: ownerA.token, body: { name: `clear-${uid()}`, task_type: 'sync_accounts', instance_ids: [inst], schedule: '0 0 1 1 *' } });
    expect(job.status).toBe(201);
    const jobId = job.body.data.id;
    expect((await api.call('POST', `/api/v1/db/jobs/${jobId}/run`, { token: ownerA.token })).status).toBe(200);
    const runs = await eventually(async () => {
      const h = (await api.call('GET', `/api/v1/db/jobs/${jobId}/history`, { token: ownerA.token })).body.data.runs as Array<{ status: string }>;
      return h.some((r) => r.status !== 'running') && h;
    }, 60_000, 'the job’s run');
    expect(runs[0]).toMatchObject({ kind: 'sync_session', failed_instances: 1 });
    expect(fake.startups).toBeGreaterThanOrEqual(before + 2);
    expect(fake.messages).not.toContain('p');
    expect(fake.passwords).toEqual([]);
    // The job, its runs and the session are A's: C (another manager) and B see none of them.
    expectError(await api.call('GET', `/api/v1/db/jobs/${jobId}`, { token: managerC.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', `/api/v1/db/jobs/${jobId}/run`, { token: managerC.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('PUT', `/api/v1/db/jobs/${jobId}`, { token: managerC.token, body: { name: 'mine' } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('DELETE', `/api/v1/db/jobs/${jobId}`, { token: managerC.token }), 404, 'RESOURCE_NOT_FOUND');
    expectSeedError(await api.call('GET', `/api/jobs/${jobId}`, { token: managerC.token }), 404);
    expect((await api.call('GET', '/api/v1/db/jobs?size=100', { token: managerC.token })).body.data.jobs.map((j: { id: string }) => j.id)).not.toContain(jobId);
    // C cannot aim its own job at A's instance.
    expectError(await api.call('POST', '/api/v1/db/jobs', { token: managerC.token, body: { name: `c-${uid()}`, task_type: 'sync_accounts', instance_ids: [inst], schedule: '0 0 1 1 *' } }), 404, 'RESOURCE_NOT_FOUND');
    const session = started.body.data.operation.id;
    expectError(await api.call('GET', `/api/v1/db/sessions/${encodeURIComponent(session)}`, { token: attackerB.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', `/api/v1/db/sessions/${encodeURIComponent(session)}/error-logs`, { token: attackerB.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', `/api/v1/db/sessions/${encodeURIComponent(session)}/cancel`, { token: attackerB.token }), 404, 'RESOURCE_NOT_FOUND');
    expectSeedError(await api.call('GET', `/api/sessions/${encodeURIComponent(session)}`, { token: attackerB.token }), 404);
    expect((await api.call('GET', '/api/v1/db/sessions?size=100', { token: attackerB.token })).body.data.sessions.map((s: { id: string }) => s.id)).not.toContain(session);
    expect((await api.call('GET', '/api/sessions?per_page=100', { token: attackerB.token })).body.data.map((s: { id: string }) => s.id)).not.toContain(session);
    expect((await api.call('GET', `/api/v1/db/sessions/${encodeURIComponent(session)}`, { token: ownerA.token })).status).toBe(200);
    expect((await api.call('GET', `/api/sessions/${encodeURIComponent(session)}`, { token: admin })).body.status).toBe('success');
    await api.call('DELETE', `/api/v1/db/jobs/${jobId}`, { token: ownerA.token });
  });
});

describe('classifications, rules and batches belong to their owner', () => {
  it('B sees the system defaults and its own, not A’s; cannot change A’s (404)', async () => {
    const code = `a_${uid()}`;
    const cls = await api.call('POST', '/api/v1/db/classifications', { token: ownerA.token, body: { code, name: 'A only' } });
    expect(cls.status).toBe(201);
    const rule = await api.call('POST', `/api/v1/db/classifications/${cls.body.data.id}/rules`, { token: ownerA.token, body: { name: 'r', expression: { fn: 'is_superuser' } } });
    expect(rule.status).toBe(201);
    const seen = (await api.call('GET', '/api/v1/db/classifications', { token: attackerB.token })).body.data.classifications.map((c: { code: string }) => c.code);
    expect(seen).toContain('super_admin');
    expect(seen).not.toContain(code);
    expectError(await api.call('GET', `/api/v1/db/classifications/${cls.body.data.id}`, { token: attackerB.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('PUT', `/api/v1/db/classifications/${cls.body.data.id}`, { token: attackerB.token, body: { name: 'x' } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('DELETE', `/api/v1/db/classifications/${cls.body.data.id}`, { token: attackerB.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', `/api/v1/db/classifications/${cls.body.data.id}/rules`, { token: attackerB.token, body: { name: 'x', expression: { fn: 'is_locked' } } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', `/api/v1/db/rules/${rule.body.data.id}`, { token: attackerB.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('PUT', `/api/v1/db/rules/${rule.body.data.id}`, { token: attackerB.token, body: { is_active: false } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('DELETE', `/api/v1/db/rules/${rule.body.data.id}`, { token: attackerB.token }), 404, 'RESOURCE_NOT_FOUND');
    // System defaults are everyone's to read and only an admin's to change.
    const sys = (await api.call('GET', '/api/v1/db/classifications', { token: attackerB.token })).body.data.classifications.find((c: { code: string }) => c.code === 'super_admin');
    expect((await api.call('PUT', `/api/v1/db/classifications/${sys.id}`, { token: attackerB.token, body: { is_active: false } })).status).toBe(403);
    expect((await api.call('GET', `/api/v1/db/classifications/${cls.body.data.id}`, { token: admin })).status).toBe(200);
    expect((await api.call('GET', `/api/v1/db/rules/${rule.body.data.id}`, { token: ownerA.token })).status).toBe(200);
    // A's batch is A's.
    const batch = await eventually(async () => {
      const res = await api.call('POST', '/api/v1/db/batches', { token: ownerA.token, body: { instance_ids: [instA] } });
      return res.status !== 409 && res;
    }, 90_000, 'a batch to start');
    expect(batch.status).toBe(202);
    const batchId = batch.body.data.operation.id;
    await waitOperation(api, batchId, ownerA.token);
    expectError(await api.call('GET', `/api/v1/db/batches/${encodeURIComponent(batchId)}`, { token: attackerB.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', `/api/v1/db/batches/${encodeURIComponent(batchId)}/matches`, { token: attackerB.token }), 404, 'RESOURCE_NOT_FOUND');
    expectSeedError(await api.call('GET', `/api/batches/${encodeURIComponent(batchId)}`, { token: attackerB.token }), 404);
    expect((await api.call('GET', '/api/batches?per_page=100', { token: attackerB.token })).body.data.map((b: { id: string }) => b.id)).not.toContain(batchId);
    expect((await api.call('GET', `/api/batches/${encodeURIComponent(batchId)}`, { token: ownerA.token })).body.status).toBe('success');
    // B's batch over A's instance is refused.
    expect((await api.call('POST', '/api/v1/db/batches', { token: attackerB.token, body: { instance_ids: [instA] } })).status).toBe(404);
  });
});

describe('the ad-hoc connection test refuses non-public targets for non-admins', () => {
  it('loopback, private, link-local and names resolving to them: 422 on host, nothing reached', async () => {
    const before = fake.startups;
    for (const host of ['127.0.0.1', 'localhost', '10.1.2.3', '192.168.1.1', '169.254.169.254', '::1', 'fe80::1', '0.0.0.0']) {
      for (const path of ['/api/v1/db/test-connection', '/api/test-connection']) {
        const res = await api.call('POST', path, { token: attackerB.token, body: { db_type: 'postgresql', host, port: fake.port, username: 'x', password: 'y', ssl: 'disable', timeout: 2 } });
        expect({ host, path, status: res.status }).toEqual({ host, path, status: 422 });
        expect(JSON.stringify(res.body)).toMatch(/host/);
      }
    }
    expect(fake.startups).toBe(before);
    // An admin may test a loopback server (the suite's own PostgreSQL and MariaDB live there).
    const asAdmin = await api.call('POST', '/api/v1/db/test-connection', { token: admin, body: { db_type: 'postgresql', host: '127.0.0.1', port: fake.port, username: 'x', password: 'y', ssl: 'disable', timeout: 2 } });
    expect(asAdmin.status).toBe(200);
    expect(fake.startups).toBeGreaterThan(before);
  });
});
