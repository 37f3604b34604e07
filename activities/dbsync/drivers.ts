import net from 'node:net';
import tls from 'node:tls';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { Connection as TediousConnection, Request as TediousRequest } from 'tedious';
import type { DbType } from '../../shared/dbsync/types';

/** Everything needed to reach one database server. The password is in clear only inside the activity that unsealed it. */
export interface ConnectionInfo {
  db_type: DbType;
  host: string;
  port: number;
  database: string | null;
  username: string;
  password: string;
  ssl: 'disable' | 'prefer' | 'require' | 'verify-full';
  timeoutMs: number;
  /** An address already resolved and checked for `host`: connect there (TLS still checks `host`). */
  address?: string;
}

/** Refusing to send a password in clear text over a connection without TLS. */
export class CleartextRefusedError extends Error {}

const cleartextRefused = (info: Pick<ConnectionInfo, 'db_type' | 'host' | 'port'>, how: string) => new CleartextRefusedError(
  `refused: ${info.db_type} server ${info.host}:${info.port} asked for the password in clear text (${how}) over a connection without TLS; `
  + 'the password was not sent. Use ssl: require or verify-full for this server.');

const where = (info: ConnectionInfo) => info.address ?? info.host;
const sniName = (info: ConnectionInfo) => (net.isIP(info.host) ? undefined : info.host);

export type ConnectErrorKind = 'dns' | 'refused' | 'auth' | 'tls' | 'timeout' | 'network' | 'permission' | 'unknown';

/** A failure to connect or read, with what failed; the message never holds the password. */
export class DbConnectError extends Error {
  constructor(readonly kind: ConnectErrorKind, message: string) {
    super(message);
  }
}

const KIND_TEXT: Record<ConnectErrorKind, string> = {
  dns: 'DNS lookup failed', refused: 'connection refused', auth: 'authentication failed', tls: 'TLS negotiation failed',
  timeout: 'timed out', network: 'network unreachable', permission: 'permission denied', unknown: 'connection failed',
};

function redact(text: string, secret: string): string {
  let out = text;
  if (secret && secret.length >= 3) out = out.split(secret).join('***');
  // Driver messages sometimes echo connection strings.
  return out.replace(/(\/\/[^:/\s]+:)[^@\s]+@/g, '$1***@').replace(/(password\s*[=:]\s*)\S+/gi, '$1***');
}

/** Maps a driver's error onto what failed: DNS, refused, auth, TLS, timeout… */
export function classifyError(err: unknown, info: Pick<ConnectionInfo, 'host' | 'port' | 'password' | 'db_type'>): DbConnectError {
  if (err instanceof DbConnectError) return new DbConnectError(err.kind, redact(err.message, info.password));
  const e = (err ?? {}) as { code?: string | number; errno?: number; message?: string; number?: number; cause?: { code?: string; message?: string; errors?: Array<{ code?: string; message?: string }> }; errors?: Array<{ code?: string; message?: string }> };
  const code = String(e.code ?? e.cause?.code ?? '');
  const raw = String(e.message ?? err);
  // Drivers that try several addresses report an AggregateError: its inner errors say what failed.
  const inner = [...(e.errors ?? []), ...(e.cause?.errors ?? [])].map((x) => `${x.code ?? ''} ${x.message ?? ''}`).join(' ');
  const text = `${code} ${raw} ${e.cause?.message ?? ''} ${inner}`;
  let kind: ConnectErrorKind = 'unknown';
  if (/ENOTFOUND|EAI_AGAIN|EAI_NONAME|getaddrinfo/i.test(text)) kind = 'dns';
  else if (/ECONNREFUSED/i.test(text)) kind = 'refused';
  else if (/ETIMEDOUT|timeout|timed out/i.test(text)) kind = 'timeout';
  else if (/EHOSTUNREACH|ENETUNREACH|ECONNRESET|EPIPE/i.test(text)) kind = 'network';
  else if (
    ['28P01', '28000', 'ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ELOGIN'].includes(code)
    || [1045, 1044, 1698, 18456].includes(Number(e.errno ?? e.number)) || /ORA-01017|ORA-28000|password authentication failed|Access denied for user|Login failed/i.test(text)
  ) kind = 'auth';
  else if (err instanceof CleartextRefusedError || /ssl|tls|certificate|self[- ]signed|EPROTO|handshake|clear ?text/i.test(text)) kind = 'tls';
  else if (code === '42501' || /permission denied|ORA-00942|ORA-01031|command denied/i.test(text)) kind = 'permission';
  const where = `${info.db_type} ${info.host}:${info.port}`;
  return new DbConnectError(kind, redact(`${KIND_TEXT[kind]} (${where}): ${raw}`, info.password));
}

async function withTimeout<T>(ms: number, what: string, run: (onTimeout: (cb: () => void) => void) => Promise<T>): Promise<T> {
  let cleanup: () => void = () => undefined;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { cleanup(); reject(new DbConnectError('timeout', `timed out after ${ms} ms ${what}`)); }, ms);
  });
  try {
    return await Promise.race([run((cb) => { cleanup = cb; }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface Session {
  version: string;
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

async function openPostgres(info: ConnectionInfo, onTimeout: (cb: () => void) => void): Promise<Session> {
  const ssl = info.ssl === 'disable' || info.ssl === 'prefer' ? false : { rejectUnauthorized: info.ssl === 'verify-full', ...(info.address && sniName(info) ? { servername: sniName(info) } : {}) };
  const client = new pg.Client({
    host: where(info), port: info.port, user: info.username, password: info.password, database: info.database ?? 'postgres',
    ssl, connectionTimeoutMillis: info.timeoutMs, query_timeout: info.timeoutMs * 3, application_name: 'idcflow-sync',
  });
  client.on('error', () => undefined);
  refuseCleartextWithoutTls(client, info);
  onTimeout(() => { void client.end().catch(() => undefined); });
  await client.connect();
  const version = (await client.query('SHOW server_version')).rows[0].server_version as string;
  return { version: `PostgreSQL ${version}`, query: async (sql, params) => (await client.query(sql, params)).rows, close: () => client.end() };
}

/**
 * node-postgres answers AuthenticationCleartextPassword (R, code 3) by writing the password as it is. The client's
 * connection emits the message as an event; this intercepts it before the client's handler runs and, when the socket
 * is not TLS, closes the connection and fails it instead: the password is never written.
 */
function refuseCleartextWithoutTls(client: pg.Client, info: ConnectionInfo) {
  const con = (client as unknown as { connection: { emit(event: string, ...args: unknown[]): boolean; stream: net.Socket } }).connection;
  const emit = con.emit.bind(con);
  con.emit = (event: string, ...args: unknown[]) => {
    if (event === 'authenticationCleartextPassword' && !(con.stream instanceof tls.TLSSocket && con.stream.encrypted)) {
      con.stream.destroy();
      return emit('error', cleartextRefused(info, 'AuthenticationCleartextPassword'));
    }
    return emit(event, ...args);
  };
}

/**
 * mysql2 refuses mysql_clear_password unless enabled; this plugin answers it only over TLS, so a server (or a proxy)
 * that asks for it on a plain connection gets nothing, whatever the driver's defaults become.
 */
function mysqlClearPasswordOverTlsOnly(info: ConnectionInfo) {
  return ({ connection }: { connection: { stream?: unknown; config: { password?: string } } }) => () => {
    const stream = connection.stream as tls.TLSSocket | undefined;
    if (!(stream instanceof tls.TLSSocket && stream.encrypted)) return Promise.reject(cleartextRefused(info, 'mysql_clear_password'));
    return Buffer.from(`${connection.config.password ?? ''}\0`, 'utf8');
  };
}

async function openMysql(info: ConnectionInfo, onTimeout: (cb: () => void) => void): Promise<Session> {
  const conn = await mysql.createConnection({
    host: where(info), port: info.port, authPlugins: { mysql_clear_password: mysqlClearPasswordOverTlsOnly(info) } as never, user: info.username, password: info.password, database: info.database || undefined,
    connectTimeout: info.timeoutMs, ssl: info.ssl === 'disable' || info.ssl === 'prefer' ? undefined : { rejectUnauthorized: info.ssl === 'verify-full' },
  });
  onTimeout(() => conn.destroy());
  conn.on('error', () => undefined);
  const [rows] = await conn.query('SELECT VERSION() AS v');
  return {
    version: `MySQL/MariaDB ${(rows as Array<{ v: string }>)[0].v}`,
    query: async <R>(sql: string, params?: unknown[]) => (await conn.query(sql, params))[0] as R[],
    close: () => conn.end(),
  };
}

async function openSqlServer(info: ConnectionInfo, onTimeout: (cb: () => void) => void): Promise<Session> {
  const conn = new TediousConnection({
    server: where(info),
    authentication: { type: 'default', options: { userName: info.username, password: info.password } },
    options: {
      port: info.port, database: info.database ?? 'master', connectTimeout: info.timeoutMs, requestTimeout: info.timeoutMs * 3,
      // Always encrypted: TDS sends the login (and its password, merely obfuscated) in clear when TLS is off.
      encrypt: true, trustServerCertificate: info.ssl !== 'verify-full', rowCollectionOnRequestCompletion: true,
      ...(info.address && sniName(info) ? { serverName: sniName(info) } : {}),
    },
  });
  // A server answering the pre-login with "encryption not supported" would get the login in clear: refuse it.
  const raw = conn as unknown as { sendLogin7Packet(): void; messageIo?: { tlsNegotiationComplete?: boolean } };
  const sendLogin = raw.sendLogin7Packet.bind(conn);
  raw.sendLogin7Packet = () => {
    if (!raw.messageIo?.tlsNegotiationComplete) throw cleartextRefused(info, 'a TDS login without encryption');
    sendLogin();
  };
  onTimeout(() => conn.close());
  await new Promise<void>((resolve, reject) => {
    conn.on('error', () => undefined);
    conn.connect((err) => (err ? reject(err) : resolve()));
  });
  const query = <R>(sql: string) => new Promise<R[]>((resolve, reject) => {
    const req = new TediousRequest(sql, (err, _count, rows) => {
      if (err) return reject(err);
      resolve((rows ?? []).map((cols: Array<{ metadata: { colName: string }; value: unknown }>) => Object.fromEntries(cols.map((c) => [c.metadata.colName, c.value])) as R));
    });
    conn.execSql(req);
  });
  const [v] = await query<{ v: string }>("SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(64)) AS v");
  return { version: `SQL Server ${v?.v ?? ''}`.trim(), query, close: async () => conn.close() };
}

interface OracleLike {
  getConnection(o: Record<string, unknown>): Promise<{ execute(sql: string, binds: unknown[], opts: Record<string, unknown>): Promise<{ rows?: unknown[] }>; close(): Promise<void>; oracleServerVersionString?: string }>;
  OUT_FORMAT_OBJECT: number;
}

async function openOracle(info: ConnectionInfo, onTimeout: (cb: () => void) => void): Promise<Session> {
  // Thin mode: pure JavaScript, no Oracle client libraries.
  const oracledb = require('oracledb') as OracleLike; // eslint-disable-line @typescript-eslint/no-require-imports
  const protocol = info.ssl === 'disable' || info.ssl === 'prefer' ? 'tcp' : 'tcps';
  const conn = await oracledb.getConnection({
    user: info.username, password: info.password,
    connectString: `${protocol}://${where(info)}:${info.port}/${info.database ?? 'ORCLPDB1'}`,
    connectTimeout: Math.ceil(info.timeoutMs / 1000), transportConnectTimeout: Math.ceil(info.timeoutMs / 1000),
  });
  onTimeout(() => { void conn.close().catch(() => undefined); });
  return {
    version: `Oracle ${conn.oracleServerVersionString ?? ''}`.trim(),
    query: async <R>(sql: string, params: unknown[] = []) => ((await conn.execute(sql, params, { outFormat: oracledb.OUT_FORMAT_OBJECT })).rows ?? []) as R[],
    close: () => conn.close(),
  };
}

const OPENERS: Record<DbType, (info: ConnectionInfo, onTimeout: (cb: () => void) => void) => Promise<Session>> = {
  postgresql: openPostgres, mysql: openMysql, sqlserver: openSqlServer, oracle: openOracle,
};

/** Opens a session, runs `work`, closes; the whole within the timeout (x4 for work that reads accounts). */
export async function withSession<T>(info: ConnectionInfo, work: (s: Session) => Promise<T>, budgetMs = info.timeoutMs): Promise<T> {
  try {
    return await withTimeout(budgetMs, `reaching ${info.host}:${info.port}`, async (onTimeout) => {
      const session = await OPENERS[info.db_type](info, onTimeout);
      try {
        return await work(session);
      } finally {
        await session.close().catch(() => undefined);
      }
    });
  } catch (err) {
    throw classifyError(err, info);
  }
}

export async function testConnection(info: ConnectionInfo) {
  const started = Date.now();
  const version = await withSession(info, async (s) => s.version);
  return { server_version: version, latency_ms: Date.now() - started };
}
