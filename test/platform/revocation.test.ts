import { startTestApi, type TestApi } from '../support/api';

// Two API replicas against one PostgreSQL: each caches session and token checks; a change made through one must be
// refused by the other within a second (PostgreSQL NOTIFY, migration 021's triggers).
let a: TestApi;
let b: TestApi;
beforeAll(async () => {
  a = await startTestApi();
  b = await startTestApi();
  await Promise.all([a, b].map((api) => waitListening(api)));
});
afterAll(async () => { await b.close(); await a.close(); });

async function waitListening(api: TestApi) {
  const deadline = Date.now() + 10_000;
  while (!api.deps.notifications.listening) {
    if (Date.now() > deadline) throw new Error('the API never listened');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Milliseconds from now until `token` is refused (401) on `api`; fails past 1 s. */
async function refusedWithin(api: TestApi, token: string, path = '/api/v1/auth/permissions'): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const res = await api.call('GET', path, { token });
    const elapsed = performance.now() - t0;
    if (res.status === 401) return elapsed;
    expect(res.status).toBe(200);
    if (elapsed > 1000) throw new Error(`still accepted after ${elapsed.toFixed(0)} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Accepted on both replicas, so each has the check cached before the change. */
async function warm(token: string) {
  for (const api of [a, b]) for (let i = 0; i < 3; i++) expect((await api.call('GET', '/api/v1/auth/me', { token })).status).toBe(200);
}

const measured: Record<string, number> = {};
afterAll(() => { console.log('revocation reached the other replica after (ms):', measured); });

describe('session and API token checks cached on every replica', () => {
  it('asks PostgreSQL once per session, not on every request', async () => {
    const user = await a.createUser();
    const queries: string[] = [];
    const count = (q: { sql: string }) => { if (/"sessions"/.test(q.sql)) queries.push(q.sql); };
    b.deps.knex.on('query', count);
    try {
      for (let i = 0; i < 20; i++) expect((await b.call('GET', '/api/v1/auth/me', { token: user.token })).status).toBe(200);
    } finally {
      b.deps.knex.off('query', count);
    }
    expect(queries).toHaveLength(1);
  });

  it('logout on one replica is refused on the other within a second', async () => {
    const user = await a.createUser();
    await warm(user.token);
    expect((await a.call('POST', '/api/v1/auth/logout', { token: user.token })).status).toBe(200);
    measured.logout = await refusedWithin(b, user.token);
  });

  it('a password reset ends the other sessions on every replica within a second', async () => {
    const user = await a.createUser();
    const second = await a.login(user.username, user.password);
    await warm(second.access_token);
    const res = await a.call('POST', `/api/v1/users/${user.id}/reset-password`, { token: user.token, body: { new_password: 'a-new-password-1234', current_password: user.password } });
    expect(res.status).toBe(200);
    measured.password_reset = await refusedWithin(b, second.access_token);
    expect((await b.call('GET', '/api/v1/auth/me', { token: user.token })).status).toBe(200); // the session that reset it stays
  });

  it('disabling a user is refused on the other replica within a second, for sessions and API tokens', async () => {
    const user = await a.createUser();
    const token = (await a.call('POST', '/api/v1/tokens', { token: user.token, body: { name: 'replica' } })).body.data.token as string;
    await warm(user.token);
    await warm(token);
    expect((await a.call('POST', `/api/v1/users/${user.id}/toggle-status`, { token: await a.admin() })).status).toBe(200);
    const [session, apiToken] = await Promise.all([refusedWithin(b, user.token), refusedWithin(b, token)]);
    measured.disable_session = session;
    measured.disable_api_token = apiToken;
  });

  it('deleting an API token is refused on the other replica within a second', async () => {
    const user = await a.createUser();
    const created = (await a.call('POST', '/api/v1/tokens', { token: user.token, body: { name: 'replica' } })).body.data;
    await warm(created.token);
    expect((await a.call('DELETE', `/api/v1/tokens/${created.id}`, { token: user.token })).status).toBe(200);
    measured.delete_token = await refusedWithin(b, created.token);
  });

  it('a change made straight in PostgreSQL (a workflow, psql) reaches the replicas too', async () => {
    const user = await a.createUser();
    await warm(user.token);
    await a.deps.knex('users').where({ id: user.id }).update({ deleted_at: new Date() });
    measured.sql_delete = Math.max(await refusedWithin(a, user.token), await refusedWithin(b, user.token));
  });

  it('GET /auth/me answers from the cached check, and shows a change made through another replica within a second', async () => {
    const user = await a.createUser();
    await warm(user.token);
    expect((await a.call('PUT', `/api/v1/users/${user.id}`, { token: user.token, body: { full_name: 'Renamed Elsewhere' } })).status).toBe(200);
    const t0 = performance.now();
    for (;;) {
      const me = await b.call('GET', '/api/v1/auth/me', { token: user.token });
      if (me.body.data.full_name === 'Renamed Elsewhere') break;
      if (performance.now() - t0 > 1000) throw new Error('the change did not reach the other replica within 1 s');
      await new Promise((r) => setTimeout(r, 5));
    }
    measured.profile_change = performance.now() - t0;
  });

  it('trusts nothing cached while its LISTEN connection is down', async () => {
    const c = await startTestApi();
    try {
      await waitListening(c);
      const user = await a.createUser();
      for (let i = 0; i < 3; i++) expect((await c.call('GET', '/api/v1/auth/me', { token: user.token })).status).toBe(200);
      await c.deps.notifications.close(); // as if the connection were lost: no notification can reach c now
      expect((await a.call('POST', '/api/v1/auth/logout', { token: user.token })).status).toBe(200);
      expect((await c.call('GET', '/api/v1/auth/me', { token: user.token })).status).toBe(401);
    } finally {
      await c.close();
    }
  });
});
