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

  it('a numeric id past PostgreSQL’s integer range on a compat route is a 404, not a 500', async () => {
    const admin = await api.admin();
    for (const id of ['2147483648', '99999999999999999999', '0']) {
      const res = await api.call('GET', `/api/server/status/${id}`, { token: admin });
      expect(res.status).toBe(404);
    }
  });
});
