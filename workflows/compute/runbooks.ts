import { ActivityCancellationType, ActivityFailure, ApplicationFailure, TimeoutFailure, patched, proxyActivities, proxyLocalActivities, sleep, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';
import type { ComputeActivities } from '../../activities/compute/activities';
import type { OperationInput } from '../../shared/platform/operations';
import { containerName, stateAfter, type InstanceState, type PowerAction } from '../../shared/compute/catalogue';
import { describeError, runOperation, type OperationRun } from '../platform/operation';
import { onHostAgent } from '../platform/host-agent';
import { releaseInstanceNetwork } from '../networking/runbooks';
import type { ComputeBounds, EngineInstance, HostRoute, InstanceRequest, InstanceSnapshot, InstanceSpec } from '../../shared/compute/contracts';

const dbOptions: ActivityOptions & LocalActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', maximumInterval: '10s', maximumAttempts: 10, nonRetryableErrorTypes: ['RESOURCE_NOT_FOUND', 'CONFLICT', 'VALIDATION_ERROR', 'SERVICE_UNAVAILABLE', 'NOT_SUPPORTED'] },
};
// Short, idempotent PostgreSQL reads and writes: local activities, run by the worker that runs the workflow, without a
// round trip through the Temporal server each (a create had five of them).
const db = proxyLocalActivities<ComputeActivities>(dbOptions);
/** A scan's import can be long (one transaction over every container): it heartbeats, so a crashed worker's is retried in seconds. */
const dbLong = proxyActivities<ComputeActivities>({ ...dbOptions, startToCloseTimeout: '5m', heartbeatTimeout: '10s' });

const engineOptions: ActivityOptions = {
  startToCloseTimeout: '3m',
  // On cancel, wait for the engine call to end before undoing: an undo must not race the call it undoes.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 5, nonRetryableErrorTypes: ['RESOURCE_NOT_FOUND', 'CONFLICT', 'VALIDATION_ERROR', 'ENGINE_ERROR', 'NOT_SUPPORTED'] },
};
const mainEngine = proxyActivities<ComputeActivities>(engineOptions);

type EngineCalls = Pick<ComputeActivities, 'engineCreate' | 'engineCreateRunning' | 'engineUpdate' | 'engineDelete' | 'enginePower' | 'engineStatus' | 'engineStats' | 'engineList' | 'engineProbe' | 'engineSetPassword' | 'engineConsole' | 'engineHostStats'
  | 'engineListImages' | 'engineFetchImage' | 'engineDeleteImage'>;

/**
 * The engine calls for a host: on the main worker, or on the host's agent (task queue host:<name>). An agent that has not
 * heartbeaten recently, or does not pick the task up within the bound, fails the call with SERVICE_UNAVAILABLE.
 */
export function engineFor(route: HostRoute, agentWaitSeconds: number, options: ActivityOptions = engineOptions): EngineCalls {
  if (!route.useAgent) return options === engineOptions ? mainEngine : proxyActivities<ComputeActivities>(options);
  return onHostAgent<EngineCalls>(route, agentWaitSeconds, options);
}

/**
 * Until the instance reaches `want`, within the bound: the engine's answer to the power call first (a docker start
 * answers once the container runs), then polls with a backoff from 50 ms.
 */
export async function waitForState(engine: EngineCalls, hostId: number, ref: string, want: InstanceState, seconds: number, answered?: EngineInstance): Promise<EngineInstance> {
  const deadline = Date.now() + seconds * 1000;
  for (let delay = 50, first = true; ; delay = Math.min(delay * 2, 2000), first = false) {
    const seen = first && answered ? answered : await engine.engineStatus({ hostId, ref });
    if (seen?.state === want) return seen;
    if (!seen) throw ApplicationFailure.nonRetryable(`${ref} disappeared from the engine`, 'ENGINE_ERROR');
    if (want === 'running' && (seen.state === 'stopped' || seen.state === 'error')) {
      throw ApplicationFailure.nonRetryable(`${ref} is ${seen.state} instead of running (it exited after start)`, 'ENGINE_ERROR', { state: seen.state });
    }
    if (Date.now() >= deadline) throw ApplicationFailure.nonRetryable(`${ref} did not become ${want} within ${seconds}s (it is ${seen.state})`, 'ENGINE_ERROR', { state: seen.state });
    await sleep(delay);
  }
}

/** Wrapped in an object: activity proxies answer every property, `then` included, so they must never be awaited. */
export async function routeTo(op: OperationRun, hostId: number, bounds: ComputeBounds, options?: ActivityOptions): Promise<{ engine: EngineCalls }> {
  const route = await op.step('route', 3, 'Finding where the host is driven from', () => db.computeHostRoute({ hostId }));
  return { engine: engineFor(route, bounds.agentWaitSeconds, options) };
}

export interface CreateInstanceInput extends OperationInput, ComputeBounds {
  request: InstanceRequest;
  passwordSealed: string | null;
}

/**
 * Runbook: create an instance — validate, place, reserve quota/capacity and an IP, create on the engine and start it
 * until it runs, record. Four recorded steps, each one call: validate (with where the host is driven from), reserve
 * (the row and its addresses), create (create + start, answered once it runs), record.
 */
export async function createInstanceWorkflow(input: CreateInstanceInput) {
  return runOperation(input.operationId, async (op) => {
    // Creates started before the four-step shape replay theirs (remove once none is left running).
    if (!patched('compute-create-four-steps')) return createInstanceSteps(op, input);
    const req = input.request;
    let hostId = req.hostId;
    if (hostId === null) {
      await op.step('validate', 5, `Validating instance ${req.uuid}`, () => db.validateInstanceCreate({ request: req, operationId: input.operationId }));
      const placed = await op.step('placement', 10, 'Choosing a host by the load-balancer strategy', () => db.placeInstance({ engineType: req.engineType, needsImage: Boolean(req.image) }));
      hostId = placed.hostId;
    }
    const on = hostId;
    const route = await op.step('validate', 5, `Validating instance ${req.uuid} on host ${on}`, () => db.prepareInstanceCreate({ request: req, operationId: input.operationId, hostId: on }));
    const engine = engineFor(route, input.agentWaitSeconds);

    const { inst, nics } = await op.step('reserve', 15, 'Checking the quota, reserving capacity and addresses on the host', () => db.reserveInstanceWithIps({ operationId: input.operationId, hostId: on, request: req }));
    op.onUndo('reserve', () => db.releaseInstance({ operationId: input.operationId }));
    const spec: InstanceSpec = { ...inst.spec, nics };

    // Registered before the call: a create that fails after the engine made the instance (at the start) removes it too.
    const ref = containerName(req.uuid);
    op.onUndo('create', () => engine.engineDelete({ hostId: on, ref }));
    const started = await op.step('create', 40, `Creating and starting ${ref} on ${inst.hostName}`, () => engine.engineCreateRunning({ hostId: on, spec, passwordSealed: input.passwordSealed }));
    const running = started.state === 'running' ? started
      : await op.step('wait-running', 75, `Waiting until ${ref} runs`, () => waitForState(engine, on, ref, 'running', input.instanceWaitSeconds, started));

    if (input.passwordSealed && running.managed && inst.hostName) {
      await op.step('password', 85, 'Setting the OS password', () => engine.engineSetPassword({ hostId: on, ref, passwordSealed: input.passwordSealed! }));
      await db.storeInstancePassword({ instanceId: inst.id, passwordSealed: input.passwordSealed });
    }
    return op.step('record', 95, 'Recording the running instance', () => db.recordInstance({ instanceId: inst.id, state: 'running', engine: running, error: null }));
  });
}

/** The create runbook as it was before the four-step shape, for the histories of creates started then. */
async function createInstanceSteps(op: OperationRun, input: CreateInstanceInput) {
  const req = input.request;
  await op.step('validate', 5, `Validating instance ${req.uuid}`, () => db.validateInstanceCreate({ request: req, operationId: input.operationId }));
  let hostId = req.hostId;
  if (hostId === null) {
    const placed = await op.step('placement', 10, 'Choosing a host by the load-balancer strategy', () => db.placeInstance({ engineType: req.engineType, needsImage: Boolean(req.image) }));
    hostId = placed.hostId;
    await db.validateInstanceCreate({ request: { ...req, hostId }, operationId: input.operationId });
  }
  const { engine } = await routeTo(op, hostId, input);

  const inst = await op.step('reserve', 15, 'Checking the quota and reserving capacity on the host', () => db.reserveInstance({ operationId: input.operationId, hostId: hostId!, request: req }));
  op.onUndo('reserve', () => db.releaseInstance({ operationId: input.operationId }));

  const nics = await op.step('reserve-ip', 25, 'Reserving addresses from the host\'s IP pools', () => db.reserveInstanceIps({ operationId: input.operationId, instanceId: inst.id }));
  op.onUndo('reserve-ip', () => db.releaseInstanceIps({ instanceId: inst.id }));
  const spec: InstanceSpec = { ...inst.spec, nics };

  const created = await op.step('create', 40, `Creating ${req.uuid} on ${inst.hostName}`, () => engine.engineCreate({ hostId: hostId!, spec, passwordSealed: input.passwordSealed }));
  op.onUndo('create', () => engine.engineDelete({ hostId: hostId!, ref: created.ref }));

  const started = await op.step('start', 60, `Starting ${created.ref}`, () => engine.enginePower({ hostId: hostId!, ref: created.ref, action: 'start' }));
  const running = await op.step('wait-running', 75, `Waiting until ${created.ref} runs`, () => waitForState(engine, hostId!, created.ref, 'running', input.instanceWaitSeconds, started));

  if (input.passwordSealed && running.managed && inst.hostName) {
    await op.step('password', 85, 'Setting the OS password', () => engine.engineSetPassword({ hostId: hostId!, ref: created.ref, passwordSealed: input.passwordSealed! }));
    await db.storeInstancePassword({ instanceId: inst.id, passwordSealed: input.passwordSealed });
  }
  return op.step('record', 95, 'Recording the running instance', () => db.recordInstance({ instanceId: inst.id, state: 'running', engine: running, error: null }));
}

export interface InstanceOpInput extends OperationInput, ComputeBounds {
  instanceId: number;
}

/** Runbook: delete an instance — mark it, remove it from the engine, release its IPs and quota. */
export async function deleteInstanceWorkflow(input: InstanceOpInput) {
  return runOperation(input.operationId, async (op) => {
    const inst: InstanceSnapshot = await op.step('mark', 5, 'Marking the instance as deleting', () => db.beginInstanceChange({ instanceId: input.instanceId, state: 'deleting' }));
    let engine: EngineCalls | null = null;
    op.onUndo('mark', async () => {
      // Canceled (or failed) once the engine no longer has the container: the delete rolls forward, the row follows the engine.
      if (engine && inst.ref && !(await engine.engineStatus({ hostId: inst.hostId, ref: inst.ref }))) return db.finishInstanceDelete({ instanceId: inst.id });
      return db.recordInstance({ instanceId: inst.id, state: inst.state });
    });
    const calls = (await routeTo(op, inst.hostId, input)).engine;
    engine = calls;
    let existed = false;
    if (inst.ref) {
      const ref = inst.ref;
      // Asked before removing it, as a retried removal no longer finds what a first attempt removed.
      existed = (await op.step('engine-status', 20, `Looking for ${ref} on ${inst.hostName}`, () => calls.engineStatus({ hostId: inst.hostId, ref }))) !== null;
      await op.step('engine-delete', 40, `Removing ${ref} from ${inst.hostName}`, () => calls.engineDelete({ hostId: inst.hostId, ref }));
    }
    // Deletes already past this point when it was added replay without it.
    const network = patched('networking-release-on-delete') ? await releaseInstanceNetwork(op, inst.id, input.agentWaitSeconds) : null;
    const released = await op.step('release', 80, 'Releasing its IP addresses and quota', () => db.finishInstanceDelete({ instanceId: inst.id }));
    return { instance_id: inst.id, uuid: inst.uuid, name: inst.name, host: inst.hostName, deleted: true, existed_on_engine: existed, released_ips: released.released_ips, network };
  });
}

/** Shared first steps: load the instance, which must exist on its engine, and route to its host. */
async function loadOnEngine(op: OperationRun, input: InstanceOpInput) {
  const inst = await op.step('load', 5, 'Loading the instance', () => db.loadInstance({ instanceId: input.instanceId }));
  if (!inst.ref) throw ApplicationFailure.nonRetryable(`${inst.uuid} has no engine instance yet`, 'CONFLICT');
  const { engine } = await routeTo(op, inst.hostId, input);
  return { inst, ref: inst.ref, engine };
}

export interface PowerInstanceInput extends InstanceOpInput {
  action: PowerAction;
}

/** Runbook: a power action, then wait for the state it leads to, then record it. */
export async function powerInstanceWorkflow(input: PowerInstanceInput) {
  return runOperation(input.operationId, async (op) => {
    const { inst, ref, engine } = await loadOnEngine(op, input);
    // A power action cannot be taken back; failed or canceled, the record follows whatever state the engine ended in.
    op.onUndo('power', async () => {
      const now = await engine.engineStatus({ hostId: inst.hostId, ref });
      if (now) await db.recordInstance({ instanceId: inst.id, state: now.state, engine: now, fromHostId: inst.hostId });
    });
    await op.step('power', 40, `${input.action} ${ref}`, () => engine.enginePower({ hostId: inst.hostId, ref, action: input.action }));
    const want = stateAfter(input.action);
    const seen = await op.step('wait', 70, `Waiting until ${ref} is ${want}`, () => waitForState(engine, inst.hostId, ref, want, input.instanceWaitSeconds));
    return op.step('record', 95, 'Recording the state', async () => ({ ...(await db.recordInstance({ instanceId: inst.id, state: seen.state, engine: seen, fromHostId: inst.hostId })), action: input.action }));
  });
}

export interface UpdateInstanceInput extends InstanceOpInput {
  changes: { name?: string; cpu?: number; ramMb?: number; diskGb?: number; image?: string; osName?: string };
}

/** Runbook: resize/rename/re-image — quota check and record the new values, apply them on the engine; undone in reverse on failure. */
export async function updateInstanceWorkflow(input: UpdateInstanceInput) {
  return runOperation(input.operationId, async (op) => {
    const inst = await op.step('load', 5, 'Loading the instance', () => db.loadInstance({ instanceId: input.instanceId }));
    const { engine } = await routeTo(op, inst.hostId, input);
    const { before, after } = await op.step('reserve', 20, 'Checking the quota for the new size and recording it', () => db.applyInstanceUpdate({ instanceId: inst.id, changes: input.changes }));
    op.onUndo('reserve', () => db.restoreInstanceFields({ instanceId: inst.id, fields: before }));
    let engineState: EngineInstance | null = null;
    if (inst.ref) {
      const ref = inst.ref;
      const newSpec: InstanceSpec = { ...inst.spec, name: after.name, cpu: after.cpu, ramMb: after.ramMb, diskGb: after.diskGb, image: after.image, osName: after.osName };
      // The power state to end in, read once before the change: kept in the history, so a retry after a crash mid-recreate still knows it.
      const seen = await op.step('engine-status', 40, `Reading the state of ${ref}`, () => engine.engineStatus({ hostId: inst.hostId, ref }));
      const running = seen ? seen.state === 'running' : undefined;
      // Registered before the call: an update that fails half-way is undone too (the driver puts the container it set aside back).
      let applied = false;
      op.onUndo('engine-update', () => engine.engineUpdate({ hostId: inst.hostId, ref, spec: inst.spec, running }).catch((err) => {
        // Nothing left to put back, or the change never took and the engine refuses this call too: the step's own error stands.
        if (applied && describeError(err).code !== 'RESOURCE_NOT_FOUND') throw err;
      }));
      engineState = await op.step('engine-update', 60, `Applying the change to ${ref}`, () => engine.engineUpdate({ hostId: inst.hostId, ref, spec: newSpec, running }));
      applied = true;
    }
    return op.step('record', 95, 'Recording the instance', () => db.recordInstance({ instanceId: inst.id, state: engineState?.state ?? inst.state, engine: engineState, fromHostId: inst.hostId }));
  });
}

export interface PasswordInstanceInput extends InstanceOpInput {
  passwordSealed: string;
}

/** Runbook: set the OS password on the engine, then keep it sealed. */
export async function passwordInstanceWorkflow(input: PasswordInstanceInput) {
  return runOperation(input.operationId, async (op) => {
    const { inst, ref, engine } = await loadOnEngine(op, input);
    // A history from before engines said when a password applies holds no answer here: those applied at once.
    const set = await op.step('password', 50, `Setting the password of ${ref}`, () => engine.engineSetPassword({ hostId: inst.hostId, ref, passwordSealed: input.passwordSealed }));
    await op.step('record', 90, 'Storing the password sealed', () => db.storeInstancePassword({ instanceId: inst.id, passwordSealed: input.passwordSealed }));
    return { instance_id: inst.id, uuid: inst.uuid, password_changed: true, applies: set?.applied ?? 'now' };
  });
}

export interface ScanHostInput extends OperationInput, ComputeBounds {
  hostId: number;
}

/** Runbook: list what the engine has, import the unknown, refresh the known, mark the vanished as missing. */
/** How long a scan waits for the engine's list: a host that does not answer by then fails the scan (SERVICE_UNAVAILABLE). */
export const SCAN_LIST_SECONDS = 10;
/** One attempt, bounded: a scan answers a waiting request (seed 001's scaner), so an unreachable host must not hold it. */
const scanListOptions: ActivityOptions = { ...engineOptions, startToCloseTimeout: `${SCAN_LIST_SECONDS}s`, heartbeatTimeout: undefined, retry: { ...engineOptions.retry, maximumAttempts: 1 } };

export async function scanHostWorkflow(input: ScanHostInput) {
  return runOperation(input.operationId, async (op) => {
    if (patched('compute-scan-bounded')) {
      const { engine } = await routeTo(op, input.hostId, input, scanListOptions);
      const found = await op.step('list', 30, 'Listing instances on the engine', async () => {
        try {
          return await engine.engineList({ hostId: input.hostId });
        } catch (err) {
          if (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure) {
            throw ApplicationFailure.nonRetryable(`The host's engine did not answer within ${SCAN_LIST_SECONDS} s; nothing was imported`, 'SERVICE_UNAVAILABLE', { host_id: input.hostId, waited_seconds: SCAN_LIST_SECONDS });
          }
          throw err;
        }
      });
      const result = await op.step('import', 70, `Reconciling ${found.length} instances`, () => dbLong.importScan({ hostId: input.hostId, found }));
      return { host_id: input.hostId, ...result };
    }
    const { engine } = await routeTo(op, input.hostId, input);
    const found = await op.step('list', 30, 'Listing instances on the engine', () => engine.engineList({ hostId: input.hostId }));
    const result = await op.step('import', 70, `Reconciling ${found.length} instances`, () => dbLong.importScan({ hostId: input.hostId, found }));
    return { host_id: input.hostId, ...result };
  });
}

export interface EngineReadInput extends ComputeBounds {
  hostId: number;
  kind: 'host_stats' | 'status' | 'stats' | 'console' | 'images';
  ref?: string;
}

/** Reads answer an API request: two quick attempts, then the caller hears the engine is unavailable. */
const readOptions: ActivityOptions = { ...engineOptions, startToCloseTimeout: '15s', heartbeatTimeout: '10s', retry: { ...engineOptions.retry, maximumAttempts: 2, initialInterval: '500ms' } };
/** Listing images reads (once) the images no checksum was recorded for: as long as IMAGE_LIST_SECONDS allows. */
export const IMAGE_LIST_SECONDS = 300;
const imageListOptions: ActivityOptions = { ...readOptions, startToCloseTimeout: `${IMAGE_LIST_SECONDS}s` };

/** A read from an engine for the API (host status, instance status/stats, console): no operation, one bounded call. */
export async function engineReadWorkflow(input: EngineReadInput): Promise<unknown> {
  const route = await db.computeHostRoute({ hostId: input.hostId });
  const engine = engineFor(route, input.agentWaitSeconds, input.kind === 'images' ? imageListOptions : readOptions);
  switch (input.kind) {
    case 'host_stats': {
      const stats = await engine.engineHostStats({ hostId: input.hostId });
      await db.storeHostStatus({ hostId: input.hostId, status: stats as unknown as Record<string, unknown> });
      return stats;
    }
    case 'status': return engine.engineStatus({ hostId: input.hostId, ref: input.ref! });
    case 'stats': return engine.engineStats({ hostId: input.hostId, ref: input.ref! });
    case 'console': return engine.engineConsole({ hostId: input.hostId, ref: input.ref! });
    case 'images': return engine.engineListImages({ hostId: input.hostId });
  }
}
