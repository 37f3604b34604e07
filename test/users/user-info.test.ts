import crypto from 'node:crypto';
import { startTestApi, type TestApi } from '../support/api';

let api: TestApi;
beforeAll(async () => { api = await startTestApi(); });
afterAll(async () => { await api.close(); });

const uid = () => crypto.randomBytes(4).toString('hex');

describe('get_user_info', () => {
  it('answers the same for someone else’s name as for an unknown one', async () => {
    const me = await api.createUser('user');
    const other = await api.createUser('user');
    const ask = (username: string) => api.call('POST', '/api/get_user_info', { body: { api_token: me.token, username } });
    const existing = await ask(other.username);
    const unknown = await ask(`nobody_${uid()}`);
    expect(existing.status).toBe(404);
    expect(unknown.status).toBe(404);
    const shape = (b: Record<string, unknown>) => JSON.stringify(b).replace(/user [^ "]+ not found/, 'user X not found').replace(/"id":"[^"]*"/, '"id":"X"');
    expect(shape(existing.body)).toBe(shape(unknown.body));
    expect((await ask(me.username)).status).toBe(200);
  });
});
