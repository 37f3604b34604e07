import net from 'node:net';
import tls from 'node:tls';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { Connection as TediousConnection, Request as TediousRequest } from 'tedious';
import type { AccountPrivilege, DbType, RemoteAccount } from '../../shared/dbsync/types';

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

// ---------- account readers ----------

const yes = (v: unknown) => v === true || v === 1 || v === 'Y' || v === 'y' || v === 'YES';
const sortPrivs = (list: AccountPrivilege[]) => {
  const seen = new Set<string>();
  return list.filter((p) => {
    const k = `${p.scope}|${p.object ?? ''}|${p.privilege}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  }).sort((a, b) => `${a.scope}|${a.object}|${a.privilege}`.localeCompare(`${b.scope}|${b.object}|${b.privilege}`));
};

async function readPostgres(s: Session): Promise<RemoteAccount[]> {
  const roles = await s.query<Record<string, unknown>>(
    `SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin, rolvaliduntil, rolconnlimit, rolinherit
       FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY rolname`);
  const members = await s.query<{ member: string; grp: string }>(
    `SELECT m.rolname AS member, g.rolname AS grp FROM pg_auth_members am
       JOIN pg_roles m ON m.oid = am.member JOIN pg_roles g ON g.oid = am.roleid`);
  const dbPrivs = await s.query<{ rolname: string; datname: string; c: boolean; cr: boolean; t: boolean }>(
    `SELECT r.rolname, d.datname,
            has_database_privilege(r.oid, d.oid, 'CONNECT') AS c,
            has_database_privilege(r.oid, d.oid, 'CREATE') AS cr,
            has_database_privilege(r.oid, d.oid, 'TEMP') AS t
       FROM pg_roles r CROSS JOIN pg_database d
      WHERE NOT d.datistemplate AND r.rolname !~ '^pg_'`);
  const tablePrivs = await s.query<{ rolname: string; obj: string; privilege_type: string }>(
    `SELECT g.rolname, current_database() || '.' || n.nspname || '.' || c.relname AS obj, a.privilege_type
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       CROSS JOIN LATERAL aclexplode(c.relacl) a
       JOIN pg_roles g ON g.oid = a.grantee
      WHERE c.relkind IN ('r','v','m','p') AND n.nspname NOT IN ('pg_catalog','information_schema')`);
  const now = Date.now();
  return roles.map((r) => {
    const name = r.rolname as string;
    const caps = (['SUPERUSER', 'CREATEROLE', 'CREATEDB', 'REPLICATION', 'BYPASSRLS', 'LOGIN'] as const)
      .filter((_c, i) => yes([r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls, r.rolcanlogin][i]));
    const privileges: AccountPrivilege[] = [];
    for (const d of dbPrivs.filter((x) => x.rolname === name)) {
      if (d.c) privileges.push({ scope: 'database', object: d.datname, privilege: 'CONNECT' });
      if (d.cr) privileges.push({ scope: 'database', object: d.datname, privilege: 'CREATE' });
      if (d.t) privileges.push({ scope: 'database', object: d.datname, privilege: 'TEMP' });
    }
    for (const t of tablePrivs.filter((x) => x.rolname === name)) privileges.push({ scope: 'table', object: t.obj, privilege: t.privilege_type });
    const validUntil = r.rolvaliduntil ? new Date(r.rolvaliduntil as string) : null;
    return {
      key: name, username: name, host: null,
      is_superuser: yes(r.rolsuper),
      is_locked: Boolean(validUntil && validUntil.getTime() < now),
      can_login: yes(r.rolcanlogin),
      capabilities: caps,
      roles: members.filter((m) => m.member === name).map((m) => m.grp).sort(),
      privileges: sortPrivs(privileges),
      attributes: { valid_until: validUntil ? validUntil.toISOString() : null, connection_limit: r.rolconnlimit, inherit: yes(r.rolinherit) },
    };
  });
}

const unquote = (s: string) => s.trim().replace(/^[`'"]|[`'"]$/g, '');

/** Splits "SELECT, INSERT (a, b), UPDATE" on commas outside parentheses. */
function splitPrivileges(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of list) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) { out.push(cur.trim()); cur = ''; } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** Parses the lines of SHOW GRANTS into privileges, role grants and GRANT OPTION (password clauses are ignored). */
export function parseMysqlGrants(lines: string[]) {
  const privileges: AccountPrivilege[] = [];
  const roles: string[] = [];
  let grantOption = false;
  for (const raw of lines) {
    const line = raw.replace(/\s+IDENTIFIED\s+(BY|VIA|WITH)\b.*?(?=\s+WITH\s+GRANT\s+OPTION|$)/i, '').trim();
    const on = /^GRANT\s+(.+?)\s+ON\s+(?:(?:TABLE|FUNCTION|PROCEDURE|PACKAGE)\s+)?(.+?)\s+TO\s+.+?(\s+WITH\s+GRANT\s+OPTION)?\s*$/i.exec(line);
    if (on) {
      const [, privs, target, wgo] = on;
      let scope: AccountPrivilege['scope'] = 'table';
      let object: string | null;
      if (target.trim() === '*.*') { scope = 'global'; object = null; }
      else {
        const [db, tbl] = target.split('.').map(unquote);
        if (tbl === '*' || tbl === undefined) { scope = 'database'; object = db; } else object = `${db}.${tbl}`;
      }
      for (const p of splitPrivileges(privs)) {
        const name = p.replace(/\s*\(.*\)$/, '').toUpperCase();
        if (name !== 'USAGE') privileges.push({ scope, object, privilege: name });
      }
      if (wgo) { grantOption = true; privileges.push({ scope, object, privilege: 'GRANT OPTION' }); }
      continue;
    }
    const role = /^GRANT\s+(.+?)\s+TO\s+.+?$/i.exec(line);
    if (role) roles.push(...splitPrivileges(role[1]).map(unquote));
  }
  return { privileges: sortPrivs(privileges), roles: [...new Set(roles)].sort(), grantOption };
}

async function readMysql(s: Session): Promise<RemoteAccount[]> {
  const users = await s.query<Record<string, unknown>>('SELECT * FROM mysql.user');
  const accounts: RemoteAccount[] = [];
  for (const u of users) {
    if (yes(u.is_role)) continue;
    const user = String(u.User ?? '');
    const host = String(u.Host ?? '');
    let grantLines: string[] = [];
    let grantsError: string | null = null;
    try {
      const rows = await s.query<Record<string, string>>('SHOW GRANTS FOR ?@?', [user, host]);
      grantLines = rows.map((r) => String(Object.values(r)[0]));
    } catch (err) {
      // ER_NONEXISTING_GRANT: a mysql.user row the server cannot show grants for (e.g. a host name under skip-name-resolve).
      if ((err as { errno?: number }).errno !== 1141) throw err;
      grantsError = (err as Error).message;
    }
    const grants = parseMysqlGrants(grantLines);
    const globalAll = grants.privileges.some((p) => p.scope === 'global' && p.privilege === 'ALL PRIVILEGES');
    const caps: string[] = [];
    if (yes(u.Super_priv)) caps.push('SUPER');
    if (yes(u.Grant_priv) || grants.privileges.some((p) => p.scope === 'global' && p.privilege === 'GRANT OPTION')) caps.push('GRANT OPTION');
    if (yes(u.Create_user_priv)) caps.push('CREATE USER');
    if (yes(u.Repl_slave_priv)) caps.push('REPLICATION SLAVE');
    if (yes(u.File_priv)) caps.push('FILE');
    if (yes(u.Shutdown_priv)) caps.push('SHUTDOWN');
    if (yes(u.Process_priv)) caps.push('PROCESS');
    let locked = yes(u.account_locked);
    if (!('account_locked' in u)) {
      // MariaDB keeps the lock in mysql.global_priv; SHOW CREATE USER states it (its password hash is not kept).
      try {
        const rows = await s.query<Record<string, string>>('SHOW CREATE USER ?@?', [user, host]);
        locked = /\bACCOUNT LOCK\b/i.test(String(Object.values(rows[0] ?? {})[0] ?? ''));
      } catch {
        locked = false;
      }
    }
    accounts.push({
      key: `${user}@${host}`, username: user, host,
      is_superuser: yes(u.Super_priv) || globalAll,
      is_locked: locked,
      can_login: !locked && String(u.plugin ?? '') !== 'invalid',
      capabilities: caps.sort(),
      roles: grants.roles,
      privileges: grants.privileges,
      attributes: { plugin: u.plugin ?? null, password_expired: u.password_expired ?? null, max_connections: u.max_user_connections ?? null, ...(grantsError ? { grants_error: grantsError } : {}) },
    });
  }
  return accounts.sort((a, b) => a.key.localeCompare(b.key));
}

async function readSqlServer(s: Session): Promise<RemoteAccount[]> {
  const logins = await s.query<Record<string, unknown>>(
    `SELECT p.name, p.type_desc, p.is_disabled, p.default_database_name, l.is_policy_checked, l.is_expiration_checked,
            CAST(LOGINPROPERTY(p.name, 'IsLocked') AS int) AS is_locked
       FROM sys.server_principals p LEFT JOIN sys.sql_logins l ON l.principal_id = p.principal_id
      WHERE p.type IN ('S','U','G','E','X') AND p.name NOT LIKE '##%'`);
  const members = await s.query<{ member: string; role: string }>(
    `SELECT m.name AS member, r.name AS role FROM sys.server_role_members rm
       JOIN sys.server_principals r ON r.principal_id = rm.role_principal_id
       JOIN sys.server_principals m ON m.principal_id = rm.member_principal_id`);
  const perms = await s.query<{ name: string; permission_name: string; state_desc: string }>(
    `SELECT pr.name, pe.permission_name, pe.state_desc FROM sys.server_permissions pe
       JOIN sys.server_principals pr ON pr.principal_id = pe.grantee_principal_id WHERE pe.state IN ('G','W')`);
  return logins.map((l) => {
    const name = String(l.name);
    const roles = members.filter((m) => m.member === name).map((m) => m.role).sort();
    const privileges = sortPrivs(perms.filter((p) => p.name === name).flatMap((p) => [
      { scope: 'server' as const, object: null, privilege: p.permission_name },
      ...(p.state_desc === 'GRANT_WITH_GRANT_OPTION' ? [{ scope: 'server' as const, object: null, privilege: 'GRANT OPTION' }] : []),
    ]));
    const disabled = yes(l.is_disabled);
    return {
      key: name, username: name, host: null,
      is_superuser: roles.includes('sysadmin') || privileges.some((p) => p.privilege === 'CONTROL SERVER'),
      is_locked: yes(l.is_locked),
      can_login: !disabled,
      capabilities: roles.filter((r) => ['securityadmin', 'serveradmin', 'setupadmin', 'processadmin', 'dbcreator'].includes(r)).map((r) => r.toUpperCase()),
      roles, privileges,
      attributes: { type: l.type_desc, disabled, default_database: l.default_database_name ?? null, policy_checked: l.is_policy_checked ?? null },
    };
  });
}

async function readOracle(s: Session): Promise<RemoteAccount[]> {
  const users = await s.query<Record<string, unknown>>('SELECT username, account_status, expiry_date, default_tablespace, profile FROM dba_users');
  const rolePrivs = await s.query<{ GRANTEE: string; GRANTED_ROLE: string; ADMIN_OPTION: string }>('SELECT grantee, granted_role, admin_option FROM dba_role_privs');
  const sysPrivs = await s.query<{ GRANTEE: string; PRIVILEGE: string; ADMIN_OPTION: string }>('SELECT grantee, privilege, admin_option FROM dba_sys_privs');
  return users.map((u) => {
    const name = String(u.USERNAME);
    const roles = rolePrivs.filter((r) => r.GRANTEE === name).map((r) => r.GRANTED_ROLE).sort();
    const privileges = sortPrivs(sysPrivs.filter((p) => p.GRANTEE === name).map((p) => ({ scope: 'global' as const, object: null, privilege: p.PRIVILEGE })));
    const status = String(u.ACCOUNT_STATUS ?? '');
    return {
      key: name, username: name, host: null,
      is_superuser: roles.includes('DBA') || privileges.some((p) => ['SYSDBA', 'GRANT ANY PRIVILEGE', 'ALTER SYSTEM'].includes(p.privilege)),
      is_locked: /LOCKED/.test(status),
      can_login: !/LOCKED|EXPIRED/.test(status) && (privileges.some((p) => p.privilege === 'CREATE SESSION') || roles.includes('CONNECT')),
      capabilities: privileges.filter((p) => /^(CREATE USER|ALTER USER|DROP USER|GRANT ANY)/.test(p.privilege)).map((p) => p.privilege),
      roles, privileges,
      attributes: { account_status: status, profile: u.PROFILE ?? null, default_tablespace: u.DEFAULT_TABLESPACE ?? null, expiry_date: u.EXPIRY_DATE ?? null },
    };
  });
}

const READERS: Record<DbType, (s: Session) => Promise<RemoteAccount[]>> = {
  postgresql: readPostgres, mysql: readMysql, sqlserver: readSqlServer, oracle: readOracle,
};

/** Reads every account of one server with its privileges snapshot. */
export function readAccounts(info: ConnectionInfo): Promise<{ version: string; accounts: RemoteAccount[] }> {
  return withSession(info, async (s) => ({ version: s.version, accounts: await READERS[info.db_type](s) }), info.timeoutMs * 6);
}
