import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { msToTs } from '@temporalio/common/lib/time';
import { connectTemporal, registerSearchAttributes } from './temporal-setup';
import { certFile, TASK_TOKEN_KEY_FILE } from './temporal-certs';
import type { TemporalTls } from '../shared/platform/config';

/**
 * idcflow's production Temporal server, built from source: deploy/temporal/authorizer is a Go main around
 * go.temporal.io/server (this version) with idcflow's authorization; Temporal's SQL schema tool comes from the same
 * module. Both binaries, and the module's PostgreSQL schema files, are cached per version and source.
 *
 *   npm run temporal:server            finds or builds them (a cold build downloads ~1.6 GB and takes minutes)
 */
export const TEMPORAL_SERVER_VERSION = '1.29.1';
const DEPLOY = path.resolve(__dirname, '..', 'deploy', 'temporal');
const SOURCE = path.join(DEPLOY, 'authorizer');
export const TEMPORAL_CONFIG_TEMPLATE = path.join(DEPLOY, 'config', 'production.yaml');
export const TEMPORAL_DYNAMIC_CONFIG = path.join(DEPLOY, 'dynamicconfig', 'idcflow.yaml');

export interface TemporalServerBinaries { server: string; sqlTool: string; schemaDir: string }

/** The cache folder for the current source: a change to the authorizer builds anew. */
function cacheDir(): string {
  const hash = crypto.createHash('sha256');
  for (const file of fs.readdirSync(SOURCE).filter((f) => /\.go$|^go\.(mod|sum)$/.test(f)).sort()) {
    hash.update(file).update('\0').update(fs.readFileSync(path.join(SOURCE, file))).update('\0');
  }
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'idcflow', `temporal-server-${TEMPORAL_SERVER_VERSION}-${hash.digest('hex').slice(0, 12)}`);
}

const binariesIn = (dir: string): TemporalServerBinaries => ({
  server: path.join(dir, 'temporal-server'), sqlTool: path.join(dir, 'temporal-sql-tool'), schemaDir: path.join(dir, 'schema', 'postgresql', 'v12'),
});

/** The cached binaries of the current source, if built. */
export function findTemporalServer(): TemporalServerBinaries | undefined {
  const found = binariesIn(cacheDir());
  return fs.existsSync(found.server) && fs.existsSync(found.sqlTool) && fs.existsSync(found.schemaDir) ? found : undefined;
}

const isFile = (file: string) => {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
};
const onPath = (name: string) => (process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, name)).find(isFile);

/** Builds both binaries into a fresh folder and moves it into the cache whole, so a broken build leaves nothing half-made. */
export function buildTemporalServer(log: (msg: string) => void = console.log): TemporalServerBinaries {
  const go = onPath('go');
  if (!go) throw new Error(`Go (1.25+) is needed to build the Temporal server from ${SOURCE}`);
  const target = cacheDir();
  const staging = `${target}.building-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  const built = binariesIn(staging);
  const env = { ...process.env, CGO_ENABLED: '0' };
  const goRun = (args: string[]) => {
    const result = spawnSync(go, args, { cwd: SOURCE, env, stdio: ['ignore', 'inherit', 'inherit'] });
    if (result.status !== 0) throw new Error(`go ${args.join(' ')} failed (exit ${result.status})`);
  };
  log(`Building the Temporal server ${TEMPORAL_SERVER_VERSION} with idcflow's authorizer into ${target} (a cold build takes minutes)…`);
  const started = Date.now();
  try {
    goRun(['build', '-trimpath', '-o', built.server, '.']);
    goRun(['build', '-trimpath', '-o', built.sqlTool, 'go.temporal.io/server/cmd/tools/sql']);
    const moduleDir = execFileSync(go, ['list', '-m', '-f', '{{.Dir}}', 'go.temporal.io/server'], { cwd: SOURCE, env, encoding: 'utf8' }).trim();
    fs.cpSync(path.join(moduleDir, 'schema', 'postgresql', 'v12'), built.schemaDir, { recursive: true });
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(staging, target);
    // Builds of earlier sources (about 200 MB each) go.
    const parent = path.dirname(target);
    for (const old of fs.readdirSync(parent).filter((d) => d.startsWith(`temporal-server-`) && !d.includes('.building-') && path.join(parent, d) !== target)) {
      fs.rmSync(path.join(parent, old), { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  log(`Built the Temporal server in ${Math.round((Date.now() - started) / 1000)} s`);
  return binariesIn(target);
}

export interface TemporalPostgres { host: string; port: number; user: string; password: string; database: string; visibilityDatabase: string }

/** Temporal's two databases with their schemas brought to this version (creating a database that exists is not an error). */
export function setupTemporalSchema(binaries: TemporalServerBinaries, pg: TemporalPostgres): void {
  const sql = (db: string, ...args: string[]) => execFileSync(binaries.sqlTool, ['--plugin', 'postgres12', '--ep', pg.host, '-p', String(pg.port), '-u', pg.user, '--db', db, ...args], {
    env: { ...process.env, SQL_PASSWORD: pg.password }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const [db, schema] of [[pg.database, 'temporal'], [pg.visibilityDatabase, 'visibility']]) {
    try {
      sql(db, 'create-database');
    } catch (err) {
      if (!/already exists/.test(String((err as { stderr?: Buffer }).stderr ?? ''))) throw err;
    }
    sql(db, 'setup-schema', '-v', '0.0');
    sql(db, 'update-schema', '-d', path.join(binaries.schemaDir, schema, 'versioned'));
  }
}

export interface TemporalServerOptions {
  binaries: TemporalServerBinaries;
  /** Its rendered config, dynamic config and log go here. */
  dir: string;
  /** The folder `npm run temporal:certs` made. */
  certsDir: string;
  postgres: TemporalPostgres;
  port: number;
  /**
   * The first of seven consecutive loopback ports for history, matching, the system worker and membership. This and
   * `port` must be below 32768: Temporal keeps them in a smallint column of its cluster membership table.
   */
  internalPortBase: number;
  namespace: string;
  bindIp?: string;
  /** More client CAs the frontend trusts (idcflow's agent CA). */
  clientCaFiles?: string[];
  /** Values added to deploy/temporal/dynamicconfig/idcflow.yaml. */
  dynamicConfig?: Record<string, unknown>;
  logLevel?: string;
}

export interface RunningTemporalServer {
  address: string;
  pid: number;
  /** What a client holding `role`'s certificate (a file name from the certs folder) sets as TEMPORAL_TLS_*. */
  tlsFor(role: string): TemporalTls;
  /** Milliseconds from spawn to the namespace answering with idcflow's search attributes. */
  startMs: number;
  log(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts the server (schema set up first), waits until its frontend answers an admin over mutual TLS, and creates the
 * namespace with idcflow's search attributes, as docker-compose.yml's jobs do.
 */
export async function startTemporalServer(opts: TemporalServerOptions): Promise<RunningTemporalServer> {
  const started = Date.now();
  setupTemporalSchema(opts.binaries, opts.postgres);
  const configDir = path.join(opts.dir, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  fs.copyFileSync(TEMPORAL_CONFIG_TEMPLATE, path.join(configDir, 'production.yaml'));
  const dynamicConfigFile = path.join(opts.dir, 'dynamicconfig.yaml');
  const extra = Object.entries(opts.dynamicConfig ?? {}).map(([key, value]) => `${key}:\n  - value: ${JSON.stringify(value)}\n    constraints: {}\n`).join('');
  fs.writeFileSync(dynamicConfigFile, fs.readFileSync(TEMPORAL_DYNAMIC_CONFIG, 'utf8') + '\n' + extra);
  const logFile = path.join(opts.dir, 'temporal.log');
  const out = fs.openSync(logFile, 'a');
  const child = spawn(opts.binaries.server, ['--config-dir', configDir, '--env', 'production', 'start'], {
    stdio: ['ignore', out, out],
    detached: true,
    env: {
      ...process.env,
      TEMPORAL_CERTS_DIR: opts.certsDir,
      TEMPORAL_PORT: String(opts.port),
      TEMPORAL_INTERNAL_PORT_BASE: String(opts.internalPortBase),
      TEMPORAL_BIND_IP: opts.bindIp ?? '127.0.0.1',
      TEMPORAL_CLIENT_CA_FILES: (opts.clientCaFiles ?? []).join(','),
      TEMPORAL_DYNAMIC_CONFIG: dynamicConfigFile,
      TEMPORAL_LOG_LEVEL: opts.logLevel ?? 'warn',
      POSTGRES_SEEDS: opts.postgres.host,
      DB_PORT: String(opts.postgres.port),
      POSTGRES_USER: opts.postgres.user,
      POSTGRES_PWD: opts.postgres.password,
      TEMPORAL_DB: opts.postgres.database,
      TEMPORAL_VISIBILITY_DB: opts.postgres.visibilityDatabase,
      IDCFLOW_TEMPORAL_NAMESPACE: opts.namespace,
      IDCFLOW_TEMPORAL_TOKEN_KEY_FILE: path.join(opts.certsDir, TASK_TOKEN_KEY_FILE),
    },
  });
  fs.closeSync(out);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = () => fs.readFileSync(logFile, 'utf8');
  const address = `127.0.0.1:${opts.port}`;
  const tlsFor = (role: string): TemporalTls => ({ ca: certFile(opts.certsDir, 'ca').cert, ...certFile(opts.certsDir, role), serverName: 'localhost' });
  const admin = { temporalAddress: address, temporalTls: tlsFor('admin'), temporalNamespace: opts.namespace };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  let gone = false;
  void exited.then(() => { gone = true; });
  try {
    await Promise.race([
      ensureNamespace(admin, () => gone),
      exited.then(() => { throw new Error(`the Temporal server exited:\n${log().slice(-4000)}`); }),
    ]);
  } catch (err) {
    await stop('SIGKILL');
    throw err;
  }
  return { address, pid: child.pid!, tlsFor, startMs: Date.now() - started, log, stop };
}

/** `work` until it succeeds, every half second, at most `attempts` times and not once `gone()` says the server died. */
async function retried<T>(work: () => Promise<T>, attempts: number, gone: () => boolean): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= attempts || gone()) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** The namespace (7 days' retention: idcflow keeps operations in PostgreSQL), then idcflow's search attributes on it. */
async function ensureNamespace(admin: { temporalAddress: string; temporalTls: TemporalTls; temporalNamespace: string }, gone: () => boolean): Promise<void> {
  const connection = await retried(() => connectTemporal(admin), 120, gone);
  try {
    await connection.workflowService.registerNamespace({ namespace: admin.temporalNamespace, workflowExecutionRetentionPeriod: msToTs('7d') })
      .catch((err: { code?: number }) => { if (err.code !== 6 /* ALREADY_EXISTS */) throw err; });
  } finally {
    await connection.close();
  }
  // A new namespace reaches the frontend's cache within seconds; adding search attributes fails until it has.
  await retried(() => registerSearchAttributes(admin), 60, gone);
}

/** Resident memory of a process in kB (Linux), for the figures in docs/production.md. */
export function residentKb(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

if (require.main === module) {
  try {
    const found = findTemporalServer() ?? buildTemporalServer();
    console.log(`${found.server} (${execFileSync(found.server, ['version'], { encoding: 'utf8' }).trim()})\n${found.sqlTool}\n${found.schemaDir}`);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
