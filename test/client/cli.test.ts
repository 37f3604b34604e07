import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startTestApi, type TestApi } from '../support/api';
import { addHost, finished, uniq } from '../support/compute';
import { ROOT, runCli } from './support';

let api: TestApi;
let home: string;
beforeAll(async () => {
  api = await startTestApi();
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-cli-'));
});
afterAll(async () => {
  await api.close();
  fs.rmSync(home, { recursive: true, force: true });
});

/** Runs the CLI as a user would (bin/idcflow.js), with its config in a temporary home. */
const cli = (args: string[], input = '', env: Record<string, string> = {}) => runCli(home, api.url, args, input, env);

describe('the idcflow command line', () => {
  let user: Awaited<ReturnType<TestApi['createUser']>>;
  beforeAll(async () => { user = await api.createUser('user'); });

  it('logs in with the password on standard input and keeps the tokens readable by the user only', async () => {
    const bad = await cli(['login', '-u', user.username, '--password-stdin'], 'wrong-password\n');
    expect(bad.code).toBe(4);
    expect(bad.stderr).toMatch(/INVALID_CREDENTIALS/);

    const ok = await cli(['--json', 'login', '-u', user.username, '--password-stdin'], `${user.password}\n`);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ username: user.username, role: 'user' });
    const file = path.join(home, 'idcflow', 'config.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).credentials.access_token).toEqual(expect.any(String));

    const me = await cli(['--json', 'whoami']);
    expect(JSON.parse(me.stdout)).toMatchObject({ username: user.username });
  });

  it('creates an instance, follows its operation to the end and exits 0; the list finds it as JSON and as a table', async () => {
    const host = await addHost(api, {});
    const created = await cli(['--json', 'instances', 'create', 'cli-box', '--host', host.name, '--cpu', '1']);
    expect(created.code).toBe(0);
    const op = JSON.parse(created.stdout);
    expect(op).toMatchObject({ status: 'succeeded', type: 'instance.create', progress: { percent: 100 } });

    const list = await cli(['--json', 'instances', 'list']);
    const instances = JSON.parse(list.stdout).instances;
    expect(instances.map((i: { name: string; state: string }) => [i.name, i.state])).toEqual([['cli-box', 'running']]);
    const table = await cli(['instances', 'list']);
    expect(table.stdout).toMatch(/cli-box.*running/);
  });

  it('exits 1 with the error when the operation fails, and 2 on a usage error', async () => {
    const host = await addHost(api, { options: { fail_actions: ['start'] } });
    const failed = await cli(['--json', 'instances', 'create', 'doomed', '--host', host.name]);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ status: 'failed', error: { code: 'ENGINE_ERROR' } });

    const usage = await cli(['instances', 'create', 'x', '--cpu', 'many']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/many is not a whole number/);
  });

  it('answers another user\'s instance as not found, and refuses without a login', async () => {
    const admin = await api.admin();
    const host = await addHost(api, {});
    const name = uniq('admins');
    await finished(api, admin, await api.call('POST', '/api/v1/instances', { token: admin, body: { name, host_id: host.id } }));
    const list = await api.call('GET', '/api/v1/instances?size=100', { token: admin });
    const id = list.body.data.instances.find((i: { name: string }) => i.name === name).id;
    const other = await cli(['--json', 'instances', 'show', String(id)]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/RESOURCE_NOT_FOUND/);

    const { access_token: revoked } = JSON.parse(fs.readFileSync(path.join(home, 'idcflow', 'config.json'), 'utf8')).credentials;
    expect((await cli(['logout'])).code).toBe(0);
    const after = await cli(['whoami']);
    expect(after.code).toBe(2);
    expect(after.stderr).toMatch(/Not logged in/);
    const old = await cli(['whoami'], '', { IDCFLOW_TOKEN: revoked });
    expect(old.code).toBe(4);
  });
});

describe('the typed client', () => {
  it('is generated from the API\'s current OpenAPI document (npm run client:generate)', async () => {
    const check = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'scripts/generate-client.ts', '--check'], { cwd: ROOT });
      let stderr = '';
      child.stderr.on('data', (d) => { stderr += d; });
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(check).toEqual({ code: 0, stderr: '' });
  });
});
