import { stopProcess } from './processes';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { eventually, type TestApi } from './api';

export const uid = () => crypto.randomBytes(4).toString('hex');

/** The suite's embedded PostgreSQL: a real server where tests create roles with different privileges. */
export function pgServer() {
  const url = new URL(process.env.DATABASE_URL!);
  return { host: url.hostname, port: Number(url.port), superuser: decodeURIComponent(url.username), password: decodeURIComponent(url.password), database: url.pathname.slice(1) };
}

export async function pgAdmin<T>(fn: (c: pg.Client) => Promise<T>, database?: string): Promise<T> {
  const s = pgServer();
  const client = new pg.Client({ host: s.host, port: s.port, user: s.superuser, password: s.password, database: database ?? s.database });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function addCredential(api: TestApi, username: string, password: string, token?: string): Promise<number> {
  const res = await api.call('POST', '/api/v1/db/credentials', { token: token ?? await api.admin(), body: { name: `cred-${uid()}`, username, password } });
  if (res.status !== 201) throw new Error(`credential: ${res.status} ${res.text}`);
  return res.body.data.id;
}

export async function addInstance(api: TestApi, body: Record<string, unknown>, token?: string): Promise<{ id: number; name: string }> {
  const res = await api.call('POST', '/api/v1/db/instances', { token: token ?? await api.admin(), body: { name: `inst-${uid()}`, ...body } });
  if (res.status !== 201) throw new Error(`instance: ${res.status} ${res.text}`);
  return res.body.data;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

// ---------- MariaDB (Debian's mariadb-server), started per test file ----------

const which = (cmd: string) => ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'].map((d) => path.join(d, cmd)).find((f) => fs.existsSync(f));

export const MARIADB_MISSING = !which('mariadbd') || !which('mariadb-install-db')
  ? 'MariaDB is not installed (apt-get install -y mariadb-server; .ci/run does this)'
  : null;

export interface MariaDb {
  host: string;
  port: number;
  socket: string;
  /** Runs SQL as root over the socket (unix_socket auth as the OS root user, or no password). */
  admin(sql: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts mariadbd in the background on a free port with a temporary datadir. */
export async function startMariaDb(): Promise<MariaDb> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-mariadb-'));
  const datadir = path.join(dir, 'data');
  const socket = path.join(dir, 'mysqld.sock');
  const port = await freePort();
  const user = process.getuid?.() === 0 ? 'root' : os.userInfo().username;
  const init = spawnSync(which('mariadb-install-db')!, [`--datadir=${datadir}`, `--user=${user}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve'], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`mariadb-install-db failed: ${init.stderr || init.stdout}`);
  const proc: ChildProcess = spawn(which('mariadbd')!, [
    '--no-defaults', `--datadir=${datadir}`, `--socket=${socket}`, `--port=${port}`, '--bind-address=127.0.0.1', `--pid-file=${path.join(dir, 'mariadb.pid')}`,
    `--user=${user}`, '--skip-name-resolve', '--skip-log-bin', '--innodb-buffer-pool-size=16M', '--max-connections=50', `--log-error=${path.join(dir, 'error.log')}`,
  ], { stdio: 'ignore' });
  const mysql = await import('mysql2/promise');
  const connect = () => mysql.createConnection({ socketPath: socket, user: 'root', password: '', multipleStatements: true });
  await eventually(async () => {
    if (proc.exitCode !== null) throw new Error(`mariadbd exited: ${fs.readFileSync(path.join(dir, 'error.log'), 'utf8').slice(-2000)}`);
    try {
      const c = await connect();
      await c.end();
      return true;
    } catch {
      return false;
    }
  }, 60_000, 'mariadbd to accept connections');
  return {
    host: '127.0.0.1', port, socket,
    async admin(sql: string) {
      const c = await connect();
      try {
        await c.query(sql);
      } finally {
        await c.end();
      }
    },
    async stop() {
      await stopProcess(proc, 'SIGTERM', 15_000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits for an operation to end and answers it. */
export async function waitOperation(api: TestApi, id: string, token?: string) {
  const res = await api.call('GET', `/api/v1/operations/${encodeURIComponent(id)}/wait?timeout=60`, { token: token ?? await api.admin() });
  return res.body.data;
}

/**
 * Starts a classification batch. Batches run one at a time across the platform (409 names the running one), and test
 * files run in parallel: wait for the other one as a client would, then start.
 */
export async function startBatch(api: TestApi, token: string, body: Record<string, unknown>) {
  return eventually(async () => {
    const res = await api.call('POST', '/api/v1/db/batches', { token, body });
    return res.status !== 409 && res;
  }, 90_000, 'a classification batch to start');
}
