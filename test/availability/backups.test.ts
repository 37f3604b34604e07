import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import * as tar from 'tar';
import { Client, Connection } from '@temporalio/client';
import { temporalConnectionOptions } from '../../shared/platform/temporal-connection';
import { eventually, expectError } from '../support/api';
import { pgToolsMissing, startIsolatedPlatform, tableChecksums, type IsolatedPlatform } from '../support/availability';
import { unsafeMemberPath } from '../../shared/availability/backups';
import { describeIfRunnable } from '../support/environment';

const skip = pgToolsMissing();

const B = '/api/v1/backup';
const sha256 = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');

describe('archive member paths', () => {
  it('refuses absolute paths, ".." and names outside the archive\'s folders, without rewriting them', () => {
    expect(unsafeMemberPath('files/backups/users/a.zip')).toBeNull();
    expect(unsafeMemberPath('manifest.json')).toBeNull();
    expect(unsafeMemberPath('files/../../etc/passwd')).toMatch(/\.\./);
    expect(unsafeMemberPath('/etc/passwd')).toMatch(/absolute/);
    expect(unsafeMemberPath('C:/x')).toMatch(/absolute/);
    expect(unsafeMemberPath('files\\..\\x')).toMatch(/backslash/);
    expect(unsafeMemberPath('other/x')).toMatch(/outside/);
  });
});

describeIfRunnable(skip, 'platform backups (seed 003 /backup/*) on a platform of their own', () => {
  let p: IsolatedPlatform;
  let token: string;
  beforeAll(async () => {
    p = await startIsolatedPlatform('avail', { IDCFLOW_BACKUP_KEEP_COUNT: '3', IDCFLOW_BACKUP_KEEP_DAYS: '30' });
    token = await p.admin();
  }, 300_000);
  afterAll(async () => { await p?.stop(); });

  async function waitOp(id: string, timeoutMs = 120_000) {
    // Read the row directly: while a restore holds its locks, authentication (users) waits, the operations table does not.
    return eventually(async () => {
      const op = await p.knex('operations').where({ id }).first();
      return op && ['succeeded', 'failed', 'canceled'].includes(op.status) ? op : null;
    }, timeoutMs, `operation ${id}`);
  }

  async function backup(type = 'full', name = `b-${crypto.randomBytes(3).toString('hex')}`) {
    const res = await p.call('POST', `${B}/backups/create?name=${encodeURIComponent(name)}&backup_type=${type}`, { token });
    expect(res.status).toBe(202);
    expect(res.body.data).toMatchObject({ name, type, backup_id: expect.stringMatching(/^backup_\d{8}_\d{6}_[0-9a-f]{6}$/), operation: { type: 'availability.backup' } });
    const op = await waitOp(res.body.data.operation.id);
    expect({ status: op.status, error: op.error }).toEqual({ status: 'succeeded', error: null });
    return { id: res.body.data.backup_id as string, op };
  }

  async function restore(id: string, query = '') {
    const res = await p.call('POST', `${B}/backups/${id}/restore${query}`, { token, headers: { prefer: 'respond-async' } });
    expect(res.status).toBe(202);
    expect(res.body.data).toMatchObject({ backup_id: id, operation: { type: 'availability.restore' } });
    return res.body.data.operation.id as string;
  }

  /** The tables' checksums with the audit trail apart: a refused restore still records who asked for it, and nothing else. */
  async function untouchedSince(before: { sums: Record<string, string>; lastAudit: number }) {
    const apart = (sums: Record<string, string>) => Object.entries(sums).filter(([t]) => t !== 'audit_log');
    expect(apart(await tableChecksums(p.knex))).toEqual(apart(before.sums));
    expect((await p.knex('audit_log').where('id', '>', before.lastAudit)).map((a) => a.action).filter((a) => a !== 'backup_restore')).toEqual([]);
  }
  const snapshot = async () => ({ sums: await tableChecksums(p.knex), lastAudit: Number((await p.knex('audit_log').max('id as id').first())!.id) });

  const userFiles = () => path.join(p.dataDir, 'backups', 'users');

  /** Changes rows in several tables, through the API and behind it. */
  async function changeData() {
    await p.createUser('viewer');
    await p.knex('users').where({ username: 'admin' }).update({ full_name: 'Changed after the backup' });
    await p.knex('audit_log').where('id', (await p.knex('audit_log').min('id as id').first())!.id).delete();
  }

  it('backup → change data → restore: every table and the user-backup files are as they were at the backup', async () => {
    fs.mkdirSync(userFiles(), { recursive: true });
    fs.writeFileSync(path.join(userFiles(), 'alice_1.zip'), 'alice backup, original');
    await p.createUser('user');
    const { id } = await backup('full');
    const atBackup = await tableChecksums(p.knex);
    expect(Object.keys(atBackup)).toEqual(expect.arrayContaining(['users', 'audit_log', 'knex_migrations', 'hosts', 'db_instances']));

    const listed = await p.call('GET', `${B}/backups`, { token });
    expect(listed.status).toBe(200);
    const row = listed.body.data.backups.find((b: { id: string }) => b.id === id);
    expect(row).toMatchObject({ type: 'full', status: 'completed', checksum: expect.stringMatching(/^[0-9a-f]{64}$/), checksum_algorithm: 'sha256', size_bytes: expect.any(Number) });
    const one = await p.call('GET', `${B}/backups/${id}`, { token });
    expect(one.body.data.parts.map((x: { path: string }) => x.path)).toEqual(expect.arrayContaining(['database.dump', 'files/backups/users/alice_1.zip', 'config/settings.json']));

    await changeData();
    fs.writeFileSync(path.join(userFiles(), 'alice_1.zip'), 'alice backup, overwritten');
    expect(await tableChecksums(p.knex)).not.toEqual(atBackup);

    const op = await waitOp(await restore(id));
    expect({ status: op.status, error: op.error }).toEqual({ status: 'succeeded', error: null });
    expect(op.result).toMatchObject({ backup_id: id, database_restored: true, files_restored: 2 });
    expect(await tableChecksums(p.knex)).toEqual(atBackup);
    expect(fs.readFileSync(path.join(userFiles(), 'alice_1.zip'), 'utf8')).toBe('alice backup, original');
    expect(fs.existsSync(path.join(p.dataDir, 'restored-config', id, 'settings.json'))).toBe(true);
    expect(await p.knex('restore_maintenance')).toEqual([]);
    const steps = (await p.knex('operation_events').where({ operation_id: op.id }).orderBy('id')).map((e) => e.step);
    expect(steps).toEqual(['started', 'verify', 'maintenance', 'database', 'files', 'end-maintenance', 'cleanup', 'succeeded']);
    // The restore's own record and the backup catalogue outlive the restore.
    expect((await p.call('GET', `/api/v1/operations/${op.id}`, { token })).body.data.status).toBe('succeeded');
    expect((await p.call('GET', `${B}/backups/${id}`, { token })).body.data.status).toBe('completed');
  });

  it('files restore into target_dir, and through a link planted at the destination, stay inside the target', async () => {
    fs.mkdirSync(userFiles(), { recursive: true });
    fs.writeFileSync(path.join(userFiles(), 'bob_1.zip'), 'bob backup, original');
    const { id } = await backup('files');
    const into = await waitOp(await restore(id, '?target_dir=restored-here'));
    expect(into.status).toBe('succeeded');
    expect(fs.readFileSync(path.join(p.dataDir, 'restored-here', 'backups', 'users', 'bob_1.zip'), 'utf8')).toBe('bob backup, original');

    // A link where a restored file goes, pointing outside: the restore replaces the link, it does not write through it.
    const outside = path.join(path.dirname(p.dataDir), `outside-${crypto.randomBytes(3).toString('hex')}.txt`);
    fs.writeFileSync(outside, 'not yours');
    fs.rmSync(path.join(userFiles(), 'bob_1.zip'));
    fs.symlinkSync(outside, path.join(userFiles(), 'bob_1.zip'));
    expect((await waitOp(await restore(id))).status).toBe('succeeded');
    expect(fs.readFileSync(outside, 'utf8')).toBe('not yours');
    expect(fs.lstatSync(path.join(userFiles(), 'bob_1.zip')).isFile()).toBe(true);
    expect(fs.readFileSync(path.join(userFiles(), 'bob_1.zip'), 'utf8')).toBe('bob backup, original');

    // A linked folder inside the target that leads out is refused, and nothing is written through it.
    const outDir = fs.mkdtempSync(path.join(path.dirname(p.dataDir), 'outdir-'));
    fs.rmSync(path.join(p.dataDir, 'restored-link'), { recursive: true, force: true });
    fs.symlinkSync(outDir, path.join(p.dataDir, 'restored-link'));
    const through = await waitOp(await restore(id, '?target_dir=restored-link/x'));
    expect(through.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { reason: 'unsafe_paths' } });
    expect(fs.readdirSync(outDir)).toEqual([]);
  });

  it('downloads the archive as a gzip stream whose SHA-256 is the listed checksum; the master key is not inside', async () => {
    const { id } = await backup('config');
    const res = await fetch(`${p.url}${B}/backups/${id}/download`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    const bytes = Buffer.from(await res.arrayBuffer());
    const listed = (await p.call('GET', `${B}/backups/${id}`, { token })).body.data;
    expect(sha256(bytes)).toBe(listed.checksum);
    expect(bytes.length).toBe(listed.size_bytes);
    const plain = zlib.gunzipSync(bytes);
    const key = process.env.IDCFLOW_MASTER_KEY!;
    for (const form of [key, Buffer.from(key, 'hex').toString('base64'), process.env.IDCFLOW_JWT_SECRET!]) expect(plain.includes(form)).toBe(false);
    expect(plain.toString('latin1')).toContain('"master_key_id"');
  });

  it('a corrupted archive is refused before anything is touched', async () => {
    const { id } = await backup('full');
    await changeData();
    const before = await snapshot();
    const file = (await p.knex('platform_backups').where({ id }).first()).file_path;
    const bytes = fs.readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    fs.writeFileSync(file, bytes);

    const op = await waitOp(await restore(id));
    expect(op.status).toBe('failed');
    expect(op.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { reason: 'checksum_mismatch' } });
    await untouchedSince(before);
    const steps = (await p.knex('operation_events').where({ operation_id: op.id }).orderBy('id')).map((e) => e.step);
    expect(steps).not.toContain('maintenance');
    expect(steps).not.toContain('database');
  });

  it('a database backup from another schema version is refused (a migration applied since)', async () => {
    const { id } = await backup('database');
    await p.knex('knex_migrations').insert({ name: '999_future', batch: 99, migration_time: new Date() });
    try {
      const before = await snapshot();
      const op = await waitOp(await restore(id));
      expect(op.error).toMatchObject({ code: 'CONFLICT', details: { reason: 'schema_version_differs', added: ['999_future'], missing: [] } });
      await untouchedSince(before);
    } finally {
      await p.knex('knex_migrations').where({ name: '999_future' }).delete();
    }
  });

  /** A completed backup whose archive is `entries` (name, content, type), recorded with the archive's true SHA-256. */
  async function plantArchive(entries: Array<{ path: string; body?: string; type?: 'File' | 'SymbolicLink'; linkpath?: string }>, manifestParts?: unknown[]) {
    const id = `backup_20260101_000000_${crypto.randomBytes(3).toString('hex')}`;
    const parts = manifestParts ?? entries.filter((e) => (e.type ?? 'File') === 'File').map((e) => ({ path: e.path, size: Buffer.byteLength(e.body ?? ''), sha256: sha256(e.body ?? '') }));
    const manifest = JSON.stringify({ format: 'idcflow-platform-backup/1', backup_id: id, name: 'crafted', type: 'files', created_at: new Date().toISOString(), master_key_id: 'x', postgres: null, parts });
    const blocks: Buffer[] = [];
    for (const e of [{ path: 'manifest.json', body: manifest }, ...entries]) {
      const body = Buffer.from(e.body ?? '');
      const type = 'type' in e && e.type ? e.type : 'File';
      const header = new tar.Header({ path: e.path, mode: 0o644, size: type === 'File' ? body.length : 0, type, linkpath: 'linkpath' in e ? e.linkpath : undefined, mtime: new Date(), uid: 0, gid: 0 });
      header.encode();
      blocks.push(header.block!);
      if (type === 'File') blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
    blocks.push(Buffer.alloc(1024));
    const archive = zlib.gzipSync(Buffer.concat(blocks));
    const dir = path.join(p.dataDir, 'platform-backups');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${id}_files.tar.gz`);
    fs.writeFileSync(file, archive);
    await p.knex('platform_backups').insert({ id, name: 'crafted', type: 'files', status: 'completed', file_path: file, size_bytes: archive.length, sha256: sha256(archive), completed_at: new Date() });
    return id;
  }

  it('a crafted archive with ../ paths, or with a link, is refused and writes nothing', async () => {
    const before = await snapshot();
    const escape = await plantArchive([{ path: 'files/backups/ok.txt', body: 'fine' }, { path: 'files/../../../escaped.txt', body: 'owned' }]);
    const op = await waitOp(await restore(escape));
    expect(op.status).toBe('failed');
    expect(op.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { reason: 'unsafe_paths' } });
    expect(op.error.message).toContain('..');
    for (const where of [p.dataDir, path.dirname(p.dataDir), path.dirname(path.dirname(p.dataDir))]) expect(fs.existsSync(path.join(where, 'escaped.txt'))).toBe(false);
    expect(fs.existsSync(path.join(p.dataDir, 'backups', 'ok.txt'))).toBe(false);

    const absolute = await plantArchive([{ path: '/tmp/idcflow-absolute.txt', body: 'owned' }]);
    expect((await waitOp(await restore(absolute))).error).toMatchObject({ code: 'VALIDATION_ERROR', details: { reason: 'unsafe_paths' } });
    expect(fs.existsSync('/tmp/idcflow-absolute.txt')).toBe(false);

    const link = await plantArchive([{ path: 'files/backups/link', type: 'SymbolicLink', linkpath: '/etc' }, { path: 'files/backups/link/passwd', body: 'owned' }]);
    const linkOp = await waitOp(await restore(link));
    expect(linkOp.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { reason: 'unsafe_paths' } });
    expect(linkOp.error.message).toContain('SymbolicLink');
    expect(fs.existsSync(path.join(p.dataDir, 'backups', 'link'))).toBe(false);

    // A part that differs from its manifest entry (the archive re-packed by someone) is refused too.
    const tampered = await plantArchive([{ path: 'files/backups/a.txt', body: 'tampered' }], [{ path: 'files/backups/a.txt', size: 8, sha256: sha256('original') }]);
    expect((await waitOp(await restore(tampered))).error).toMatchObject({ code: 'VALIDATION_ERROR', details: { reason: 'checksum_mismatch' } });
    await untouchedSince(before);
  });

  it('crash: the worker killed in the middle of pg_restore; the operation finishes and the database is whole', async () => {
    const { id } = await backup('database');
    const atBackup = await tableChecksums(p.knex);
    await changeData();
    const changed = await tableChecksums(p.knex);

    // Hold pg_restore half-way: a reader's lock on one table makes its DROP wait inside the restore's transaction.
    const holder = await p.knex.transaction();
    await holder.raw('LOCK TABLE audit_log IN ACCESS SHARE MODE');
    const opId = await restore(id);
    const waiting = async () => (await p.knex.raw("SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'idcflow-restore:%' AND wait_event_type = 'Lock'")).rows.map((r: { pid: number }) => r.pid);
    const [firstPid] = await eventually(async () => { const w = await waiting(); return w.length ? w : null; }, 60_000, 'pg_restore waiting half-way');

    // Maintenance: writes answer 503 with the reason, before authentication (which would wait on the locked tables).
    const refused = await p.call('POST', '/api/v1/users', { token, body: { username: 'during_restore', password: 'a-long-password', email: 'd@example.test' } });
    expectError(refused, 503, 'SERVICE_UNAVAILABLE');
    expect(refused.body.error.details).toMatchObject({ reason: 'restore_in_progress', backup_id: id, operation_id: opId });
    expect(refused.body.error.message).toContain('being restored');

    await p.killWorker();
    await p.startWorker();
    // The retry ends the killed attempt's transaction (rolled back) and starts its own, which waits on the same lock.
    await eventually(async () => { const w = await waiting(); return w.length && !w.includes(firstPid) ? w : null; }, 90_000, 'the retried pg_restore');
    await holder.commit();

    const op = await waitOp(opId);
    expect({ status: op.status, error: op.error }).toEqual({ status: 'succeeded', error: null });
    const after = await tableChecksums(p.knex);
    expect(after).toEqual(atBackup);
    expect(after).not.toEqual(changed);
    expect((await p.knex.raw("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'idcflow-restore:%'")).rows[0].n).toBe(0);
    expect(await p.knex('restore_maintenance')).toEqual([]);
    const again = await p.call('POST', '/api/v1/users', { token: await p.login('admin', process.env.IDCFLOW_ADMIN_PASSWORD!).then((t) => t.access_token), body: { username: `after_${crypto.randomBytes(3).toString('hex')}`, password: 'a-long-password', email: 'a@example.test' } });
    expect(again.status).toBe(201);
  });

  it('schedules are Temporal Schedules, shown in the stats with their next run', async () => {
    const put = await p.call('PUT', `${B}/schedules/daily_full`, { token, body: { frequency: 'daily', backup_type: 'full' } });
    expect(put.status).toBe(200);
    expect(put.body.data).toMatchObject({ name: 'daily_full', type: 'daily', cron: '0 3 * * *', backup_type: 'full', enabled: true, next_run: expect.any(String) });
    const stats = await p.call('GET', `${B}/stats`, { token });
    expect(stats.status).toBe(200);
    expect(stats.body.data).toMatchObject({
      total_backups: expect.any(Number), successful_backups: expect.any(Number), failed_backups: expect.any(Number), total_size_bytes: expect.any(Number),
      schedules: { daily_full: { type: 'daily', backup_type: 'full', enabled: true } }, running_backups: [], restore_in_progress: null,
    });

    // A run of the schedule (triggered now) is a backup and an operation like one started by hand.
    const connection = await Connection.connect(temporalConnectionOptions({ temporalAddress: process.env.TEMPORAL_ADDRESS! }));
    try {
      await new Client({ connection }).schedule.getHandle('platform-backup-daily_full').trigger();
    } finally {
      await connection.close();
    }
    const scheduled = await eventually(async () => p.knex('platform_backups').where({ schedule_id: 'daily_full', status: 'completed' }).first(), 120_000, 'the scheduled backup');
    expect(scheduled).toMatchObject({ type: 'full', name: 'daily_full (scheduled)', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(await waitOp(scheduled.operation_id)).toMatchObject({ type: 'availability.backup', status: 'succeeded', resource_type: 'backup', resource_id: scheduled.id });
    const temporalSchedules = await p.call('PUT', `${B}/schedules/often`, { token, body: { frequency: 'custom', cron: '*/5 * * * *', backup_type: 'config', enabled: false } });
    expect(temporalSchedules.body.data).toMatchObject({ type: 'custom', cron: '*/5 * * * *', enabled: false, next_run: null });
    expect((await p.call('DELETE', `${B}/schedules/often`, { token })).status).toBe(200);
    expect((await p.call('GET', `${B}/schedules/often`, { token })).status).toBe(404);
  });

  it('retention: after a backup, completed ones beyond the newest 3 and any older than 30 days are deleted with their archives', async () => {
    const dir = path.join(p.dataDir, 'platform-backups');
    const old = 'backup_20200101_000000_01d01d';
    fs.writeFileSync(path.join(dir, `${old}_config.tar.gz`), 'old');
    await p.knex('platform_backups').insert({ id: old, name: 'ancient', type: 'config', status: 'completed', file_path: path.join(dir, `${old}_config.tar.gz`), size_bytes: 3, sha256: sha256('old'), created_at: new Date(Date.now() - 40 * 86_400_000), completed_at: new Date() });
    const made = [];
    for (let i = 0; i < 4; i++) made.push((await backup('config')).id);
    const completed = await p.knex('platform_backups').where({ status: 'completed' }).orderBy('created_at', 'desc');
    expect(completed.map((r) => r.id)).toEqual(made.slice(1).reverse());
    expect(fs.existsSync(path.join(dir, `${old}_config.tar.gz`))).toBe(false);
    const archives = fs.readdirSync(dir).filter((f) => f.endsWith('.tar.gz')).sort();
    expect(archives).toEqual(completed.map((r) => path.basename(r.file_path)).sort());
    expect((await p.knex('operations').where({ id: (await p.knex('platform_backups').where({ id: made[3] }).first()).operation_id }).first()).result.pruned).toContain(made[0]);
  });

  describe('through HTTP: bad input, no token, wrong role, missing resources', () => {
    const missing = 'backup_20200101_000000_abcdef';
    const routes: Array<[string, string, unknown?]> = [
      ['GET', `${B}/backups`], ['POST', `${B}/backups/create?name=x`], ['GET', `${B}/backups/${missing}`], ['POST', `${B}/backups/${missing}/restore`],
      ['GET', `${B}/backups/${missing}/download`], ['GET', `${B}/stats`], ['GET', `${B}/schedules/x`], ['PUT', `${B}/schedules/x`, {}], ['DELETE', `${B}/schedules/x`],
    ];

    it('answers 401 without a token and 403 to users, managers and viewers (admin actions)', async () => {
      const users = [await p.createUser('user'), await p.createUser('manager'), await p.createUser('viewer')];
      for (const [method, url, body] of routes) {
        expectError(await p.call(method, url, { body }), 401, 'INVALID_CREDENTIALS');
        for (const u of users) expectError(await p.call(method, url, { token: u.token, body }), 403, 'INSUFFICIENT_PERMISSIONS');
      }
      expect(await p.knex('platform_backups').where({ name: 'x' })).toEqual([]);
    });

    it('answers 422 naming the field for bad input', async () => {
      const field = async (method: string, url: string, body?: unknown) => {
        const res = await p.call(method, url, { token, body });
        expectError(res, 422, 'VALIDATION_ERROR');
        return res.body.error.details.errors.map((e: { field: string }) => e.field);
      };
      expect(await field('POST', `${B}/backups/create`)).toContain('name');
      expect(await field('POST', `${B}/backups/create?name=a&backup_type=everything`)).toContain('backup_type');
      expect(await field('POST', `${B}/backups/create`, { name: '', type: 'full' })).toContain('name');
      expect(await field('POST', `${B}/backups/create`, { name: 'x', metadata: 'not an object' })).toContain('metadata');
      expect(await field('GET', `${B}/backups/not-an-id`)).toContain('id');
      expect(await field('POST', `${B}/backups/${missing}/restore?target_dir=../../etc`)).toContain('target_dir');
      expect(await field('POST', `${B}/backups/${missing}/restore`, { target_dir: '/etc' })).toContain('target_dir');
      expect(await field('GET', `${B}/backups?size=1000`)).toContain('size');
      expect(await field('PUT', `${B}/schedules/bad name`, {})).toContain('name');
      expect(await field('PUT', `${B}/schedules/x`, { frequency: 'custom' })).toContain('cron');
      expect(await field('PUT', `${B}/schedules/x`, { frequency: 'custom', cron: '61 * * *' })).toContain('cron');
      expect(await field('PUT', `${B}/schedules/x`, { backup_type: 'all' })).toContain('backup_type');
      const malformed = await p.call('POST', `${B}/backups/create`, { token, rawBody: '{"name":', headers: { 'content-type': 'application/json' } });
      expectError(malformed, 400, 'BAD_REQUEST');
    });

    it('answers 404 for missing backups and schedules, and 409 for a backup that is not completed', async () => {
      for (const [method, url] of [['GET', `${B}/backups/${missing}`], ['POST', `${B}/backups/${missing}/restore`], ['GET', `${B}/backups/${missing}/download`], ['GET', `${B}/schedules/nope`], ['DELETE', `${B}/schedules/nope`]]) {
        expectError(await p.call(method, url, { token }), 404, 'RESOURCE_NOT_FOUND');
      }
      const failed = `backup_20200101_000000_${crypto.randomBytes(3).toString('hex')}`;
      await p.knex('platform_backups').insert({ id: failed, name: 'failed one', type: 'full', status: 'failed', error: 'disk full' });
      expectError(await p.call('POST', `${B}/backups/${failed}/restore`, { token }), 409, 'CONFLICT');
      expectError(await p.call('GET', `${B}/backups/${failed}/download`, { token }), 409, 'CONFLICT');
    });
  });
});
