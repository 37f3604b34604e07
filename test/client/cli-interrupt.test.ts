import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startTestApi, eventually, type TestApi, type TestUser } from '../support/api';
import { addHost, uniq } from '../support/compute';
import { CLI, cliEnv, runCli } from './support';
import { describeIfRunnable, missingTools } from '../support/environment';

/** util-linux's `script` gives the CLI a pseudo-terminal, as a person's shell would (Debian: bsdutils, always there). */
const noScript = missingTools(['script'], 'apt-get install bsdutils');
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

let api: TestApi;
let home: string;
let user: TestUser;
beforeAll(async () => {
  api = await startTestApi();
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-cli-tty-'));
  user = await api.createUser('user');
  expect((await runCli(home, api.url, ['login', '-u', user.username, '--password-stdin'], `${user.password}\n`)).code).toBe(0);
});
afterAll(async () => {
  await api.close();
  fs.rmSync(home, { recursive: true, force: true });
});

/** The CLI under a pseudo-terminal: what it shows, keys typed into it, and its exit code (script -e passes it on). */
function underTerminal(args: string[]) {
  // `exec`: the shell script starts (dash, where SHELL is unset) would otherwise stay in the terminal's foreground group
  // and die of the Ctrl-C itself, which script -e then reports as 130 whatever the CLI did.
  const command = `exec ${[process.execPath, CLI, ...args].map(quote).join(' ')}`;
  const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { env: cliEnv(home, api.url), stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  child.stdout.on('data', (d) => { screen += d; });
  child.stderr.on('data', (d) => { screen += d; });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    screen: () => screen,
    type: (keys: string) => child.stdin.write(keys),
    shows: (pattern: RegExp, what: string) => eventually(async () => pattern.exec(screen) ?? undefined, 30_000, `${what}; the screen shows: ${JSON.stringify(screen.slice(-500))}`),
    exited: async () => { const code = await exited; child.stdin.end(); return code; },
    kill: () => child.kill('SIGKILL'),
  };
}

/** The user's operation of an instance named `name`, once it has started its slow steps. */
const operationOf = (name: string) => eventually(async () => {
  const ops = (await api.call('GET', '/api/v1/operations?size=50', { token: user.token })).body.data.operations as Array<{ id: string; status: string; resource: { name: string }; progress: { step: string | null } }>;
  return ops.find((o) => o.resource?.name === name && ['create', 'start', 'wait-running'].includes(o.progress.step ?? ''));
}, 30_000, `the operation creating ${name}`);

describeIfRunnable(noScript, 'Ctrl-C while the CLI follows an operation (under a pseudo-terminal)', () => {
  it('asks whether to cancel; yes cancels it through the API, undoes its work, and exits 3', async () => {
    const host = await addHost(api, { options: { latency_ms: 1500 } });
    const name = uniq('tty-cancel');
    const term = underTerminal(['instances', 'create', name, '--host', host.name]);
    try {
      const op = await operationOf(name);
      term.type('\x03');
      await term.shows(new RegExp(`Cancel operation ${op.id}\\? \\[y/N\\]`), 'the prompt');
      term.type('y\r');
      expect({ code: await term.exited(), screen: term.screen() }).toMatchObject({ code: 3 });
      expect(term.screen()).toMatch(/Cancel requested/);
      expect(term.screen()).toMatch(new RegExp(`Operation ${op.id} canceled`));
      const after = (await api.call('GET', `/api/v1/operations/${op.id}`, { token: user.token })).body.data;
      expect(after).toMatchObject({ id: op.id, status: 'canceled' });
      expect(await api.deps.knex('instances').where({ host_id: host.id })).toEqual([]);
    } finally {
      term.kill();
    }
  });

  it('answered no, stops following (exit 130) and the operation runs on to success', async () => {
    const host = await addHost(api, { options: { latency_ms: 1500 } });
    const name = uniq('tty-detach');
    const term = underTerminal(['instances', 'create', name, '--host', host.name]);
    try {
      const op = await operationOf(name);
      term.type('\x03');
      await term.shows(/Cancel operation .*\? \[y\/N\]/, 'the prompt');
      term.type('n\r');
      expect({ code: await term.exited(), screen: term.screen() }).toMatchObject({ code: 130 });
      expect(term.screen()).toMatch(new RegExp(`Stopped following; operation ${op.id} runs on`));
      const done = await eventually(async () => {
        const o = (await api.call('GET', `/api/v1/operations/${op.id}`, { token: user.token })).body.data;
        return ['succeeded', 'failed', 'canceled'].includes(o.status) ? o : undefined;
      }, 60_000, 'the operation to end');
      expect(done.status).toBe('succeeded');
    } finally {
      term.kill();
    }
  });
});
