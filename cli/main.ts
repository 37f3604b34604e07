import fs from 'node:fs';
import { Command, Option } from 'commander';
import { createIdcflowClient, unwrap, ApiError, type IdcflowClient } from '../client';
import { readConfig, writeConfig, removeConfig, type CliConfig } from './config';
import { print } from './output';
import { follow, EXIT } from './follow';

const program = new Command('idcflow')
  .description('The idcflow command line: hosts, instances and operations through the API')
  .addOption(new Option('--url <url>', 'the API address').env('IDCFLOW_URL'))
  .option('--json', 'print JSON instead of tables', false)
  .showHelpAfterError();

const opts = () => program.opts<{ url?: string; json: boolean }>();

/** A client with the saved login; `--url` or IDCFLOW_URL overrides the saved address. */
function connect(): { client: IdcflowClient; config: CliConfig } {
  const saved = readConfig();
  const url = opts().url ?? saved?.url;
  if (!url) throw new UsageError('Not logged in: run `idcflow login --url <API address>` first');
  const config: CliConfig = { ...saved, url };
  if (!config.credentials && !process.env.IDCFLOW_TOKEN) throw new UsageError('Not logged in: run `idcflow login -u <name>` (or set IDCFLOW_TOKEN to an API token)');
  const client = createIdcflowClient({
    baseUrl: url.replace(/\/+$/, ''),
    credentials: process.env.IDCFLOW_TOKEN ? { access_token: process.env.IDCFLOW_TOKEN } : config.credentials,
    onRefresh: (credentials) => writeConfig({ ...config, credentials }),
  });
  return { client, config };
}

class UsageError extends Error {}

async function readSecret(prompt: string, fromStdin: boolean): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) return fs.readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  const { default: readline } = await import('node:readline/promises');
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => { if (s.startsWith(prompt)) process.stderr.write(prompt); };
  const answer = await rl.question(prompt);
  rl.close();
  process.stderr.write('\n');
  return answer;
}

program.command('login')
  .description('Sign in and keep the tokens in ~/.config/idcflow/config.json (readable by you only)')
  .requiredOption('-u, --username <name>')
  .option('--password-stdin', 'read the password from standard input')
  .action(async (o: { username: string; passwordStdin?: boolean }) => {
    const url = opts().url ?? readConfig()?.url;
    if (!url) throw new UsageError('Give the API address: idcflow --url http://127.0.0.1:8080 login -u <name>');
    const password = await readSecret('Password: ', Boolean(o.passwordStdin));
    const client = createIdcflowClient({ baseUrl: url.replace(/\/+$/, '') });
    const data = unwrap(await client.api.POST('/api/v1/auth/login', { body: { username: o.username, password } }));
    writeConfig({ url, username: data.user.username, credentials: { access_token: data.access_token, refresh_token: data.refresh_token } });
    print(opts().json, { username: data.user.username, role: data.user.role, url });
    if (!opts().json) process.stderr.write(`Logged in to ${url} as ${data.user.username} (${data.user.role})\n`);
  });

program.command('logout').description('Revoke this session and forget the tokens').action(async () => {
  const { client, config } = connect();
  if (config.credentials) await client.api.POST('/api/v1/auth/logout', { body: { refresh_token: config.credentials.refresh_token } });
  removeConfig();
});

program.command('whoami').description('The signed-in user').action(async () => {
  const data = unwrap(await connect().client.api.GET('/api/v1/auth/me'));
  print(opts().json, data, ['id', 'username', 'role', 'email'], [data as Record<string, unknown>]);
});

const hosts = program.command('hosts').description('Hosts');
hosts.command('list').action(async () => {
  const data = unwrap(await connect().client.api.GET('/api/v1/hosts', { params: { query: { size: 100 } } }));
  print(opts().json, data, ['id', 'name', 'engine_type', 'enabled', 'status'], data.hosts as Array<Record<string, unknown>>);
});

hosts.command('join <host>')
  .description('A one-time join token for the host\'s agent (a host name or id), and the command to run on the host')
  .option('--ttl <seconds>', 'how long the token stays usable (default: the platform\'s, 1 hour)')
  .action(async (host: string, o: { ttl?: string }) => {
    const { client } = connect();
    const id = await hostId(client, host);
    const data = unwrap(await client.api.POST('/api/v1/hosts/{id}/join-tokens', { params: { path: { id } }, body: { ttl_seconds: num(o.ttl) } }));
    if (opts().json) return print(true, data);
    process.stdout.write(`Join token for host ${data.host.name}, usable once until ${data.expires_at} (it is not shown again):\n  ${data.token}\n`);
    process.stdout.write(`On the host, in the idcflow directory (or with the agent bundle), run:\n  ${data.command}\n`);
  });

/** A host's id from its id or its name. */
async function hostId(client: IdcflowClient, host: string): Promise<number> {
  if (/^\d+$/.test(host)) return Number(host);
  const data = unwrap(await client.api.GET('/api/v1/hosts', { params: { query: { search: host, size: 100 } } }));
  const found = data.hosts.find((h) => h.name === host);
  if (!found) throw new UsageError(`No host named ${host}`);
  return found.id;
}

const instances = program.command('instances').description('Instances');
instances.command('list')
  .option('--host <id>', 'only on this host').option('--state <state>').option('--page <n>', 'page', '1')
  .action(async (o: { host?: string; state?: string; page: string }) => {
    const query = { page: Number(o.page), size: 50, host_id: o.host ? Number(o.host) : undefined, state: o.state } as never;
    const data = unwrap(await connect().client.api.GET('/api/v1/instances', { params: { query } }));
    const rows = data.instances.map((i) => ({ id: i.id, uuid: i.uuid, name: i.name, host: i.host.name, state: i.state, cpu: i.cpu, ram_mb: i.ram_mb }));
    print(opts().json, data, ['id', 'uuid', 'name', 'host', 'state', 'cpu', 'ram_mb'], rows);
  });
instances.command('show <id>').action(async (id: string) => {
  const data = unwrap(await connect().client.api.GET('/api/v1/instances/{id}', { params: { path: { id: Number(id) } } }));
  print(true, data);
});
instances.command('create <name>')
  .description('Create an instance and follow its operation')
  .option('--host <name>', 'the host (default: placement chooses)').option('--image <ref>').option('--cpu <n>').option('--ram <mb>').option('--disk <gb>')
  .option('--no-wait', 'print the operation and return at once')
  .action(async (name: string, o: { host?: string; image?: string; cpu?: string; ram?: string; disk?: string; wait: boolean }) => {
    const { client } = connect();
    const body = { name, host: o.host, image: o.image, cpu: num(o.cpu), ram_mb: num(o.ram), disk_gb: num(o.disk) };
    const data = unwrap(await client.api.POST('/api/v1/instances', { body: body as never })) as { operation: { id: string } };
    await finish(client, data.operation.id, o.wait, data);
  });
instances.command('delete <id>').option('--no-wait').action(async (id: string, o: { wait: boolean }) => {
  const { client } = connect();
  const data = unwrap(await client.api.DELETE('/api/v1/instances/{id}', { params: { path: { id: Number(id) } } })) as { operation: { id: string } };
  await finish(client, data.operation.id, o.wait, data);
});
for (const action of ['start', 'stop', 'restart'] as const) {
  instances.command(`${action} <id>`).option('--no-wait').action(async (id: string, o: { wait: boolean }) => {
    const { client } = connect();
    const data = unwrap(await client.api.POST('/api/v1/instances/{id}/power', { params: { path: { id: Number(id) } }, body: { action } as never })) as { operation: { id: string } };
    await finish(client, data.operation.id, o.wait, data);
  });
}

const operations = program.command('operations').description('Durable operations');
operations.command('list').option('--status <status>').option('--type <type>').action(async (o: { status?: string; type?: string }) => {
  const data = unwrap(await connect().client.api.GET('/api/v1/operations', { params: { query: { status: o.status, type: o.type, size: 50 } as never } }));
  const rows = data.operations.map((op) => ({ id: op.id, type: op.type, status: op.status, resource: `${op.resource.type}/${op.resource.name ?? op.resource.id}`, percent: op.progress.percent, created_at: op.created_at }));
  print(opts().json, data, ['id', 'type', 'status', 'resource', 'percent', 'created_at'], rows);
});
operations.command('show <id>').action(async (id: string) => {
  print(true, unwrap(await connect().client.api.GET('/api/v1/operations/{id}', { params: { path: { id } } })));
});
operations.command('follow <id>').description('Follow to the end; the exit code says how it ended').action(async (id: string) => {
  process.exitCode = await follow(connect().client, id, opts().json);
});
operations.command('cancel <id>').action(async (id: string) => {
  print(opts().json, unwrap(await connect().client.api.POST('/api/v1/operations/{id}/cancel', { params: { path: { id } } })));
});

const tokens = program.command('tokens').description('Your API tokens');
tokens.command('list').action(async () => {
  const data = unwrap(await connect().client.api.GET('/api/v1/tokens'));
  print(opts().json, data, ['id', 'name', 'prefix', 'expires_at', 'last_used_at'], data.tokens as Array<Record<string, unknown>>);
});

function num(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`${v} is not a whole number`);
  return n;
}

async function finish(client: IdcflowClient, id: string, wait: boolean, answer: unknown) {
  if (!wait) {
    print(true, answer);
    return;
  }
  process.exitCode = await follow(client, id, opts().json);
}

program.parseAsync().catch((err: unknown) => {
  if (err instanceof ApiError) {
    process.stderr.write(`${err.code}: ${err.message}${Object.keys(err.details).length ? ` ${JSON.stringify(err.details)}` : ''}\n`);
    process.exitCode = err.status === 401 ? EXIT.unauthenticated : EXIT.failed;
  } else if (err instanceof UsageError) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = EXIT.usage;
  } else {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = EXIT.failed;
  }
});
