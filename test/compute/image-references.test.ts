import crypto from 'node:crypto';
import { startTestApi, expectError, type TestApi } from '../support/api';

let api: TestApi;
beforeAll(async () => { api = await startTestApi(); });
afterAll(async () => { await api.close(); });

const uid = () => crypto.randomBytes(4).toString('hex');

/** Image references and compat ids are checked before anything reaches an engine or PostgreSQL (issue 17). */
describe('input checked before any engine', () => {
  it('an image reference outside the registry grammar is refused before any engine', async () => {
    const user = await api.createUser('user');
    for (const image of ['Ubuntu', 'nginx..latest', 'a//b', '0'.repeat(300), 'nginx:-bad', 'nginx@sha256:short']) {
      const native = await api.call('POST', '/api/v1/instances', { token: user.token, body: { name: `i-${uid()}`, engine_type: 'docker', image } });
      expectError(native, 422, 'VALIDATION_ERROR');
      expect(native.body.error.details.errors.map((e: { field: string }) => e.field)).toContain('image');
      const seed001 = await api.call('POST', '/api/client/create/no-such-host', { token: user.token, body: { vm_name: 'v', image } });
      expect({ status: seed001.status, error: seed001.body.data?.error }).toEqual({ status: 422, error: 'VALIDATION_ERROR' });
      const seed000 = await api.call('POST', '/api/containers', { token: user.token, body: { container_name: `c${uid()}`, image } });
      expect(seed000.body.code).toBe('VALIDATION_ERROR');
    }
    for (const image of ['nginx', 'nginx:1.27-alpine', 'registry.example.com:5000/team/app_x:v1', 'ghcr.io/a/b@sha256:' + 'a'.repeat(64), 'localhost/busybox']) {
      const ok = await api.call('POST', '/api/v1/instances', { token: user.token, body: { name: `i-${uid()}`, engine_type: 'docker', image }, headers: { prefer: 'respond-async' } });
      expect(ok.body.error?.details?.errors?.map((e: { field: string }) => e.field) ?? []).not.toContain('image');
    }
  });

  it('a docker host pulls only from its allowed registries: another registry is a 422 naming image before any pull, nothing recorded', async () => {
    const admin = await api.admin();
    const user = await api.createUser('user');
    // No engine listens there: a refusal must come before anything reaches it.
    const host = (await api.call('POST', '/api/v1/hosts', { token: admin, body: { name: `reg-${uid()}`, engine_type: 'docker', address: 'unix:///nonexistent/docker.sock' } })).body.data;
    expect(host.allowed_registries).toBeNull();
    const create = (image: string, token = user.token) => api.call('POST', '/api/v1/instances', { token, body: { name: `i-${uid()}`, engine_type: 'docker', host_id: host.id, image }, headers: { prefer: 'respond-async' } });
    // The default (IDCFLOW_DOCKER_REGISTRIES; docker.io, and the suite's localhost): a registry on the host's loopback or anyone's server is refused.
    for (const image of ['evil.example.com/x:1', '127.0.0.1:5000/x', 'localhost:5000/x', 'ghcr.io/a/b:1', 'Registry/x']) {
      const res = await create(image);
      expectError(res, 422, 'VALIDATION_ERROR');
      expect(res.body.error.details.errors.map((e: { field: string }) => e.field)).toEqual(['image']);
    }
    expect(await api.deps.knex('instances').where({ host_id: host.id })).toEqual([]);
    expect(await api.deps.knex('operations').where({ resource_type: 'instance', type: 'instance.create' }).whereRaw("params->>'host' = ?", [host.name])).toEqual([]);
    for (const image of ['nginx', 'library/nginx:1.27', 'docker.io/library/busybox', 'index.docker.io/a/b']) expect((await create(image)).status).toBe(202);

    // An admin chooses the host's registries; then only those.
    const set = await api.call('PUT', `/api/v1/hosts/${host.id}`, { token: admin, body: { allowed_registries: ['GHCR.io', 'registry.example.com:5000'] } });
    expect(set.body.data.allowed_registries).toEqual(['ghcr.io', 'registry.example.com:5000']);
    expect((await create('ghcr.io/a/b:1')).status).toBe(202);
    expect((await create('registry.example.com:5000/team/app')).status).toBe(202);
    expectError(await create('nginx'), 422, 'VALIDATION_ERROR');
    // The platform's own relay image (IDCFLOW_DERP_IMAGE, a localhost/ image by default) runs on every docker host.
    expect((await create(api.config.rentals.derpImage)).status).toBe(202);
    expectError(await api.call('PUT', `/api/v1/hosts/${host.id}`, { token: user.token, body: { allowed_registries: ['evil.example.com'] } }), 403, 'INSUFFICIENT_PERMISSIONS');
    const bad = await api.call('PUT', `/api/v1/hosts/${host.id}`, { token: admin, body: { allowed_registries: ['http://evil/'] } });
    expectError(bad, 422, 'VALIDATION_ERROR');
    expect(bad.body.error.details.errors[0].field).toMatch(/^allowed_registries/);
    expect((await api.call('PUT', `/api/v1/hosts/${host.id}`, { token: admin, body: { allowed_registries: null } })).body.data.allowed_registries).toBeNull();
    expectError(await api.call('PUT', `/api/v1/hosts/${host.id}`, { body: { allowed_registries: null } }), 401, 'INVALID_CREDENTIALS');
  });

  it('a numeric id past PostgreSQL’s integer range on a compat route is a 404, not a 500', async () => {
    const admin = await api.admin();
    for (const id of ['2147483648', '99999999999999999999', '0']) {
      const res = await api.call('GET', `/api/server/status/${id}`, { token: admin });
      expect(res.status).toBe(404);
    }
  });
});
