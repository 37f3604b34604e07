import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import crypto from 'node:crypto';
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { apiClient, type Answer } from '../support/api';
import { uniq } from '../support/compute';
import { startTopology, topologyUnavailable, type Topology } from '../support/topology';
import { certFile, createAuthority, issueCertificate, TEMPORAL_ROLES } from '../../workers/temporal-certs';
import { residentKb } from '../../workers/temporal-server';
import { loadConfig } from '../../shared/platform/config';
import { temporalConnectionOptions } from '../../shared/platform/temporal-connection';

/**
 * The production topology, run for real: Temporal's server built from the Go module proxy with idcflow's authorizer
 * (deploy/temporal/authorizer), PostgreSQL persistence and visibility, mutual TLS on its frontend; two API processes and
 * two workers, each with its own client certificate. Then what a stolen agent certificate (host:a) can and cannot do.
 * Agents that join with a token, in network namespaces of their own, slot in beside `agents` below.
 */
const skip = topologyUnavailable();
const describeTopology = skip ? describe.skip : describe;
if (skip) {
  if (process.env.CI === 'true') test('the production topology runs here', () => { throw new Error(skip); });
  else test.skip(`production topology skipped: ${skip}`, () => undefined);
}

const PERMISSION_DENIED = 7;
const SCHEDULE_ACTIVITY_TASK = 1; // temporal.api.enums.v1.CommandType
const WORKFLOW_EXECUTION_STATUS_COMPLETED = 2;
const ACTIVITY_TASK_COMPLETED = 12; // temporal.api.enums.v1.EventType
/** The seal deploy/temporal/authorizer/tasktokens.go appends to an agent's task token: field 1000's tag, length, MAC. */
const SEAL_BYTES = 2 + 1 + 32;

let topo: Topology;
let namespace: string;

const payload = (value: unknown) => ({ payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(value)) }] });

async function expectDenied(call: Promise<unknown>) {
  const err = await call.then(() => undefined, (e: { code?: number; message?: string }) => e);
  expect({ code: err?.code, message: err?.message }).toEqual({ code: PERMISSION_DENIED, message: expect.stringContaining('Request unauthorized') });
}

/** What a TLS client sees of the frontend: `accepted` when the server speaks (HTTP/2's settings), or the TLS error code. */
function handshake(opts: { cert?: string; key?: string }): Promise<string> {
  const [host, port] = topo.temporal.address.split(':');
  return new Promise((resolve) => {
    const socket = tls.connect({
      host, port: Number(port), servername: 'localhost', ALPNProtocols: ['h2'],
      ca: fs.readFileSync(certFile(topo.certsDir, 'ca').cert), ...(opts.cert ? { cert: fs.readFileSync(opts.cert), key: fs.readFileSync(opts.key!) } : {}),
    });
    const done = (outcome: string) => { socket.destroy(); resolve(outcome); };
    socket.once('secureConnect', () => socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
    socket.once('data', () => done('accepted'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    socket.once('close', () => done('closed'));
  });
}

/**
 * A workflow whose worker is this test (the worker's certificate, raw gRPC): its first task schedules one activity on
 * each of `queues`, activity ids `act-0`, `act-1`…
 */
async function workflowScheduling(queues: string[]) {
  const api = await topo.connectAs('api');
  const worker = await topo.connectAs('worker');
  const taskQueue = uniq('probe');
  const workflowId = uniq('topology-probe');
  const { runId } = await api.workflowService.startWorkflowExecution({
    namespace, workflowId, workflowType: { name: 'topology-probe' }, taskQueue: { name: taskQueue }, requestId: crypto.randomUUID(), workflowTaskTimeout: msToTs('10s'),
  });
  const task = await worker.withDeadline(Date.now() + 30_000, () => worker.workflowService.pollWorkflowTaskQueue({ namespace, taskQueue: { name: taskQueue }, identity: 'topology test' }));
  await worker.workflowService.respondWorkflowTaskCompleted({
    namespace, taskToken: task.taskToken, identity: 'topology test',
    commands: queues.map((queue, i) => ({
      commandType: SCHEDULE_ACTIVITY_TASK,
      scheduleActivityTaskCommandAttributes: {
        activityId: `act-${i}`, activityType: { name: 'probe' }, taskQueue: { name: queue }, scheduleToCloseTimeout: msToTs('2m'), startToCloseTimeout: msToTs('1m'),
      },
    })),
  });
  return { execution: { workflowId, runId: runId! }, api };
}

const poll = (as: Connection, queue: string) =>
  as.withDeadline(Date.now() + 30_000, () => as.workflowService.pollActivityTaskQueue({ namespace, taskQueue: { name: queue }, identity: `poller of ${queue}` }));

/** Temporal's own task token (temporal.server.api.token.v1.Task) naming an activity by id, as anyone who knows the ids can write one. */
function forgedTaskToken(fields: { namespaceId: string; workflowId: string; runId: string; activityId: string }): Buffer {
  const text = (field: number, value: string) => {
    const bytes = Buffer.from(value);
    return Buffer.concat([Buffer.from([(field << 3) | 2, bytes.length]), bytes]);
  };
  return Buffer.concat([text(1, fields.namespaceId), text(2, fields.workflowId), text(3, fields.runId), text(6, fields.activityId)]);
}

async function completedResults(api: Connection, execution: { workflowId: string; runId: string }) {
  const history = await api.workflowService.getWorkflowExecutionHistory({ namespace, execution });
  return (history.history?.events ?? []).filter((e) => e.eventType === ACTIVITY_TASK_COMPLETED)
    .map((e) => JSON.parse(Buffer.from(e.activityTaskCompletedEventAttributes!.result!.payloads![0].data!).toString()));
}

async function waitForOperation(api: ReturnType<typeof apiClient>, token: string, answer: Answer) {
  const id = answer.body?.data?.operation?.id;
  if (answer.status !== 202 || !id) throw new Error(`no operation: ${answer.status} ${answer.text}`);
  for (let i = 0; i < 10; i++) {
    const res = await api.call('GET', `/api/v1/operations/${id}/wait?timeout=20`, { token });
    if (['succeeded', 'failed', 'canceled'].includes(res.body.data?.status)) return res.body.data;
  }
  throw new Error(`operation ${id} did not end`);
}

describeTopology('the production topology: Temporal from source on PostgreSQL, mutual TLS, idcflow\'s authorizer', () => {
  beforeAll(async () => {
    topo = await startTopology({ apis: 2, workers: 2, agents: ['a', 'b'] });
    namespace = topo.namespace;
  }, 600_000);
  afterAll(async () => { await topo?.stop(); });

  it('runs an operation end to end: a host added through one API, an instance created through the other, run by the workers', async () => {
    const [first, second] = topo.apis.map((a) => apiClient(a.url));
    const host = await first.call('POST', '/api/v1/hosts', { token: await first.admin(), body: { name: uniq('topology'), address: 'local', engine_type: 'simulator' } });
    expect(host.status).toBe(201);
    const token = await second.admin();
    const create = await second.call('POST', `/api/v1/hosts/${host.body.data.id}/instances`, { token, body: { name: 'topology', uuid: uniq('vm') }, headers: { prefer: 'respond-async' } });
    const operation = await waitForOperation(first, await first.admin(), create);
    expect({ status: operation.status, error: operation.error ?? null }).toEqual({ status: 'succeeded', error: null });
    // The workflow ran on this server, in this namespace.
    const admin = await topo.connectAs('admin');
    const described = await admin.workflowService.describeWorkflowExecution({ namespace, execution: { workflowId: operation.id } });
    expect(described.workflowExecutionInfo?.status).toBe(WORKFLOW_EXECUTION_STATUS_COMPLETED);
    expect(described.workflowExecutionInfo?.taskQueue).toBe(topo.taskQueue);
    console.log(`topology: Temporal server up with its namespace in ${topo.temporal.startMs} ms, RSS ${Math.round((residentKb(topo.temporal.pid) ?? 0) / 1024)} MB after one operation`);
  });

  it('refuses a client without a certificate and one whose certificate another CA signed', async () => {
    const admin = certFile(topo.certsDir, 'admin');
    expect(await handshake(admin)).toBe('accepted');
    expect(await handshake({})).toMatch(/ALERT_CERTIFICATE_REQUIRED|ALERT_HANDSHAKE_FAILURE/);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-foreign-ca-'));
    const foreign = await issueCertificate(await createAuthority('idcflow Temporal CA'), { commonName: TEMPORAL_ROLES.admin, usage: ['client'] });
    const files = certFile(dir, 'admin');
    fs.writeFileSync(files.cert, foreign.cert);
    fs.writeFileSync(files.key, foreign.key, { mode: 0o600 });
    expect(await handshake(files)).toMatch(/ALERT_BAD_CERTIFICATE|ALERT_UNKNOWN_CA/);
    // Through the SDK too: no connection at all.
    await expect(topo.connectAs({ ca: certFile(topo.certsDir, 'ca').cert, cert: files.cert, key: files.key, serverName: 'localhost' })).rejects.toThrow();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lets host:a\'s certificate poll host:a only: polling host:b, starting, signalling, terminating, reading workflows are refused', async () => {
    const { execution, api } = await workflowScheduling(['host:a', 'host:b']);
    const a = await topo.connectAs('agent-a');
    expect((await poll(a, 'host:a')).activityId).toBe('act-0');

    await expectDenied(poll(a, 'host:b'));
    await expectDenied(a.workflowService.startWorkflowExecution({
      namespace, workflowId: uniq('attack'), workflowType: { name: 'topology-probe' }, taskQueue: { name: 'host:a' }, requestId: crypto.randomUUID(),
    }));
    await expectDenied(a.workflowService.signalWorkflowExecution({ namespace, workflowExecution: execution, signalName: 'cancel', requestId: crypto.randomUUID() }));
    await expectDenied(a.workflowService.terminateWorkflowExecution({ namespace, workflowExecution: execution, reason: 'attack' }));
    await expectDenied(a.workflowService.describeWorkflowExecution({ namespace, execution }));
    await expectDenied(a.workflowService.getWorkflowExecutionHistory({ namespace, execution }));
    await expectDenied(a.workflowService.listWorkflowExecutions({ namespace, query: '' }));
    await expectDenied(a.operatorService.listSearchAttributes({ namespace }));
    // The same calls are the API's to make: what refused them is the certificate.
    expect((await api.workflowService.describeWorkflowExecution({ namespace, execution })).workflowExecutionInfo?.execution?.runId).toBe(execution.runId);
    await api.workflowService.terminateWorkflowExecution({ namespace, workflowExecution: execution, reason: 'test done' });
  });

  it('binds an activity task to the agent that polled it: host:a can neither answer host:b\'s task nor forge one', async () => {
    const { execution, api } = await workflowScheduling(['host:a', 'host:b', uniq('unpolled')]);
    const a = await topo.connectAs('agent-a');
    const b = await topo.connectAs('agent-b');
    const taskA = await poll(a, 'host:a');
    const taskB = await poll(b, 'host:b');
    const { namespaceInfo } = await api.workflowService.describeNamespace({ namespace });
    const forge = (activityId: string) => forgedTaskToken({ namespaceId: namespaceInfo!.id!, ...execution, activityId });

    // host:b's token in host:a's hands (leaked, or read off host:b), Temporal's token without idcflow's seal, one forged.
    await expectDenied(a.workflowService.respondActivityTaskCompleted({ namespace, taskToken: taskB.taskToken, result: payload('forged by a') }));
    const unsealed = taskB.taskToken!.subarray(0, taskB.taskToken!.length - SEAL_BYTES);
    await expectDenied(a.workflowService.respondActivityTaskCompleted({ namespace, taskToken: unsealed, result: payload('forged by a') }));
    await expectDenied(a.workflowService.respondActivityTaskCompleted({ namespace, taskToken: forge(taskB.activityId!), result: payload('forged by a') }));
    await expectDenied(a.workflowService.respondActivityTaskFailed({ namespace, taskToken: forge(taskB.activityId!), failure: { message: 'forged by a' } }));
    await expectDenied(a.workflowService.recordActivityTaskHeartbeat({ namespace, taskToken: taskB.taskToken }));
    await expectDenied(a.workflowService.respondActivityTaskCompletedById({ namespace, ...execution, activityId: taskB.activityId, result: payload('forged by a') }));
    // The forged token is one Temporal itself accepts: with it the worker's certificate (trusted with every task)
    // completes the third activity, which no one polled.
    const worker = await topo.connectAs('worker');
    await worker.workflowService.respondActivityTaskCompleted({ namespace, taskToken: forge('act-2'), result: payload('completed by the worker') });

    // Each agent answers its own task.
    await a.workflowService.recordActivityTaskHeartbeat({ namespace, taskToken: taskA.taskToken });
    await a.workflowService.respondActivityTaskCompleted({ namespace, taskToken: taskA.taskToken, result: payload('from a') });
    await b.workflowService.respondActivityTaskCompleted({ namespace, taskToken: taskB.taskToken, result: payload('from b') });
    expect((await completedResults(api, execution)).sort()).toEqual(['completed by the worker', 'from a', 'from b']);
    await api.workflowService.terminateWorkflowExecution({ namespace, workflowExecution: execution, reason: 'test done' });
  });

  it('gives the UI\'s certificate reads only', async () => {
    const ui = await topo.connectAs('ui');
    await ui.workflowService.listWorkflowExecutions({ namespace, query: '' });
    await expectDenied(ui.workflowService.startWorkflowExecution({
      namespace, workflowId: uniq('ui'), workflowType: { name: 'topology-probe' }, taskQueue: { name: topo.taskQueue }, requestId: crypto.randomUUID(),
    }));
  });
});

describe('TEMPORAL_TLS_*: how every process connects to Temporal', () => {
  const base: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: 'temporal.example:7233' };
  for (const name of ['TEMPORAL_TLS_CA', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_SERVER_NAME']) delete base[name];

  it('connects in plain gRPC without them, as the dev server speaks', () => {
    expect(temporalConnectionOptions(loadConfig(base))).toEqual({ address: 'temporal.example:7233' });
  });

  it('reads the CA, the client certificate and its key from their files, and names the server', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-tls-config-'));
    for (const f of ['ca.pem', 'api.pem', 'api.key']) fs.writeFileSync(path.join(dir, f), `contents of ${f}`);
    const config = loadConfig({ ...base, TEMPORAL_TLS_CA: path.join(dir, 'ca.pem'), TEMPORAL_TLS_CERT: path.join(dir, 'api.pem'), TEMPORAL_TLS_KEY: path.join(dir, 'api.key'), TEMPORAL_TLS_SERVER_NAME: 'temporal' });
    expect(temporalConnectionOptions(config)).toEqual({
      address: 'temporal.example:7233',
      tls: { serverNameOverride: 'temporal', serverRootCACertificate: Buffer.from('contents of ca.pem'), clientCertPair: { crt: Buffer.from('contents of api.pem'), key: Buffer.from('contents of api.key') } },
    });
    fs.rmSync(path.join(dir, 'api.key'));
    expect(() => temporalConnectionOptions(config)).toThrow(`TEMPORAL_TLS_KEY=${path.join(dir, 'api.key')} cannot be read`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a certificate without its key, naming the missing variable', () => {
    expect(() => loadConfig({ ...base, TEMPORAL_TLS_CERT: '/etc/idcflow/api.pem' })).toThrow(/TEMPORAL_TLS_KEY: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together/);
    expect(() => loadConfig({ ...base, TEMPORAL_TLS_KEY: '/etc/idcflow/api.key' })).toThrow(/TEMPORAL_TLS_CERT: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together/);
  });
});
