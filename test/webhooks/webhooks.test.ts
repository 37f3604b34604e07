import crypto from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { startTestApi, expectError, eventually, type TestApi } from '../support/api';
import { addHost, createInstance, uniq } from '../support/compute';
import { startSmtp } from '../support/rentals';
import { spawnWorker, type Spawned } from '../support/processes';
import { SECRET_NAMES } from '../../api/platform/auth/credentials';
import { startReceiver } from './support';

let api: TestApi;
let worker: Spawned;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let admin: string;
beforeAll(async () => {
  const queue = uniq('webhooks');
  [receiver, smtp] = await Promise.all([startReceiver(), startSmtp()]);
  const webhooks = { IDCFLOW_WEBHOOK_RETRY_SECONDS: '0.2,0.2', IDCFLOW_WEBHOOK_DISABLE_AFTER: '2' };
  worker = await spawnWorker(queue, { ...webhooks, IDCFLOW_SMTP_URL: smtp.url });
  api = await startTestApi({ ...webhooks, IDCFLOW_TASK_QUEUE: queue });
  admin = await api.admin();
});
afterAll(async () => {
  await api?.close();
  await worker?.stop();
  await Promise.all([receiver?.close(), smtp?.close()]);
});

/** An endpoint on the loopback receiver: made by `token`, then allowed to a private target by an admin. */
async function loopbackEndpoint(token: string, path: string, body: Record<string, unknown> = {}) {
  const refused = await api.call('POST', '/api/v1/webhooks', { token, body: { url: `${receiver.url}${path}`, ...body } });
  expectError(refused, 422, 'VALIDATION_ERROR');
  expect(refused.body.error.details).toMatchObject({ field: 'url', message: expect.stringMatching(/127\.0\.0\.1.*not a public address/) });
  const res = await api.call('POST', '/api/v1/webhooks', { token: admin, body: { url: `${receiver.url}${path}`, allow_private: true, ...body } });
  expect(res.status).toBe(201);
  return res.body.data as { id: number; secret: string };
}

const deliveriesTo = (path: string) => receiver.received.filter((r) => r.path === path);

describe('webhooks (Standard Webhooks signatures, retries, disabling, SSRF checks)', () => {
  it('delivers an operation\'s end to its creator\'s endpoint and to admins\', signed so the Standard Webhooks library verifies it', async () => {
    const user = await api.createUser('user');
    const mine = await api.call('POST', '/api/v1/webhooks', { token: user.token, body: { url: 'https://hooks.example.test/x', event_types: ['operation.succeeded'] } });
    expect(mine.status).toBe(201);
    expect(mine.body.data.secret).toMatch(/^whsec_/);
    expect((await api.call('GET', `/api/v1/webhooks/${mine.body.data.id}`, { token: user.token })).body.data).not.toHaveProperty('secret');
    // Only an admin may point an endpoint at a private address; here the admin's endpoint gets the user's operation.
    expectError(await api.call('POST', '/api/v1/webhooks', { token: user.token, body: { url: `${receiver.url}/u`, allow_private: true } }), 403, 'INSUFFICIENT_PERMISSIONS');
    const endpoint = await loopbackEndpoint(admin, '/ops', { event_types: ['operation.succeeded'], operation_type: 'instance.create' });
    // The creator's own endpoint, and a stranger's, both pointed at the receiver by an admin (they stay their owners').
    const creatorPath = `/creator-${uniq('u')}`;
    expect((await api.call('PUT', `/api/v1/webhooks/${mine.body.data.id}`, { token: admin, body: { url: `${receiver.url}${creatorPath}`, allow_private: true } })).status).toBe(200);
    const stranger = await api.createUser('user');
    const theirs = await api.call('POST', '/api/v1/webhooks', { token: stranger.token, body: { url: 'https://hooks.example.test/stranger', event_types: ['operation.succeeded'] } });
    expect((await api.call('PUT', `/api/v1/webhooks/${theirs.body.data.id}`, { token: admin, body: { url: `${receiver.url}/stranger`, allow_private: true } })).status).toBe(200);

    const host = await addHost(api, {});
    const { op } = await createInstance(api, user.token, { host_id: host.id });
    expect(op.status).toBe('succeeded');
    const about = (path: string) => deliveriesTo(path).filter((r) => JSON.parse(r.body).data.id === op.id);
    const [got, ownGot] = await eventually(async () => (about('/ops').length && about(creatorPath).length ? [about('/ops')[0], about(creatorPath)[0]] : null), 30_000, 'both deliveries');
    const payload = new Webhook(endpoint.secret).verify(got.body, got.headers as Record<string, string>) as { type: string; data: { status: string; created_by: number } };
    expect(payload).toMatchObject({ type: 'operation.succeeded', data: { status: 'succeeded', created_by: user.id } });
    expect(new Webhook(mine.body.data.secret).verify(ownGot.body, ownGot.headers as Record<string, string>)).toMatchObject({ type: 'operation.succeeded', data: { id: op.id, created_by: user.id } });
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(got.body, got.headers as Record<string, string>)).toThrow();
    // One event's deliveries are recorded together, before any is sent: the stranger's endpoint has none.
    expect(await api.deps.knex('webhook_deliveries').where({ endpoint_id: theirs.body.data.id })).toEqual([]);
    expect(about('/stranger')).toEqual([]);

    const log = await eventually(async () => {
      const res = await api.call('GET', `/api/v1/webhooks/${endpoint.id}/deliveries`, { token: admin });
      return res.body.data.deliveries[0]?.status === 'succeeded' ? res : null;
    }, 10_000, 'the delivery recorded');
    expect(log.body.data.deliveries[0]).toMatchObject({ event_type: 'operation.succeeded', status: 'succeeded', attempts: 1, attempt_log: [{ attempt: 1, status_code: 204 }] });
  });

  it('signs with both secrets during a rotation, so a receiver on either verifies', async () => {
    const endpoint = await loopbackEndpoint(admin, '/rotate', { event_types: ['webhook.test'] });
    const rotated = await api.call('POST', `/api/v1/webhooks/${endpoint.id}/rotate-secret`, { token: admin });
    expect(rotated.status).toBe(200);
    expect(rotated.body.data.previous_valid_until).toEqual(expect.any(String));
    expect((await api.call('POST', `/api/v1/webhooks/${endpoint.id}/test`, { token: admin })).status).toBe(202);
    const got = await eventually(async () => deliveriesTo('/rotate')[0], 30_000, 'the test delivery');
    expect((got.headers['webhook-signature'] as string).split(' ')).toHaveLength(2);
    for (const secret of [endpoint.secret, rotated.body.data.secret]) {
      expect(new Webhook(secret).verify(got.body, got.headers as Record<string, string>)).toMatchObject({ type: 'webhook.test' });
    }
  });

  it('retries a failing receiver, then disables the endpoint and tells its owner once; a replay after enabling it delivers', async () => {
    const endpoint = await loopbackEndpoint(admin, '/fail/a', { event_types: ['webhook.test'] });
    for (let i = 0; i < 2; i++) expect((await api.call('POST', `/api/v1/webhooks/${endpoint.id}/test`, { token: admin })).status).toBe(202);
    const disabled = await eventually(async () => {
      const res = await api.call('GET', `/api/v1/webhooks/${endpoint.id}`, { token: admin });
      return res.body.data.enabled === false ? res.body.data : null;
    }, 30_000, 'the endpoint disabled');
    expect(disabled.disabled_reason).toMatch(/2 deliveries in a row failed.*HTTP 500/);
    expect(deliveriesTo('/fail/a')).toHaveLength(6); // two deliveries, three attempts each
    const log = (await api.call('GET', `/api/v1/webhooks/${endpoint.id}/deliveries`, { token: admin })).body.data.deliveries;
    expect(log.map((d: { status: string; attempts: number }) => [d.status, d.attempts])).toEqual([['failed', 3], ['failed', 3]]);
    expect(log[0].attempt_log[0]).toMatchObject({ status_code: 500, response_excerpt: 'receiver is down' });
    await eventually(async () => smtp.received.filter((m) => m.subject.includes(`endpoint ${endpoint.id} was disabled`)).length === 1, 10_000, 'the mail to the owner');

    expectError(await api.call('POST', `/api/v1/webhooks/${endpoint.id}/deliveries/${log[0].id}/replay`, { token: admin }), 409, 'CONFLICT');
    expect((await api.call('PUT', `/api/v1/webhooks/${endpoint.id}`, { token: admin, body: { enabled: true, url: `${receiver.url}/replayed` } })).status).toBe(200);
    expect((await api.call('POST', `/api/v1/webhooks/${endpoint.id}/deliveries/${log[0].id}/replay`, { token: admin })).status).toBe(202);
    const replayed = await eventually(async () => deliveriesTo('/replayed')[0], 30_000, 'the replay');
    expect(replayed.headers['webhook-id']).toBe(log[0].id);
  });

  it('refuses bad input, private and link-local targets, other users\' endpoints, no token, and missing ones', async () => {
    const user = await api.createUser('user');
    const other = await api.createUser('user');
    for (const url of ['ftp://example.test/x', 'not a url', 'http://169.254.169.254/latest', 'http://[::1]:80/', 'http://10.0.0.1/', 'http://user:pw@example.test/']) {
      const res = await api.call('POST', '/api/v1/webhooks', { token: user.token, body: { url } });
      expectError(res, 422, 'VALIDATION_ERROR');
      expect(res.body.error.details.field).toBe('url');
    }
    expectError(await api.call('POST', '/api/v1/webhooks', { token: user.token, body: { url: 'https://example.test', event_types: ['nope'] } }), 422, 'VALIDATION_ERROR');
    const mine = (await api.call('POST', '/api/v1/webhooks', { token: user.token, body: { url: 'https://hooks.example.test/hook' } })).body.data;
    expectError(await api.call('GET', `/api/v1/webhooks/${mine.id}`, { token: other.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('DELETE', `/api/v1/webhooks/${mine.id}`, { token: other.token }), 404, 'RESOURCE_NOT_FOUND');
    expect((await api.call('GET', '/api/v1/webhooks', { token: other.token })).body.data.endpoints).toEqual([]);
    expectError(await api.call('GET', '/api/v1/webhooks'), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('GET', '/api/v1/webhooks/999999', { token: user.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', `/api/v1/webhooks/${mine.id}/deliveries/msg_000000000000000000000000/replay`, { token: user.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('PUT', `/api/v1/webhooks/${mine.id}`, { token: user.token, body: { allow_private: true } }), 403, 'INSUFFICIENT_PERMISSIONS');
    // An admin's leave for a private target holds for the URL it was given for: the owner's new URL goes without it.
    expect((await api.call('PUT', `/api/v1/webhooks/${mine.id}`, { token: admin, body: { url: `${receiver.url}/allowed`, allow_private: true } })).body.data).toMatchObject({ allow_private: true });
    expect((await api.call('PUT', `/api/v1/webhooks/${mine.id}`, { token: user.token, body: { description: 'renamed' } })).body.data).toMatchObject({ allow_private: true });
    const repointed = await api.call('PUT', `/api/v1/webhooks/${mine.id}`, { token: user.token, body: { url: `${receiver.url}/elsewhere` } });
    expectError(repointed, 422, 'VALIDATION_ERROR');
    expect(repointed.body.error.details.field).toBe('url');
    expect((await api.call('PUT', `/api/v1/webhooks/${mine.id}`, { token: user.token, body: { url: 'https://hooks.example.test/again' } })).body.data).toMatchObject({ allow_private: false });
    expect((await api.call('DELETE', `/api/v1/webhooks/${mine.id}`, { token: user.token })).status).toBe(200);
    // Another user reaches none of an endpoint's actions, nor its deliveries; ?user_id= shows them nothing; admins see all.
    const theirs = (await api.call('POST', '/api/v1/webhooks', { token: user.token, body: { url: 'https://hooks.example.test/theirs' } })).body.data;
    const delivery = (await api.call('POST', `/api/v1/webhooks/${theirs.id}/test`, { token: user.token })).body.data;
    for (const [method, path, body] of [
      ['PUT', `/api/v1/webhooks/${theirs.id}`, { url: 'https://attacker.example.test/' }], ['POST', `/api/v1/webhooks/${theirs.id}/rotate-secret`], ['POST', `/api/v1/webhooks/${theirs.id}/test`],
      ['GET', `/api/v1/webhooks/${theirs.id}/deliveries`], ['POST', `/api/v1/webhooks/${theirs.id}/deliveries/${delivery.id}/replay`],
    ] as const) expectError(await api.call(method, path, { token: other.token, ...(body ? { body } : {}) }), 404, 'RESOURCE_NOT_FOUND');
    expect(await api.deps.knex('webhook_endpoints').where({ id: theirs.id }).first('url')).toEqual({ url: 'https://hooks.example.test/theirs' });
    expect((await api.call('GET', `/api/v1/webhooks?user_id=${user.id}`, { token: other.token })).body.data.endpoints).toEqual([]);
    expect((await api.call('GET', `/api/v1/webhooks?user_id=${user.id}`, { token: admin })).body.data.endpoints.map((e: { id: number }) => e.id)).toEqual([theirs.id]);
    expect((await api.call('GET', `/api/v1/webhooks/${theirs.id}/deliveries`, { token: admin })).body.data.deliveries.map((d: { id: string }) => d.id)).toContain(delivery.id);
    // The seed 001 system token has admin rights but is no user: an endpoint needs an owner (found by fuzzing: a 500).
    const systemToken = crypto.randomBytes(24).toString('base64url');
    await api.deps.secrets.set(SECRET_NAMES.systemToken, systemToken, null);
    expectError(await api.call('POST', '/api/v1/webhooks', { token: systemToken, body: { url: 'https://hooks.example.test/s' } }), 403, 'INSUFFICIENT_PERMISSIONS');
  });
});
