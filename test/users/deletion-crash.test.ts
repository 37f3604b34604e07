import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { eventually, startTestApi, type TestApi } from '../support/api';
import { spawnWorker, type Spawned } from '../support/processes';

let api: TestApi;
let worker: Spawned | undefined;
beforeAll(async () => { api = await startTestApi({ IDCFLOW_TASK_QUEUE: 'crash-q' }); });
afterAll(async () => { await worker?.stop(); await api.close(); });

it('a worker killed in the middle of deleting a user: after a restart the operation finishes, exactly once', async () => {
  // The first worker holds the backup activity after its work is done and before it reports: killed there, the retry
  // repeats an export that already happened, which must neither write a second archive nor a second record.
  worker = await spawnWorker('crash-q', { IDCFLOW_FAULT_DELAY: 'exportUserBackup.after:60000' });
  const token = await api.admin();
  const u = await api.createUser('user');
  const started = await api.call('DELETE', `/api/v1/users/${u.id}?backup_data=true`, { token, headers: { prefer: 'respond-async' } });
  const id: string = started.body.data.operation.id;
  const dir = path.join(process.env.IDCFLOW_DATA_DIR!, 'backups', 'users');
  const sha256Of = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

  const written = await eventually(async () => api.deps.knex('user_backups').where({ operation_id: id }).first(), 60_000, 'the backup written');
  expect((await api.call('GET', `/api/v1/operations/${id}`, { token })).body.data.progress.step).toBe('backup');
  const archive = path.join(process.env.IDCFLOW_DATA_DIR!, written.file_path);
  expect(sha256Of(archive)).toBe(written.sha256);
  worker.proc.kill('SIGKILL');
  await worker.stop();
  expect((await api.call('GET', `/api/v1/operations/${id}`, { token })).body.data.status).toBe('running');

  worker = await spawnWorker('crash-q');
  const end = await api.call('GET', `/api/v1/operations/${id}/wait?timeout=60`, { token });
  expect(end.body.data).toMatchObject({ status: 'succeeded', result: { deleted_user: u.username, deletion_type: 'soft_delete' } });

  const backups = await api.deps.knex('user_backups').where({ user_id: u.id });
  expect(backups).toHaveLength(1);
  expect(backups[0]).toMatchObject({ id: written.id, file_path: written.file_path, sha256: written.sha256 });
  expect(end.body.data.result).toMatchObject({ backup_id: written.id, backup_file: written.file_path, backup_sha256: written.sha256 });
  expect(sha256Of(archive)).toBe(written.sha256); // the archive the killed attempt wrote, not a rewrite
  const files = fs.readdirSync(dir).filter((f) => f.startsWith(`${u.username}_`));
  expect(files.sort()).toEqual([path.basename(backups[0].file_path), `${path.basename(backups[0].file_path)}.sha256`].sort());
  const audit = await api.deps.knex('audit_log').where({ resource_type: 'user', resource_id: String(u.id), action: 'soft_delete' });
  expect(audit).toHaveLength(1);
  const steps = (await api.call('GET', `/api/v1/operations/${id}/events`, { token })).body.data.events.map((e: { step: string }) => e.step);
  expect(steps).toEqual(['started', 'check', 'backup', 'delete', 'succeeded']);
});
