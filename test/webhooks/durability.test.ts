import { Webhook } from 'standardwebhooks';
import { startTestApi, eventually, type TestApi } from '../support/api';
import { uniq } from '../support/compute';
import { spawnWorker, type Spawned } from '../support/processes';
import { sweepOperations } from '../../api/platform/operations/sweep';
import { publishingSettled } from '../../api/platform/operations/settle';
import { deliveryWorkflowId } from '../../activities/webhooks/publish';
import { startReceiver } from './support';

/**
 * Webhooks that outlive what goes wrong: an operation whose workflow was terminated in Temporal (settled by the sweep or
 * a read, not by its workflow) still publishes its event; a worker SIGKILLed while a delivery is in flight leaves the
 * receiver one answered delivery and an attempt log that says so. The task queue has no worker until the tests start one.
 */
const queue = uniq('webhooks-durable');
const webhookEnv = { IDCFLOW_WEBHOOK_RETRY_SECONDS: '0.2,0.2' };
let api: TestApi;
let admin: string;
let worker: Spawned | undefined;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
beforeAll(async () => {
  receiver = await startReceiver();
  api = await startTestApi({ ...webhookEnv, IDCFLOW_TASK_QUEUE: queue, IDCFLOW_OPERATION_SWEEP_SECONDS: '0' });
  admin = await api.admin();
});
afterAll(async () => {
  await worker?.stop();
  await api?.close();
  await receiver?.close();
});

const endpoint = async (path: string, body: Record<string, unknown>) => {
  const res = await api.call('POST', '/api/v1/webhooks', { token: admin, body: { url: `${receiver.url}${path}`, allow_private: true, ...body } });
  expect(res.status).toBe(201);
  return res.body.data as { id: number; secret: string };
};
type Delivery = { id: string; status: string; event_id: string; attempts: number; attempt_log: Array<{ attempt: number; status_code: number | null }> };
const deliveries = async (id: number) => (await api.call('GET', `/api/v1/webhooks/${id}/deliveries`, { token: admin })).body.data.deliveries as Delivery[];

/** A user's deletion, its workflow terminated before any worker ran it: Temporal says it failed, the row does not yet. */
async function terminatedOperation() {
  const u = await api.createUser('user');
  const hook = await endpoint(`/settled/${u.id}`, { event_types: ['operation.failed'], resource_type: 'user', resource_id: String(u.id) });
  const started = await api.call('DELETE', `/api/v1/users/${u.id}`, { token: admin, headers: { prefer: 'respond-async' } });
  expect(started.status).toBe(202);
  const id = started.body.data.operation.id as string;
  await api.deps.temporal.workflow.getHandle(id).terminate('operator stopped it');
  expect(await api.deps.knex('operations').where({ id }).first()).toMatchObject({ status: 'pending' });
  return { id, hook, path: `/settled/${u.id}` };
}

describe('an operation settled without its workflow', () => {
  const settled: Array<Awaited<ReturnType<typeof terminatedOperation>>> = [];

  it('publishes operation.failed when the sweep settles it, once however often it sweeps', async () => {
    const op = await terminatedOperation();
    const publish = publishingSettled(api.deps);
    expect(await sweepOperations(api.deps.knex, api.deps.temporal, 0, publish)).toBeGreaterThanOrEqual(1);
    expect(await api.deps.knex('operations').where({ id: op.id }).first()).toMatchObject({ status: 'failed', error: { code: 'TERMINATED' } });
    await sweepOperations(api.deps.knex, api.deps.temporal, 0, publish);
    const recorded = await deliveries(op.hook.id);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ event_id: `operation:${op.id}:failed`, status: 'pending' });
    settled.push(op);
  });

  it('publishes it when a read settles it (the operations list)', async () => {
    const op = await terminatedOperation();
    const list = await api.call('GET', `/api/v1/operations?resource_type=user&resource_id=${op.path.split('/').pop()}`, { token: admin });
    expect(list.body.data.operations[0]).toMatchObject({ id: op.id, status: 'failed' });
    expect((await deliveries(op.hook.id)).map((d) => d.event_id)).toEqual([`operation:${op.id}:failed`]);
    settled.push(op);
  });

  it('delivers those events signed once a worker runs', async () => {
    worker = await spawnWorker(queue, webhookEnv);
    for (const op of settled) {
      const got = await eventually(async () => receiver.received.find((r) => r.path === op.path), 60_000, `the delivery of ${op.id}`);
      expect(new Webhook(op.hook.secret).verify(got.body, got.headers as Record<string, string>)).toMatchObject({
        type: 'operation.failed', data: { id: op.id, status: 'failed', error: { code: 'TERMINATED' } },
      });
      await eventually(async () => (await deliveries(op.hook.id))[0]?.status === 'succeeded' || undefined, 30_000, 'the delivery recorded');
      expect(receiver.received.filter((r) => r.path === op.path)).toHaveLength(1);
    }
  });
});

describe('a worker SIGKILLed while a delivery is in flight', () => {
  it('is retried by the next worker: the receiver answers one delivery, by one webhook-id, and the attempt log has one attempt', async () => {
    if (!worker) worker = await spawnWorker(queue, webhookEnv);
    const path = `/hold/${uniq('kill')}`;
    const hook = await endpoint(path, { event_types: ['webhook.test'] });
    const started = await api.call('POST', `/api/v1/webhooks/${hook.id}/test`, { token: admin });
    expect(started.status).toBe(202);
    const deliveryId = started.body.data.id as string;
    // The receiver holds the first POST unanswered: the attempt is in flight when the worker dies.
    await eventually(async () => receiver.received.find((r) => r.path === path), 30_000, 'the first POST');
    await worker.stop('SIGKILL');
    expect((await deliveries(hook.id))[0]).toMatchObject({ id: deliveryId, status: 'pending', attempts: 0, attempt_log: [] });
    worker = await spawnWorker(queue, webhookEnv);
    const outcome = await api.deps.temporal.workflow.getHandle(deliveryWorkflowId(deliveryId)).result();
    expect(outcome).toEqual({ delivered: true, attempts: 1 });

    const posts = receiver.received.filter((r) => r.path === path);
    expect(posts).toHaveLength(2);
    expect(posts.map((p) => p.headers['webhook-id'])).toEqual([deliveryId, deliveryId]);
    expect(posts.filter((p) => p.answered)).toHaveLength(1);
    for (const p of posts) expect(new Webhook(hook.secret).verify(p.body, p.headers as Record<string, string>)).toMatchObject({ type: 'webhook.test' });
    const [delivery] = await deliveries(hook.id);
    expect(delivery).toMatchObject({ id: deliveryId, status: 'succeeded', attempts: 1, last_status_code: 204 });
    expect(delivery.attempt_log).toEqual([expect.objectContaining({ attempt: 1, status_code: 204, error: null })]);
  });
});
