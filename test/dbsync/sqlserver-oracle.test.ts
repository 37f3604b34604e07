import { classifyError, testConnection } from '../../activities/dbsync/drivers';
import { readAccounts } from '../../activities/dbsync/account-readers';
import { describeIfGiven } from '../support/environment';

/**
 * SQL Server and Oracle cannot run on the project's machines: Debian 12 packages neither, and their only distributions
 * here would be container images (mcr.microsoft.com/mssql/server, container-registry.oracle.com, gvenzl/oracle-free),
 * but no image registry is reachable from these machines, so Podman has no image to run.
 * Their adapters (tedious; oracledb in thin mode) are exercised against a real server only when one is given:
 *   IDCFLOW_TEST_SQLSERVER="host:port:user:password"   IDCFLOW_TEST_ORACLE="host:port/service:user:password"
 */
const SQLSERVER = process.env.IDCFLOW_TEST_SQLSERVER;
const ORACLE = process.env.IDCFLOW_TEST_ORACLE;

describeIfGiven('IDCFLOW_TEST_SQLSERVER', 'no image registry is reachable for a SQL Server image', 'SQL Server adapter against a real server', () => {
  it('connects and reads server principals, logins, role members and permissions', async () => {
    const [host, port, user, password] = SQLSERVER!.split(':');
    const info = { db_type: 'sqlserver' as const, host, port: Number(port), database: 'master', username: user, password, ssl: 'require' as const, timeoutMs: 10_000 };
    expect((await testConnection(info)).server_version).toMatch(/SQL Server/);
    const { accounts } = await readAccounts(info);
    expect(accounts.find((a) => a.username === user)).toBeDefined();
  });
});

describeIfGiven('IDCFLOW_TEST_ORACLE', 'no image registry is reachable for an Oracle Database image', 'Oracle adapter against a real server', () => {
  it('connects in thin mode and reads dba_users, dba_role_privs, dba_sys_privs', async () => {
    const [host, portService, user, password] = ORACLE!.split(':');
    const [port, service] = portService.split('/');
    const info = { db_type: 'oracle' as const, host, port: Number(port), database: service, username: user, password, ssl: 'disable' as const, timeoutMs: 10_000 };
    expect((await testConnection(info)).server_version).toMatch(/Oracle/);
    expect((await readAccounts(info)).accounts.length).toBeGreaterThan(0);
  });
});

describe('SQL Server and Oracle drivers load and fail clearly without a server', () => {
  it('a refused SQL Server connection says so, without the password', async () => {
    const info = { db_type: 'sqlserver' as const, host: '127.0.0.1', port: 1, database: 'master', username: 'sa', password: 'Very-Secret-1', ssl: 'disable' as const, timeoutMs: 3000 };
    const err = await testConnection(info).then(() => null, (e) => e);
    expect(err.kind).toBe('refused');
    expect(err.message).not.toContain('Very-Secret-1');
  });

  it('a refused Oracle connection (thin mode) says so, without the password', async () => {
    const info = { db_type: 'oracle' as const, host: '127.0.0.1', port: 1, database: 'FREEPDB1', username: 'system', password: 'Very-Secret-2', ssl: 'disable' as const, timeoutMs: 3000 };
    const err = await testConnection(info).then(() => null, (e) => e);
    expect(['refused', 'network', 'timeout']).toContain(err.kind);
    expect(err.message).not.toContain('Very-Secret-2');
  });

  it('classifies driver errors by what failed', () => {
    const info = { host: 'h', port: 1, password: 'pw-secret', db_type: 'sqlserver' as const };
    expect(classifyError({ code: 'ELOGIN', message: "Login failed for user 'sa'." }, info).kind).toBe('auth');
    expect(classifyError({ message: 'ORA-01017: invalid username/password; logon denied' }, { ...info, db_type: 'oracle' }).kind).toBe('auth');
    expect(classifyError({ code: 'ESOCKET', message: 'getaddrinfo ENOTFOUND h' }, info).kind).toBe('dns');
    expect(classifyError({ message: 'self-signed certificate in certificate chain' }, info).kind).toBe('tls');
    expect(classifyError({ message: 'password pw-secret rejected' }, info).message).not.toContain('pw-secret');
  });
});
