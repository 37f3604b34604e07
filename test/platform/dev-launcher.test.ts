import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { spawnEntrypoint } from '../support/processes';
import { freePort } from '../../workers/embedded-services';

/** `npm start` as a newcomer runs it: no DATABASE_URL, no TEMPORAL_ADDRESS, no admin password. */
async function launch(dir: string, ports: Record<string, number>) {
  const env: NodeJS.ProcessEnv = { ...process.env, IDCFLOW_DATA_DIR: dir, LOG_LEVEL: 'warn' };
  for (const name of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'IDCFLOW_ADMIN_PASSWORD', 'IDCFLOW_MASTER_KEY', 'IDCFLOW_JWT_SECRET', 'IDCFLOW_TASK_QUEUE']) delete env[name];
  for (const [name, port] of Object.entries(ports)) env[name] = String(port);
  return spawnEntrypoint('workers/dev.ts', [], env, 'Press Ctrl-C to stop.');
}

const processesUsing = (dir: string) =>
  execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(dir) && !l.includes('ps -eo'));

it('starts everything embedded, stops in order with no orphans, and keeps its data', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-start-'));
  fs.chmodSync(dir, 0o755);
  const ports = { PORT: await freePort(), TEMPORAL_PORT: await freePort(), TEMPORAL_UI_PORT: await freePort(), IDCFLOW_EMBEDDED_PG_PORT: await freePort(), IDCFLOW_CONSOLE_PORT: await freePort() };
  const base = `http://127.0.0.1:${ports.PORT}`;
  try {
    const first = await launch(dir, ports);
    const password = /admin {8}admin \/ (\S+)/.exec(first.output())?.[1];
    expect(password).toBeTruthy();
    expect(first.output()).toContain(`Temporal UI  http://127.0.0.1:${ports.TEMPORAL_UI_PORT}`);
    expect((await fetch(`http://127.0.0.1:${ports.TEMPORAL_UI_PORT}/`)).status).toBe(200);
    const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
    const token = ((await login.json()) as { data: { access_token: string } }).data.access_token;
    const health = (await (await fetch(`${base}/api/v1/status/health/detailed`, { headers: { authorization: `Bearer ${token}` } })).json()) as { data: { status: string } };
    expect(health.data.status).toBe('healthy');
    await fetch(`${base}/api/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ username: 'kept_user', email: 'kept@example.test', password: 'kept-password' }) });

    first.proc.kill('SIGINT');
    await new Promise((r) => first.proc.once('exit', r));
    expect(first.proc.exitCode).toBe(0);
    expect(first.output()).toMatch(/stopped API[\s\S]*stopped worker[\s\S]*stopped Temporal dev server[\s\S]*stopped PostgreSQL/);
    expect(processesUsing(dir)).toEqual([]);

    const second = await launch(dir, ports);
    expect(second.output()).not.toContain('generated now');
    const again = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'kept_user', password: 'kept-password' }) });
    expect(again.status).toBe(200);
    await second.stop('SIGINT');
    expect(processesUsing(dir)).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
