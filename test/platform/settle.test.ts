import { startTestApi, expectError, type TestApi } from '../support/api';
import { addHost, uniq } from '../support/compute';
import { sweepOperations } from '../../api/platform/operations/sweep';

/**
 * A workflow terminated in Temporal (by an operator), or gone from it (lost with its database), settles its operation row
 * wherever rows are read or block: the list, the busy-resource 409, host deletion, and the periodic sweep. The API's task
 * queue has no worker, so every operation stays active until Temporal ends it.
 */
let api: TestApi;
let admin: string;
beforeAll(async () => {
  api = await startTestApi({ IDCFLOW_TASK_QUEUE: uniq('settle-idle'), IDCFLOW_OPERATION_SWEEP_SECONDS: '0' });
  admin = await api.admin();
});
afterAll(async () => { await api.close(); });

const async = { prefer: 'respond-async' };
const terminate = (id: string) => api.deps.temporal.workflow.getHandle(id).terminate('operator stopped it');
const listed = async (query: string) => (await api.call('GET', `/api/v1/operations?${query}`, { token: admin })).body.data.operations as Array<{ id: string; status: string; error: { code: string } | null }>;
const row = (id: string) => api.deps.knex('operations').where({ id }).first();

async function deleteUser(userId: number) {
  const res = await api.call('DELETE', `/api/v1/users/${userId}`, { token: admin, headers: async });
  return res;
}

describe('a workflow terminated in Temporal', () => {
  it('shows as failed in the list, without a GET of that operation', async () => {
    const u = await api.createUser('user');
    const started = await deleteUser(u.id);
    expect(started.status).toBe(202);
    const id = started.body.data.operation.id;
    expect((await listed(`resource_type=user&resource_id=${u.id}`))[0]).toMatchObject({ id, status: 'pending' });
    await terminate(id);
    expect((await listed(`resource_type=user&resource_id=${u.id}`))[0]).toMatchObject({ id, status: 'failed', error: { code: 'TERMINATED' } });
    expect(await row(id)).toMatchObject({ status: 'failed' });
    const events = (await api.call('GET', `/api/v1/operations/${id}/events`, { token: admin })).body.data.events;
    expect(events.map((e: { step: string }) => e.step)).toContain('failed');
  });

  it('no longer makes the busy-resource check refuse new work (a live operation still does)', async () => {
    const u = await api.createUser('user');
    const first = (await deleteUser(u.id)).body.data.operation.id;
    const refused = await deleteUser(u.id);
    expectError(refused, 409, 'CONFLICT');
    expect(refused.body.error.details.operation_id).toBe(first);
    await terminate(first);
    const again = await deleteUser(u.id);
    expect(again.status).toBe(202);
    expect(again.body.data.operation.id).not.toBe(first);
    expect(await row(first)).toMatchObject({ status: 'failed' });
    await terminate(again.body.data.operation.id);
  });

  it('no longer blocks deleting its host', async () => {
    const host = await addHost(api, { name: uniq('settle') });
    const created = await api.call('POST', `/api/v1/hosts/${host.id}/instances`, { token: admin, body: { name: 'blocker', uuid: uniq('vm') }, headers: async });
    expect(created.status).toBe(202);
    const id = created.body.data.operation.id;
    const refused = await api.call('DELETE', `/api/v1/hosts/${host.id}`, { token: admin });
    expectError(refused, 409, 'CONFLICT');
    expect(refused.body.error.details.operation_id).toBe(id);
    await terminate(id);
    expect((await api.call('DELETE', `/api/v1/hosts/${host.id}`, { token: admin })).status).toBe(200);
    expect(await row(id)).toMatchObject({ status: 'failed', error: { code: 'TERMINATED' } });
  });

  it('is settled by the periodic sweep when nobody reads it', async () => {
    const u = await api.createUser('user');
    const id = (await deleteUser(u.id)).body.data.operation.id;
    await terminate(id);
    expect(await row(id)).toMatchObject({ status: 'pending' });
    expect(await sweepOperations(api.deps.knex, api.deps.temporal, 0)).toBeGreaterThanOrEqual(1);
    expect(await row(id)).toMatchObject({ status: 'failed', error: { code: 'TERMINATED' } });
  });
});

describe('a workflow lost with the Temporal database', () => {
  it('a running row whose workflow Temporal does not know fails as lost when it is read', async () => {
    const u = await api.createUser('user');
    const id = `user.delete-${u.id}-${uniq('lost')}`;
    await api.deps.knex('operations').insert({ id, type: 'user.delete', status: 'running', resource_type: 'user', resource_id: String(u.id), created_by: null });
    expect((await listed(`resource_type=user&resource_id=${u.id}`))[0]).toMatchObject({ id, status: 'failed', error: { code: 'WORKFLOW_LOST' } });
    // The resource is free again.
    const again = await deleteUser(u.id);
    expect(again.status).toBe(202);
    await terminate(again.body.data.operation.id);
  });
});
