import type { AccountPrivilege, DbType, RemoteAccount } from '../../shared/dbsync/types';
import { withSession, type ConnectionInfo, type Session } from './drivers';

/** Each database type's accounts and privileges, read through a session that drivers.ts opened. */
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
