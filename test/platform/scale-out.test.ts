import { apiClient, eventually, expectError, startTestApi, type TestApi } from '../support/api';
import { uniq } from '../support/compute';
import { spawnApi, spawnWorker, type Spawned } from '../support/processes';

/**
 * How users scale out: two API processes and two worker processes on one PostgreSQL and one Temporal. An operation
 * (user deletions: the simulator engine keeps its state in one worker's memory) started through one API is visible, waitable and cancelable through the other, whichever worker runs it; a sign-out
 * through one is refused by the other.
 */
const queue = uniq('scale-out');
/** The user deletion's last step is held a few seconds, so a cancel lands while it runs. */
const SLOW = { IDCFLOW_FAULT_DELAY: 'deleteUserRecord:4000' };
const apis: Array<Spawned & { url: string }> = [];
const workers: Spawned[] = [];
let helper: TestApi;

beforeAll(async () => {
  const env = { IDCFLOW_TASK_QUEUE: queue, IDCFLOW_OPERATION_SWEEP_SECONDS: '1' };
  const started = await Promise.all([spawnApi(env), spawnApi(env), spawnWorker(queue, SLOW), spawnWorker(queue, SLOW)]);
  apis.push(started[0] as Spawned & { url: string }, started[1] as Spawned & { url: string });
  workers.push(started[2], started[3]);
  helper = await startTestApi({ IDCFLOW_TASK_QUEUE: queue, IDCFLOW_OPERATION_SWEEP_SECONDS: '0' });
});
afterAll(async () => {
  await helper?.close();
  await Promise.all([...apis, ...workers].map((p) => p.stop()));
});

const deleteUser = (api: ReturnType<typeof apiClient>, token: string, userId: number, query = '') =>
  api.call('DELETE', `/api/v1/users/${userId}${query}`, { token, headers: { prefer: 'respond-async' } });

it('operations started on one API are visible, waitable and cancelable through the other; both workers run them', async () => {
  const [a, b] = apis.map((p) => apiClient(p.url));
  const token = await a.admin();
  const users = await Promise.all(Array.from({ length: 7 }, () => helper.createUser('user')));
  const ids: string[] = [];
  for (const [i, u] of users.slice(0, 6).entries()) {
    const res = await deleteUser(i % 2 ? b : a, token, u.id);
    expect(res.status).toBe(202);
    ids.push(res.body.data.operation.id);
  }
  for (const [i, id] of ids.entries()) {
    const other = i % 2 ? a : b;
    const seen = await other.call('GET', `/api/v1/operations/${id}`, { token });
    expect(seen.status).toBe(200);
    const waited = await other.call('GET', `/api/v1/operations/${id}/wait?timeout=30`, { token });
    expect(waited.body.data.status).toBe('succeeded');
  }
  const listed = (await b.call('GET', `/api/v1/operations?type=user.delete&size=100`, { token })).body.data.operations.map((o: { id: string }) => o.id);
  for (const id of ids) expect(listed).toContain(id);
  // Both workers took part: the Temporal histories name the worker of each task.
  const identities = new Set<string>();
  for (const id of ids) {
    const history = await helper.deps.temporal.workflow.getHandle(id).fetchHistory();
    for (const e of history.events ?? []) {
      const identity = e.activityTaskStartedEventAttributes?.identity ?? e.workflowTaskStartedEventAttributes?.identity;
      if (identity) identities.add(identity);
    }
  }
  expect(identities.size).toBe(2);

  const started = await deleteUser(a, token, users[6].id, '?backup_data=true');
  const id = started.body.data.operation.id;
  await eventually(async () => (await b.call('GET', `/api/v1/operations/${id}`, { token })).body.data.progress.step === 'delete', 20_000, 'the delete step, seen through the other API');
  expect((await b.call('POST', `/api/v1/operations/${id}/cancel`, { token })).status).toBe(202);
  const end = await a.call('GET', `/api/v1/operations/${id}/wait?timeout=30`, { token });
  expect(end.body.data).toMatchObject({ status: 'canceled', error: { code: 'CANCELED' } });
  expect((await a.call('GET', `/api/v1/users/${users[6].id}`, { token })).body.data.is_active).toBe(true);
});

it('a sign-out through one API is refused by the other within a second', async () => {
  const [a, b] = apis.map((p) => apiClient(p.url));
  const user = await helper.createUser('user');
  expect((await b.call('GET', '/api/v1/auth/me', { token: user.token })).status).toBe(200);
  expect((await a.call('POST', '/api/v1/auth/logout', { token: user.token })).status).toBe(200);
  const signedOut = Date.now();
  await eventually(async () => (await b.call('GET', '/api/v1/auth/me', { token: user.token })).status === 401, 1000, 'the other API to refuse the token');
  expect(Date.now() - signedOut).toBeLessThan(1000);
  expectError(await b.call('GET', '/api/v1/auth/me', { token: user.token }), 401, 'INVALID_CREDENTIALS');
});
