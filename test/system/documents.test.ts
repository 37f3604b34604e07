import { useOwnDatabase } from '../userdata/own-database';
import { startTestApi, eventually, type TestApi, type TestUser } from '../support/api';
import { SettingsStore } from '../../api/userdata/settings/store';

// Seed 001's saving/loader change server-wide settings: a database of this file's own.
let api: TestApi;
let other: TestApi;
let admin: string;
let user: TestUser;

beforeAll(async () => {
  await useOwnDatabase('system_documents');
  api = await startTestApi({ IDCFLOW_SERVER_TOKEN: 'initial-server-token-0123456789abcdef' });
  other = await startTestApi();
  admin = await api.admin();
  user = await api.createUser('user');
}, 60_000);
afterAll(async () => {
  await api?.close();
  await other?.close();
});

/** Everything a document covers, read straight from PostgreSQL. */
async function stored() {
  const { knex } = api.deps;
  return {
    system: await knex('system_settings').orderBy('key').select('key', 'value'),
    server: await new SettingsStore(api.deps, 0).read(),
    nodes: await knex('cluster_nodes').where({ kind: 'external' }).orderBy('id').select('id', 'health_url', 'capabilities', 'metadata'),
    secrets: await knex('settings_secrets').orderBy('name').select('name', 'sealed'),
  };
}

describe('seed 001 POST /api/system/saving and /api/system/loader', () => {
  it('saves the configuration as a versioned document without secrets, and loads it back all at once', async () => {
    await api.call('PUT', '/api/v1/system/config', { token: admin, body: { log_level: 'WARNING', api_rate_limit: 700, backup_retention: 45 } });
    await api.call('POST', '/api/settings/server', { body: { server_token: 'initial-server-token-0123456789abcdef', app_settings: { site_name: 'Saved site' }, email_settings: { smtp_password: 'smtp-secret-value', smtp_port: 2525 } } });
    expect((await api.call('POST', '/api/v1/cluster/nodes', { token: admin, body: { id: 'edge-1', health_url: 'http://127.0.0.1:9/health', capabilities: ['api'], metadata: { region: 'eu' } } })).status).toBe(201);

    const saved = await api.call('POST', '/api/system/saving', { token: admin });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ code: 200, msg: 'success', data: { snapshot_id: expect.any(Number), document: { format: 'idcflow.configuration', version: 1 } } });
    const doc = saved.body.data.document;
    // What was configured over the environment's defaults.
    expect(doc.system_settings).toEqual({ log_level: 'WARNING', api_rate_limit: 700, backup_retention: 45 });
    expect(doc.server_settings).toEqual({ app_settings: { site_name: 'Saved site' }, email_settings: { smtp_port: 2525 } });
    expect(doc.cluster_nodes).toEqual([{ id: 'edge-1', host: '127.0.0.1', port: 9, health_url: 'http://127.0.0.1:9/health', capabilities: ['api'], metadata: { region: 'eu' } }]);
    expect(saved.text).not.toMatch(/smtp-secret-value|initial-server-token|smtp_password|server_token/);
    const snapshot = await api.deps.knex('system_config_snapshots').where({ id: saved.body.data.snapshot_id }).first();
    expect(snapshot.document).toEqual(doc);
    const before = await stored();

    // Everything changes after the save…
    await api.call('PUT', '/api/v1/system/config', { token: admin, body: { log_level: 'ERROR', api_rate_limit: 0, session_timeout: 300 } });
    await api.call('POST', '/api/settings/server', { body: { server_token: 'initial-server-token-0123456789abcdef', app_settings: { site_name: 'Changed' } } });
    await api.call('DELETE', '/api/v1/cluster/nodes/edge-1', { token: admin });
    await api.call('POST', '/api/v1/cluster/nodes', { token: admin, body: { id: 'edge-2', health_url: 'https://127.0.0.1:8443/ready' } });
    await eventually(async () => other.deps.logger.level === 'error', 10_000, 'the other API at ERROR');

    // …and the document puts it back: the settings, the server settings, the external nodes; secrets untouched; every process.
    const loaded = await api.call('POST', '/api/system/loader', { token: admin, body: doc });
    expect(loaded.status).toBe(200);
    expect(loaded.body.data).toMatchObject({ loaded: { system_settings: expect.arrayContaining(['log_level', 'api_rate_limit']), cluster_nodes: 1 }, document_version: 1 });
    const after = await stored();
    expect(after.server).toEqual(before.server);
    expect(after.nodes).toEqual(before.nodes);
    expect(after.secrets).toEqual(before.secrets);
    // session_timeout, set after the save, is back to the environment's default.
    expect(Object.fromEntries(after.system.map((r) => [r.key, r.value]))).toEqual(doc.system_settings);
    expect((await api.call('GET', '/api/v1/system/config', { token: admin })).body.data).toMatchObject({ session_timeout: 900, sources: { session_timeout: 'environment' } });
    await eventually(async () => other.deps.logger.level === 'warn' && other.deps.system.settings.current.api_rate_limit === 700, 10_000, 'the other API to apply the document');
    const audit = await api.deps.knex('audit_log').where({ module: 'system', action: 'config_load' }).first();
    expect(audit).toMatchObject({ username: 'admin' });

    // Without a body, the loader takes the newest saved document.
    await api.call('PUT', '/api/v1/system/config', { token: admin, body: { backup_retention: 3 } });
    expect((await api.call('POST', '/api/system/loader', { token: admin })).status).toBe(200);
    expect((await api.call('GET', '/api/v1/system/config', { token: admin })).body.data.backup_retention).toBe(45);
  });

  it('refuses an invalid document naming each bad field, and changes nothing', async () => {
    const doc = (await api.call('POST', '/api/system/saving', { token: admin })).body.data.document;
    const before = await stored();
    const broken = {
      ...doc,
      system_settings: { ...doc.system_settings, log_level: 'LOUDEST' },
      server_settings: { ...doc.server_settings, email_settings: { smtp_password: 'sneaked-in' }, app_settings: { site_name: 'Would change' } },
      cluster_nodes: [{ id: 'edge-9', health_url: 'file:///etc/passwd' }],
    };
    const res = await api.call('POST', '/api/system/loader', { token: admin, body: broken });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 422, data: { error: 'VALIDATION_ERROR' } });
    const fields = res.body.data.details.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['system_settings.log_level', 'server_settings.email_settings', 'cluster_nodes.0.health_url']));
    expect(await stored()).toEqual(before);

    const newer = await api.call('POST', '/api/system/loader', { token: admin, body: { ...doc, version: 2 } });
    expect(newer.status).toBe(422);
    expect(newer.body.data.details.errors[0]).toMatchObject({ field: 'version' });
    expect((await api.call('POST', '/api/system/loader', { token: admin, body: { something: 'else' } })).status).toBe(422);
    expect((await api.call('POST', '/api/system/loader', { token: admin, rawBody: '[1,' })).status).toBe(400);

    // A valid part beside one that cannot be applied (an external node taking a running API's id): nothing is written.
    const apiNode = (await api.call('GET', '/api/v1/cluster/nodes?kind=api', { token: admin })).body.data.nodes[0].id;
    const clash = await api.call('POST', '/api/system/loader', { token: admin, body: { ...doc, system_settings: { log_level: 'DEBUG' }, cluster_nodes: [{ id: apiNode, health_url: 'http://127.0.0.1:9/' }] } });
    expect(clash.status).toBe(422);
    expect(clash.body.data.details.errors[0]).toMatchObject({ field: 'cluster_nodes.0.id' });
    expect(await stored()).toEqual(before);
  });

  it('refuses no token (401) and a non-admin (403) in seed 001\'s envelope', async () => {
    for (const path of ['/api/system/saving', '/api/system/loader']) {
      const none = await api.call('POST', path);
      expect(none.status).toBe(401);
      expect(none.body).toMatchObject({ code: 401, data: { error: 'INVALID_CREDENTIALS' } });
      const wrong = await api.call('POST', path, { token: user.token });
      expect(wrong.status).toBe(403);
      expect(wrong.body).toMatchObject({ code: 403, data: { error: 'INSUFFICIENT_PERMISSIONS' } });
    }
  });

  it('answers 404 for the loader without a body when nothing was ever saved', async () => {
    await api.deps.knex('system_config_snapshots').delete();
    const res = await api.call('POST', '/api/system/loader', { token: admin });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 404, data: { error: 'RESOURCE_NOT_FOUND' } });
  });
});
