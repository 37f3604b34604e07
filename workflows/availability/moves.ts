import { ActivityCancellationType, CancellationScope, ChildWorkflowFailure, executeChild, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { ComputeActivities } from '../../activities/compute/activities';
import type { HaActivities, PlannedMove } from '../../activities/availability/ha';
import type { HaEngineActivities } from '../../activities/availability/engine-side';
import type { HostRoute } from '../../shared/compute/contracts';
import type { EngineInstance } from '../../shared/compute/contracts';
import { engineFor, waitForState } from '../compute/runbooks';
import { type ComputeBounds } from '../../shared/compute/contracts';
import { describeError } from '../platform/operation';
import { onHostAgent } from '../platform/host-agent';

const NOT_RETRIED = ['RESOURCE_NOT_FOUND', 'CONFLICT', 'VALIDATION_ERROR', 'SERVICE_UNAVAILABLE', 'NOT_SUPPORTED'];
export const db = proxyActivities<ComputeActivities>({ startToCloseTimeout: '30s', retry: { initialInterval: '500ms', maximumInterval: '10s', maximumAttempts: 10, nonRetryableErrorTypes: NOT_RETRIED } });
// A heartbeat timeout: a worker that dies during one of these is noticed in seconds, not at the deadline.
export const ha = proxyActivities<HaActivities>({ startToCloseTimeout: '30s', heartbeatTimeout: '10s', retry: { initialInterval: '500ms', maximumInterval: '10s', maximumAttempts: 10, nonRetryableErrorTypes: NOT_RETRIED } });
const engineOptions: ActivityOptions = {
  startToCloseTimeout: '3m', heartbeatTimeout: '10s', cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 5, nonRetryableErrorTypes: [...NOT_RETRIED, 'ENGINE_ERROR'] },
};

/** High availability's own engine calls for a host: on the main worker, or on the host's agent. */
export function haEngineFor(route: HostRoute, agentWaitSeconds: number): HaEngineActivities {
  return route.useAgent ? onHostAgent<HaEngineActivities>(route, agentWaitSeconds, engineOptions) : proxyActivities<HaEngineActivities>(engineOptions);
}

/** A child workflow's failure as the code and message of what failed inside it. */
export function childError(err: unknown) {
  return describeError(err instanceof ChildWorkflowFailure && err.cause ? err.cause : err);
}

export interface InstanceMoveInput extends ComputeBounds {
  instanceId: number;
  fromHostId: number;
  /** null: placement chooses among healthy hosts other than the source (among `candidates` when given). */
  toHostId: number | null;
  candidates?: number[] | null;
  /** Remove the old copy once the record is switched (a cold move); a failover leaves it to the fenced host's cleanup. */
  removeOld: boolean;
}

export interface MoveResult { instance_id: number; uuid: string; status: 'moved' | 'gone' | 'failed'; from_host_id: number; to_host_id: number | null; host?: string; error?: string }

/**
 * One instance recreated from its recorded spec (same uuid and name) on another host, or on its own host when its copy
 * there is gone: create, start, wait until it runs, switch the record, then (cold move) remove the old copy. Until the
 * switch, a failure removes the new copy and leaves the record as it was. Each step is safe to repeat.
 */
export async function instanceMoveWorkflow(input: InstanceMoveInput): Promise<MoveResult> {
  const inst = await db.loadInstance({ instanceId: input.instanceId });
  const base = { instance_id: inst.id, uuid: inst.uuid, from_host_id: input.fromHostId };
  const source = await db.computeHostRoute({ hostId: input.fromHostId });
  const to = input.toHostId ?? (input.candidates?.length
    ? await ha.availabilityPickTarget({ hostIds: input.candidates, excludeHostIds: [input.fromHostId] })
    : await db.placeInstance({ engineType: source.engineType as never, excludeHostIds: [input.fromHostId] })).hostId;
  const begun = await ha.availabilityBeginMove({ instanceId: inst.id, fromHostId: input.fromHostId, toHostId: to });
  if (begun.state !== 'move') return { ...base, status: begun.state === 'done' ? 'moved' : 'gone', to_host_id: to };
  const targetRoute = await db.computeHostRoute({ hostId: to });
  const target = engineFor(targetRoute, input.agentWaitSeconds);
  let created: EngineInstance | null = null;
  let switched: Awaited<ReturnType<HaActivities['availabilitySwitchInstance']>>;
  try {
    // The engine gives the new copy its own address: the old one's belongs to the old host's network.
    const spec = { ...inst.spec, nics: inst.spec.nics.map(({ ip4: _ip, mac: _mac, ...n }) => n) };
    created = await target.engineCreate({ hostId: to, spec, passwordSealed: null });
    let now: EngineInstance = created;
    if (inst.state !== 'stopped') {
      await target.enginePower({ hostId: to, ref: created.ref, action: 'start' });
      now = await waitForState(target, to, created.ref, 'running', input.instanceWaitSeconds);
    }
    switched = await ha.availabilitySwitchInstance({ instanceId: inst.id, toHostId: to, engine: now });
  } catch (err) {
    await CancellationScope.nonCancellable(async () => {
      if (created && to !== input.fromHostId) await target.engineDelete({ hostId: to, ref: created.ref }).catch(() => undefined);
      await ha.availabilityEndMove({ instanceId: inst.id });
    });
    throw err;
  }
  if (input.removeOld && inst.ref && to !== input.fromHostId) {
    const old = engineFor(source, input.agentWaitSeconds);
    // A copy that cannot be removed now is stale: the old host's cleanup removes it later.
    await old.engineDelete({ hostId: input.fromHostId, ref: inst.ref }).catch(() => undefined);
  }
  return { ...base, status: 'moved', to_host_id: to, host: switched.host };
}

/** Runs the moves as child workflows, `atOnce` at a time; a move that fails is reported, the others go on. */
export async function moveAll(operationId: string, tag: string, moves: PlannedMove[], removeOld: boolean, atOnce: number, bounds: ComputeBounds): Promise<MoveResult[]> {
  const results = new Array<MoveResult>(moves.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < moves.length; i = next++) {
      const m = moves[i];
      try {
        results[i] = await executeChild(instanceMoveWorkflow, {
          workflowId: `${operationId}-${tag}-${m.instanceId}`,
          args: [{ instanceId: m.instanceId, fromHostId: m.fromHostId, toHostId: m.toHostId, candidates: m.candidates ?? null, removeOld, ...bounds }],
        });
      } catch (err) {
        results[i] = { instance_id: m.instanceId, uuid: m.uuid, status: 'failed', from_host_id: m.fromHostId, to_host_id: m.toHostId, error: childError(err).message };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(atOnce, moves.length) }, lane));
  return results;
}

