import crypto from 'node:crypto';
import { startTestApi, type TestApi } from '../support/api';

let api: TestApi;
beforeAll(async () => { api = await startTestApi(); });
afterAll(async () => { await api.close(); });

const uid = () => crypto.randomBytes(4).toString('hex');

async function tokenFor(credential: string, scopes?: string[]) {
  return api.call('POST', '/api/v1/tokens', { token: credential, body: { name: `t-${uid()}`, ...(scopes ? { scopes } : {}) } });
}

describe('activities', () => {
  it('a user and a viewer see only their own activity; an admin sees everyone’s', async () => {
    const a = await api.createUser('user');
    const viewer = await api.createUser('viewer');
    await tokenFor(a.token, ['view']);
    await tokenFor(viewer.token, ['view']);
    for (const who of [a, viewer]) {
      const native = await api.call('GET', '/api/v1/dashboard/activities?limit=200', { token: who.token });
      expect(native.status).toBe(200);
      const mine = native.body.data.activities as Array<{ user_id: number | null; action: string }>;
      expect(mine.some((r) => r.action === 'token_create')).toBe(true);
      expect(mine.filter((r) => r.user_id !== who.id)).toEqual([]);
      const seed = await api.call('GET', '/api/activities?limit=200', { token: who.token });
      expect(seed.body.status).toBe('success');
      expect((seed.body.data as Array<{ user_id: number | null }>).filter((r) => r.user_id !== who.id)).toEqual([]);
    }
    const all = await api.call('GET', '/api/v1/dashboard/activities?limit=200', { token: await api.admin() });
    const users = new Set((all.body.data.activities as Array<{ user_id: number | null }>).map((r) => r.user_id));
    expect(users.has(a.id) && users.has(viewer.id)).toBe(true);
  });
});

describe('connection tests answer within their own timeout', () => {
  it('with no worker to run it, 503 within the timeout and grace, naming the cause — not after 40 s', async () => {
    const unpolled = await startTestApi({ IDCFLOW_TASK_QUEUE: `nobody-polls-${uid()}` });
    try {
      const started = Date.now();
      // An admin's: a non-admin's ad-hoc test may not reach loopback (tenancy.test.ts).
      const res = await unpolled.call('POST', '/api/test-connection', { token: await api.admin(), body: { db_type: 'postgresql', host: '127.0.0.1', port: 1, username: 'x', password: 'y', timeout: 1 } });
      const took = Date.now() - started;
      expect({ status: res.status, error: res.body.error }).toEqual({ status: 503, error: 'SERVICE_UNAVAILABLE' });
      expect(res.body.message).toMatch(/no worker took it up within 6 s/);
      expect(took).toBeGreaterThanOrEqual(6000);
      expect(took).toBeLessThan(12_000);
    } finally {
      await unpolled.close();
    }
  });
});
