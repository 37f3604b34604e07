import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import AdmZip from 'adm-zip';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { startTestApi, expectError, eventually, type TestApi } from '../support/api';
import { addHost, createInstance, finished } from '../support/compute';
import { addCredential, addInstance, pgAdmin, pgServer, waitOperation } from '../support/dbsync';
import { spawnWorker, type Spawned } from '../support/processes';

let api: TestApi;
let admin: string;
beforeAll(async () => { api = await startTestApi(); admin = await api.admin(); });
afterAll(async () => { await api.close(); });

const sha256 = (buf: Buffer) => crypto.createHash('sha256').update(buf).digest('hex');

async function waitForStep(t: TestApi, token: string, id: string, step: string) {
  for (let i = 0; i < 200; i++) {
    const events = await t.call('GET', `/api/v1/operations/${id}/events`, { token });
    if (events.body.data.events.some((e: { step: string }) => e.step === step)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`operation ${id} never reached step ${step}`);
}

describe('deleting a user (seed 004 delete_user as a durable operation)', () => {
  it('soft-deletes with a checksummed zip of everything that was theirs', async () => {
    const u = await api.createUser('user');
    await api.call('POST', '/api/v1/tokens', { token: u.token, body: { name: 'laptop' } });
    const res = await api.call('DELETE', `/api/v1/users/${u.id}?backup_data=true&reason=closed%20account`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.body.message).toBe('User deleted');
    const d = res.body.data;
    expect(d).toMatchObject({ deleted_user: u.username, deletion_type: 'soft_delete', notification_sent: false, reason: 'closed account', operation: { status: 'succeeded' } });
    expect(res.headers.get('location')).toBe(`/api/v1/operations/${d.operation.id}`);

    const file = path.join(process.env.IDCFLOW_DATA_DIR!, d.backup_file);
    const bytes = fs.readFileSync(file);
    expect(sha256(bytes)).toBe(d.backup_sha256);
    expect(fs.readFileSync(`${file}.sha256`, 'utf8')).toContain(d.backup_sha256);
    const zip = new AdmZip(bytes);
    const names = zip.getEntries().map((e) => e.entryName).sort();
    expect(names).toEqual(['api_tokens.json', 'audit_log.json', 'compute_quota.json', 'console_sessions.json', 'instances.json', 'manifest.json', 'oauth.json', 'operations.json', 'sessions.json', 'user.json', 'user_data.json']);
    const userJson = JSON.parse(zip.readAsText('user.json'));
    expect(userJson).toMatchObject({ id: u.id, username: u.username });
    expect(zip.readAsText('user.json')).not.toMatch(/argon2|password_hash/);
    expect(JSON.parse(zip.readAsText('api_tokens.json')).map((t: { name: string }) => t.name)).toEqual(['laptop']);
    expect(zip.readAsText('api_tokens.json')).not.toContain('token_hash');
    expect(JSON.parse(zip.readAsText('audit_log.json')).some((e: { action: string }) => e.action === 'login')).toBe(true);

    expectError(await api.call('GET', `/api/v1/users/${u.id}`, { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', '/api/v1/auth/me', { token: u.token }), 401, 'INVALID_CREDENTIALS');
    await expect(api.login(u.username, u.password)).rejects.toThrow();
    const row = await api.deps.knex('users').where({ id: u.id }).first();
    expect(row).toMatchObject({ is_active: false, deleted_reason: 'closed account' });
    expect(row.deleted_at).toBeTruthy();

    const download = await fetch(`${api.url}/api/v1/user-backups/${d.backup_id}/download`, { headers: { authorization: `Bearer ${admin}` } });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/zip');
    const downloaded = Buffer.from(await download.arrayBuffer());
    expect(sha256(downloaded)).toBe(download.headers.get('x-checksum-sha256'));
    expect(sha256(downloaded)).toBe(d.backup_sha256);
    const listed = await api.call('GET', `/api/v1/user-backups?user_id=${u.id}`, { token: admin });
    expect(listed.body.data.backups).toEqual([expect.objectContaining({ id: d.backup_id, sha256: d.backup_sha256, username: u.username })]);
  });

  it('hard-deletes permanently, and without a backup when asked', async () => {
    const u = await api.createUser('viewer');
    const res = await api.call('DELETE', `/api/v1/users/${u.id}?permanent=true&backup_data=false`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ deletion_type: 'hard_delete', backup_file: null });
    expect(await api.deps.knex('users').where({ id: u.id }).first()).toBeUndefined();
  });

  it('is for admins; missing, self and bad options are refused', async () => {
    const u = await api.createUser('manager');
    const victim = await api.createUser('user');
    expectError(await api.call('DELETE', `/api/v1/users/${victim.id}`, { token: u.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('DELETE', `/api/v1/users/${victim.id}`), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('DELETE', '/api/v1/users/999999', { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('DELETE', `/api/v1/users/${victim.id}?permanent=maybe`, { token: admin }), 422, 'VALIDATION_ERROR');
    const me = await api.call('GET', '/api/v1/auth/me', { token: admin });
    expectError(await api.call('DELETE', `/api/v1/users/${me.body.data.id}`, { token: admin }), 409, 'CONFLICT');
    expect((await api.call('GET', `/api/v1/users/${victim.id}`, { token: admin })).status).toBe(200);
  });

  it('answers 202 at once with Prefer: respond-async; an Idempotency-Key returns the same operation', async () => {
    const u = await api.createUser('user');
    const headers = { prefer: 'respond-async', 'idempotency-key': `del-${u.id}` };
    const first = await api.call('DELETE', `/api/v1/users/${u.id}`, { token: admin, headers });
    expect(first.status).toBe(202);
    const op = first.body.data.operation;
    expect(op).toMatchObject({ type: 'user.delete', resource: { type: 'user', id: String(u.id), name: u.username }, links: { self: `/api/v1/operations/${op.id}` } });
    expect(['pending', 'running', 'succeeded']).toContain(op.status);
    const again = await api.call('DELETE', `/api/v1/users/${u.id}`, { token: admin, headers });
    expect(again.body.data.operation.id).toBe(op.id);
    const waited = await api.call('GET', `/api/v1/operations/${op.id}/wait?timeout=30`, { token: admin });
    expect(waited.body.data).toMatchObject({ id: op.id, status: 'succeeded', progress: { percent: 100 } });
    expect(waited.body.data.result.deleted_user).toBe(u.username);
    const replay = await api.call('DELETE', `/api/v1/users/${u.id}`, { token: admin, headers: { 'idempotency-key': `del-${u.id}` } });
    expect(replay.status).toBe(200);
    expect(replay.body.data.operation.id).toBe(op.id);
    expect(await api.deps.knex('operations').where({ idempotency_key: `del-${u.id}` }).count('* as c')).toEqual([{ c: 1 }]);
    expectError(await api.call('DELETE', `/api/v1/users/${u.id}?permanent=true`, { token: admin, headers }), 409, 'CONFLICT');
    const events = await api.call('GET', `/api/v1/operations/${op.id}/events`, { token: admin });
    expect(events.body.data.events.map((e: { step: string }) => e.step)).toEqual(['started', 'check', 'backup', 'delete', 'succeeded']);
  });
});

describe('no secret in a workflow history', () => {
  /** Every string of a history, payloads decoded (inputs, results, heartbeats, failures, memos, search attributes, headers). */
  function historyText(history: unknown): string {
    const texts: string[] = [];
    const walk = (v: unknown, key?: string) => {
      if (v instanceof Uint8Array) texts.push(Buffer.from(v).toString('utf8'));
      else if (typeof v === 'string') {
        texts.push(v);
        if (key === 'data') texts.push(Buffer.from(v, 'base64').toString('utf8'));
      } else if (Array.isArray(v)) v.forEach((x) => walk(x));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
    };
    walk(history);
    return texts.join('\n');
  }

  it('operations that handle instance passwords, host credentials and database credentials: only sealed copies travel', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const tag = crypto.randomBytes(6).toString('hex');
    const secrets = {
      hostPassword: `host-pw-${tag}`, hostKey: `-----BEGIN OPENSSH PRIVATE KEY-----${tag}`, instancePassword: `inst-pw-${tag}`,
      newInstancePassword: `inst-pw2-${tag}`, dbPassword: `db-pw-${tag}`, adhocPassword: `adhoc-pw-${tag}`,
    };
    const ids: string[] = [];
    // Compute: a host with credentials; an instance created with a password, its password changed, the host scanned and read.
    const host = await addHost(api, { username: 'root', password: secrets.hostPassword, private_key: secrets.hostKey });
    const { op: created } = await createInstance(api, admin, { host_id: host.id, password: secrets.instancePassword });
    expect(created.status).toBe('succeeded');
    const instanceId = (await api.deps.knex('instances').where({ uuid: created.resource.id }).first('id')).id;
    const changed = await finished(api, admin, await api.call('POST', `/api/v1/instances/${instanceId}/password`, { token: admin, body: { password: secrets.newInstancePassword } }));
    const scanned = await finished(api, admin, await api.call('POST', `/api/v1/hosts/${host.id}/scan`, { token: admin }));
    expect([changed.status, scanned.status]).toEqual(['succeeded', 'succeeded']);
    expect((await api.call('GET', `/api/v1/hosts/${host.id}/status`, { token: admin })).status).toBe(200);
    ids.push(created.id, changed.id, scanned.id);
    // Database credentials: a sync session (and its per-instance child) with a stored credential, and an ad-hoc connection test.
    const role = `hist_${tag}`;
    await pgAdmin((c) => c.query(`CREATE ROLE ${role} LOGIN PASSWORD '${secrets.dbPassword}'`));
    const s = pgServer();
    const dbInstance = await addInstance(api, { db_type: 'postgresql', host: s.host, port: s.port, database_name: s.database, credential_id: await addCredential(api, role, secrets.dbPassword), ssl: 'disable' });
    const session = await api.call('POST', '/api/v1/db/sessions', { token: admin, body: { instance_ids: [dbInstance.id] } });
    const sessionId: string = session.body.data.operation.id;
    expect((await waitOperation(api, sessionId, admin)).status).toBe('succeeded');
    ids.push(sessionId, `${sessionId}--i${dbInstance.id}`);
    const adhoc = await api.call('POST', '/api/v1/db/test-connection', { token: admin, body: { db_type: 'postgresql', host: s.host, port: s.port, username: role, password: secrets.adhocPassword, database: s.database, ssl: 'disable' } });
    expect(adhoc.body.data).toMatchObject({ success: false, error_type: 'auth' });

    // Every workflow started since (other files' too): at least ours, an engine read and a connection test among them.
    const histories = await eventually(async () => {
      const found: Array<{ id: string; type: string; text: string }> = [];
      for await (const wf of api.deps.temporal.workflow.list({ query: `StartTime >= "${since}"` })) {
        found.push({ id: wf.workflowId, type: wf.type, text: historyText(await api.deps.temporal.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory()) });
      }
      const types = new Set(found.map((h) => h.type));
      return ids.every((id) => found.some((h) => h.id === id)) && types.has('engineReadWorkflow') && types.has('testConnectionWorkflow') && found;
    }, 30_000, 'the workflows in visibility');
    const all = histories.map((h) => h.text).join('\n');
    for (const [name, secret] of Object.entries(secrets)) {
      expect({ name, plain: all.includes(secret), base64: all.includes(Buffer.from(secret).toString('base64')) }).toEqual({ name, plain: false, base64: false });
    }
    // What does travel: sealed copies of the instance passwords and of the ad-hoc password, and nothing of host or stored
    // database credentials (activities read those from the database by id).
    const text = (id: string) => histories.find((h) => h.id === id)!.text;
    expect(text(created.id)).toContain('passwordSealed');
    expect(text(changed.id)).toContain('passwordSealed');
    expect(histories.filter((h) => h.type === 'testConnectionWorkflow').map((h) => h.text).join('\n')).toContain('sealedPassword');
    expect(text(scanned.id)).not.toMatch(/sealed/i);
    expect(text(sessionId) + text(`${sessionId}--i${dbInstance.id}`)).not.toMatch(/sealed|password/i);
  });
});

describe('operations endpoints', () => {
  it('lists with filters; users see only their own', async () => {
    const all = await api.call('GET', '/api/v1/operations?type=user.delete&status=succeeded&size=5', { token: admin });
    expect(all.status).toBe(200);
    expect(all.body.data.operations.length).toBeGreaterThan(0);
    expect(all.body.data.operations.every((o: { type: string; status: string }) => o.type === 'user.delete' && o.status === 'succeeded')).toBe(true);
    expect(all.body.data.pagination.size).toBe(5);
    const someone = all.body.data.operations[0];
    const u = await api.createUser('user');
    const mine = await api.call('GET', '/api/v1/operations', { token: u.token });
    expect(mine.body.data.operations).toEqual([]);
    for (const suffix of ['', '/events', '/wait?timeout=0']) {
      expectError(await api.call('GET', `/api/v1/operations/${someone.id}${suffix}`, { token: u.token }), 404, 'RESOURCE_NOT_FOUND');
    }
    expectError(await api.call('POST', `/api/v1/operations/${someone.id}/cancel`, { token: u.token }), 404, 'RESOURCE_NOT_FOUND');
    expect((await api.call('GET', `/api/v1/operations/${someone.id}`, { token: admin })).body.data.id).toBe(someone.id);
  });

  it('refuses bad filters, unknown ids, no token, and cancelling a finished operation', async () => {
    expectError(await api.call('GET', '/api/v1/operations?status=exploded', { token: admin }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('GET', '/api/v1/operations/nope/wait?timeout=600', { token: admin }), 422, 'VALIDATION_ERROR');
    for (const suffix of ['', '/events', '/wait?timeout=0']) {
      expectError(await api.call('GET', `/api/v1/operations/no-such-op${suffix}`, { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    }
    expectError(await api.call('POST', '/api/v1/operations/no-such-op/cancel', { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', '/api/v1/operations'), 401, 'INVALID_CREDENTIALS');
    const done = (await api.call('GET', '/api/v1/operations?status=succeeded&size=1', { token: admin })).body.data.operations[0];
    expectError(await api.call('POST', `/api/v1/operations/${done.id}/cancel`, { token: admin }), 409, 'CONFLICT');
  });
});

describe('with a slow worker', () => {
  let slow: TestApi;
  let worker: Spawned;
  beforeAll(async () => {
    worker = await spawnWorker('slow-q', { IDCFLOW_FAULT_DELAY: 'deleteUserRecord:5000' });
    slow = await startTestApi({ IDCFLOW_TASK_QUEUE: 'slow-q' });
  });
  afterAll(async () => { await slow.close(); await worker.stop(); });

  it('a second operation on the same user is a 409 naming the running one', async () => {
    const token = await slow.admin();
    const u = await slow.createUser('user');
    const first = await slow.call('DELETE', `/api/v1/users/${u.id}`, { token, headers: { prefer: 'respond-async' } });
    const second = await slow.call('DELETE', `/api/v1/users/${u.id}?permanent=true`, { token, headers: { prefer: 'respond-async' } });
    expectError(second, 409, 'CONFLICT');
    expect(second.body.error.details.operation_id).toBe(first.body.data.operation.id);
    const live = await slow.call('GET', `/api/v1/operations/${first.body.data.operation.id}`, { token });
    expect(['pending', 'running']).toContain(live.body.data.status);
    const end = await slow.call('GET', `/api/v1/operations/${first.body.data.operation.id}/wait?timeout=60`, { token });
    expect(end.body.data.status).toBe('succeeded');
  });

  it('an operation whose workflow an operator terminated shows as failed, not running forever', async () => {
    const token = await slow.admin();
    const u = await slow.createUser('user');
    const started = await slow.call('DELETE', `/api/v1/users/${u.id}`, { token, headers: { prefer: 'respond-async' } });
    const id = started.body.data.operation.id;
    await waitForStep(slow, token, id, 'delete');
    await slow.deps.temporal.workflow.getHandle(id).terminate('operator stopped it');
    const op = await slow.call('GET', `/api/v1/operations/${id}`, { token });
    expect(op.body.data).toMatchObject({ status: 'failed', error: { code: 'TERMINATED' } });
    expect(op.body.data.finished_at).toBeTruthy();
    expect((await slow.call('GET', '/api/v1/operations?status=failed&type=user.delete', { token })).body.data.operations.map((o: { id: string }) => o.id)).toContain(id);
  });

  it('cancel undoes the steps done so far: the backup goes, the user stays', async () => {
    const token = await slow.admin();
    const u = await slow.createUser('user');
    const started = await slow.call('DELETE', `/api/v1/users/${u.id}?backup_data=true`, { token, headers: { prefer: 'respond-async' } });
    const id = started.body.data.operation.id;
    await waitForStep(slow, token, id, 'delete');
    const live = await slow.call('GET', `/api/v1/operations/${id}`, { token });
    expect(live.body.data.progress.step).toBe('delete');
    const backup = await slow.deps.knex('user_backups').where({ operation_id: id }).first();
    expect(backup).toBeDefined();
    const cancel = await slow.call('POST', `/api/v1/operations/${id}/cancel`, { token });
    expect(cancel.status).toBe(202);
    const end = await slow.call('GET', `/api/v1/operations/${id}/wait?timeout=60`, { token });
    expect(end.body.data).toMatchObject({ status: 'canceled', error: { code: 'CANCELED' } });
    expect(await slow.deps.knex('user_backups').where({ operation_id: id }).first()).toBeUndefined();
    expect(fs.existsSync(path.join(process.env.IDCFLOW_DATA_DIR!, backup.file_path))).toBe(false);
    expect((await slow.call('GET', `/api/v1/users/${u.id}`, { token })).body.data.is_active).toBe(true);
    const steps = (await slow.call('GET', `/api/v1/operations/${id}/events`, { token })).body.data.events.map((e: { step: string }) => e.step);
    expect(steps).toEqual(['started', 'check', 'backup', 'delete', 'undo:backup', 'canceled']);
  });
});

describe('notifying the deleted user', () => {
  it('sends exactly one email through SMTP', async () => {
    const received: Array<{ to: string; body: string }> = [];
    const smtp = new SMTPServer({
      authOptional: true, disabledCommands: ['STARTTLS'],
      onData(stream, session, callback) {
        let body = '';
        stream.on('data', (c: Buffer) => { body += c.toString(); });
        stream.on('end', () => { received.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), body }); callback(); });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
    const port = (smtp.server.address() as AddressInfo).port;
    const worker = await spawnWorker('mail-q', { IDCFLOW_SMTP_URL: `smtp://127.0.0.1:${port}`, IDCFLOW_MAIL_FROM: 'idcflow <ops@example.test>' });
    const mailApi = await startTestApi({ IDCFLOW_TASK_QUEUE: 'mail-q' });
    try {
      const token = await mailApi.admin();
      const u = await mailApi.createUser('user');
      const res = await mailApi.call('DELETE', `/api/v1/users/${u.id}?notify_user=true&reason=requested`, { token });
      expect(res.body.data.notification_sent).toBe(true);
      expect(received).toHaveLength(1);
      expect(received[0].to).toBe(`${u.username}@example.test`);
      expect(received[0].body).toContain('Subject: Your account has been deleted');
      expect(received[0].body).toContain('reason: requested');
    } finally {
      await mailApi.close();
      await worker.stop();
      await new Promise<void>((r) => smtp.close(() => r()));
    }
  });

  it('reports notification_sent false when SMTP is not configured', async () => {
    const u = await api.createUser('user');
    const res = await api.call('DELETE', `/api/v1/users/${u.id}?notify_user=true`, { token: admin });
    expect(res.body.data.notification_sent).toBe(false);
    expect(await api.deps.knex('mail_outbox').where({ idempotency_key: `${res.body.data.operation.id}:notify` }).first()).toMatchObject({ status: 'skipped' });
  });
});
