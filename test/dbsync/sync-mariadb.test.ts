import { startTestApi, type TestApi } from '../support/api';
import { describeIfRunnable } from '../support/environment';
import { addCredential, addInstance, MARIADB_MISSING, startMariaDb, uid, waitOperation, type MariaDb, startBatch } from '../support/dbsync';
import { parseMysqlGrants } from '../../activities/dbsync/account-readers';

describe('SHOW GRANTS parsing', () => {
  it('reads privileges per scope, roles and GRANT OPTION, ignoring password clauses', () => {
    const parsed = parseMysqlGrants([
      "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*ABCDEF'",
      'GRANT SELECT, INSERT, UPDATE (a, b) ON `shop`.* TO `app`@`%` WITH GRANT OPTION',
      'GRANT DELETE ON `shop`.`orders` TO `app`@`%`',
      'GRANT `reporting` TO `app`@`%`',
    ]);
    expect(parsed.privileges).toEqual([
      { scope: 'database', object: 'shop', privilege: 'GRANT OPTION' },
      { scope: 'database', object: 'shop', privilege: 'INSERT' },
      { scope: 'database', object: 'shop', privilege: 'SELECT' },
      { scope: 'database', object: 'shop', privilege: 'UPDATE' },
      { scope: 'table', object: 'shop.orders', privilege: 'DELETE' },
    ]);
    expect(parsed.roles).toEqual(['reporting']);
    expect(parsed.grantOption).toBe(true);
    expect(JSON.stringify(parsed)).not.toContain('ABCDEF');
  });
});

describeIfRunnable(MARIADB_MISSING, 'account sync against a real MariaDB', () => {
  let api: TestApi;
  let db: MariaDb;
  let instanceId: number;
  let token: string;
  const id = uid();
  const u = { dba: `dba_${id}`, app: `app_${id}`, ro: `ro_${id}`, gone: `gone_${id}`, locked: `lk_${id}` };

  beforeAll(async () => {
    api = await startTestApi();
    token = await api.admin();
    db = await startMariaDb();
    await db.admin(`
      CREATE DATABASE shop_${id};
      CREATE TABLE shop_${id}.orders (id int);
      CREATE USER '${u.dba}'@'%' IDENTIFIED BY 'x1'; GRANT ALL PRIVILEGES ON *.* TO '${u.dba}'@'%' WITH GRANT OPTION;
      CREATE USER '${u.app}'@'10.0.0.%' IDENTIFIED BY 'x2'; GRANT SELECT, INSERT, UPDATE ON shop_${id}.* TO '${u.app}'@'10.0.0.%';
      CREATE USER '${u.ro}'@'%' IDENTIFIED BY 'x3'; GRANT SELECT ON shop_${id}.orders TO '${u.ro}'@'%';
      CREATE ROLE reporting_${id}; GRANT SELECT ON shop_${id}.* TO reporting_${id}; GRANT reporting_${id} TO '${u.ro}'@'%';
      CREATE USER '${u.gone}'@'localhost' IDENTIFIED BY 'x4';
      CREATE USER '${u.locked}'@'%' IDENTIFIED BY 'x5' ACCOUNT LOCK;
      CREATE USER 'idcflow_sync'@'127.0.0.1' IDENTIFIED BY 'sync-pw-${id}'; GRANT SELECT ON mysql.* TO 'idcflow_sync'@'127.0.0.1';
    `);
    const cred = await addCredential(api, 'idcflow_sync', `sync-pw-${id}`);
    instanceId = (await addInstance(api, { db_type: 'mysql', host: db.host, port: db.port, credential_id: cred })).id;
  }, 120_000);
  afterAll(async () => {
    await db?.stop();
    await api?.close();
  });

  const accounts = async () => {
    const res = await api.call('GET', `/api/v1/db/accounts?instance_id=${instanceId}&size=100`, { token });
    return Object.fromEntries(res.body.data.accounts.map((a: { username: string }) => [a.username, a])) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  it('tests the connection with mysql2', async () => {
    const res = await api.call('POST', `/api/v1/db/instances/${instanceId}/test`, { token });
    expect(res.body.data).toMatchObject({ success: true, server_version: expect.stringMatching(/MariaDB/) });
    const bad = await api.call('POST', '/api/test-connection', { token, body: { db_type: 'mysql', host: db.host, port: db.port, username: 'idcflow_sync', password: 'not-it-at-all' } });
    expect(bad.body.data).toMatchObject({ success: false, error_type: 'auth' });
    expect(bad.text).not.toContain('not-it-at-all');
  });

  it('syncs users, hosts, grants, roles and locks; a second sync logs the changes', async () => {
    const first = await api.call('POST', `/api/v1/db/instances/${instanceId}/sync`, { token });
    const op = await waitOperation(api, first.body.data.operation.id);
    expect(op.result).toMatchObject({ status: 'completed', successful_instances: 1 });
    let a = await accounts();
    expect(a[u.dba]).toMatchObject({ host: '%', account_key: `${u.dba}@%`, is_superuser: true });
    expect(a[u.dba].capabilities).toContain('GRANT OPTION');
    expect(a[u.app]).toMatchObject({ host: '10.0.0.%', is_superuser: false });
    expect(a[u.app].privileges).toEqual(expect.arrayContaining([{ scope: 'database', object: `shop_${id}`, privilege: 'INSERT' }]));
    expect(a[u.ro].privileges).toEqual([{ scope: 'table', object: `shop_${id}.orders`, privilege: 'SELECT' }]);
    expect(a[u.ro].roles).toEqual([`reporting_${id}`]);
    expect(a[`reporting_${id}`]).toBeUndefined(); // roles are not accounts
    expect(a[u.locked]).toMatchObject({ is_locked: true, can_login: false });

    await db.admin(`
      REVOKE INSERT, UPDATE ON shop_${id}.* FROM '${u.app}'@'10.0.0.%';
      DROP USER '${u.gone}'@'localhost';
      ALTER USER '${u.locked}'@'%' ACCOUNT UNLOCK;
    `);
    const second = await api.call('POST', '/api/v1/db/sessions', { token, body: { db_type: 'mysql', instance_ids: [instanceId] } });
    const sid = second.body.data.operation.id;
    expect((await waitOperation(api, sid)).status).toBe('succeeded');
    const changes = (await api.call('GET', `/api/v1/db/account-changes?session_id=${encodeURIComponent(sid)}&size=100`, { token })).body.data.changes;
    const by = (key: string) => changes.filter((c: { account_key: string }) => c.account_key === key).map((c: { change_type: string }) => c.change_type).sort();
    expect(by(`${u.app}@10.0.0.%`)).toEqual(['modify_privilege']);
    const diff = changes.find((c: { account_key: string }) => c.account_key === `${u.app}@10.0.0.%`).diff;
    expect(diff.privileges.removed.map((p: { privilege: string }) => p.privilege).sort()).toEqual(['INSERT', 'UPDATE']);
    expect(by(`${u.gone}@localhost`)).toEqual(['delete']);
    expect(by(`${u.locked}@%`)).toEqual(['modify_other']);
    expect(by(`${u.dba}@%`)).toEqual([]);
    a = await accounts();
    expect(a[u.gone].is_active).toBe(false);
    expect(a[u.locked].is_locked).toBe(false);

    const batch = await startBatch(api, token, { instance_ids: [instanceId] });
    expect((await waitOperation(api, batch.body.data.operation.id)).status).toBe('succeeded');
    const matches = (await api.call('GET', `/api/v1/db/batches/${encodeURIComponent(batch.body.data.operation.id)}/matches?size=100`, { token })).body.data.matches;
    const codes = (name: string) => matches.filter((m: { username: string }) => m.username === name).map((m: { classification_code: string }) => m.classification_code).sort();
    expect(codes(u.dba)).toContain('super_admin');
    expect(codes(u.app)).toEqual(['read_only']);
    expect(codes(u.ro)).toEqual(['read_only']);
  });
});
