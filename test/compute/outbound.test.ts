import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApi, expectError, type TestApi } from '../support/api';
import { addHost } from '../support/compute';
import { BlockedAddressError, safeGet } from '../../activities/webhooks/safe-request';

/**
 * Issue 22: the platform's own fetches (a libvirt host's base image download, an ACME directory) get the SSRF checks
 * of webhooks. This API has no private network allowed (the suite's default allows its local servers).
 */
let api: TestApi;
let admin: string;
let server: http.Server;
let origin: string;
beforeAll(async () => {
  api = await startTestApi({ IDCFLOW_OUTBOUND_ALLOW_PRIVATE: '' });
  admin = await api.admin();
  server = http.createServer((req, res) => {
    if (req.url?.startsWith('/redirect')) {
      res.writeHead(302, { location: `http://127.0.0.2:${(server.address() as AddressInfo).port}/image` });
      return res.end();
    }
    res.end('image bytes');
  });
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', () => r()));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await api?.close();
  await new Promise<void>((r) => server.close(() => r()));
});

const libvirtHost = async () => {
  // Inserted directly: the check comes before anything reaches the host, whether or not libvirt runs here.
  const [row] = await api.deps.knex('hosts').insert({ name: `lv-${crypto.randomBytes(4).toString('hex')}`, engine_type: 'libvirt_qemu', address: 'local' }).returning('id');
  return row.id as number;
};

describe('outbound fetches refuse private targets unless the operator allowed them', () => {
  it('a base image URL on loopback, link-local, a private network or with credentials is a 422 naming url; nothing starts', async () => {
    const hostId = await libvirtHost();
    const sha256 = '0'.repeat(64);
    for (const url of [`${origin}/blank.qcow2`, 'http://169.254.169.254/latest/meta-data', 'http://[::1]/x.qcow2', 'http://10.1.2.3/x.qcow2', 'http://localhost/x.qcow2', 'http://u:p@example.com/x.qcow2']) {
      const res = await api.call('POST', `/api/v1/hosts/${hostId}/images`, { token: admin, body: { name: 'blank', url, sha256 } });
      expectError(res, 422, 'VALIDATION_ERROR');
      expect(res.body.error.details.field).toBe('url');
    }
    expect(await api.deps.knex('operations').where({ type: 'image.upload' }).whereRaw('resource_id LIKE ?', [`${hostId}/%`])).toEqual([]);
    expectError(await api.call('POST', `/api/v1/hosts/${hostId}/images`, { body: { name: 'blank', url: `${origin}/x`, sha256 } }), 401, 'INVALID_CREDENTIALS');
    const user = await api.createUser('user');
    expectError(await api.call('POST', `/api/v1/hosts/${hostId}/images`, { token: user.token, body: { name: 'blank', url: `${origin}/x`, sha256 } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('POST', '/api/v1/hosts/999999/images', { token: admin, body: { name: 'blank', url: 'https://example.com/x', sha256 } }), 404, 'RESOURCE_NOT_FOUND');
  });

  it('the download itself checks every hop when it connects: a redirect to an address outside the allow-list is refused', async () => {
    await expect(safeGet(`${origin}/image`, { allowPrivate: [], idleMs: 5000 })).rejects.toBeInstanceOf(BlockedAddressError);
    const ok = await safeGet(`${origin}/image`, { allowPrivate: ['127.0.0.1/32'], idleMs: 5000 });
    expect(ok.statusCode).toBe(200);
    ok.resume();
    await expect(safeGet(`${origin}/redirect`, { allowPrivate: ['127.0.0.1/32'], idleMs: 5000 })).rejects.toThrow(/127\.0\.0\.2 is not a public address/);
    const both = await safeGet(`${origin}/redirect`, { allowPrivate: ['127.0.0.0/8'], idleMs: 5000 });
    expect(both.statusCode).toBe(200);
    both.resume();
  });

  it('an ACME directory on a private or unresolvable host is a 422 naming directory', async () => {
    const host = await addHost(api, { use_agent: true });
    for (const directory of ['https://127.0.0.1:14000/dir', 'https://10.78.0.2:14000/dir', 'https://[fe80::1]/dir', 'https://no-such-host.invalid/dir']) {
      const res = await api.call('PUT', `/api/v1/hosts/${host.id}/network/acme`, { token: admin, body: { directory } });
      expectError(res, 422, 'VALIDATION_ERROR');
      expect(res.body.error.details.field).toBe('directory');
    }
    expect(await api.deps.knex('host_acme').where({ host_id: host.id })).toEqual([]);
  });
});
