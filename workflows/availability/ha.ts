import { ApplicationFailure, ParentClosePolicy, patched, proxyActivities, startChild, type ActivityOptions } from '@temporalio/workflow';
import type { OperationActivities } from '../../activities/platform/operations';
import type { HealthThresholds, HealthVerdict, PlannedMove } from '../../activities/availability/ha';
import type { OperationInput } from '../../shared/platform/operations';
import { engineFor, routeTo, waitForState } from '../compute/runbooks';
import { type ComputeBounds } from '../../shared/compute/contracts';
import { describeError, runOperation } from '../platform/operation';
import { db, ha, haEngineFor, moveAll, type MoveResult } from './moves';

const operations = proxyActivities<OperationActivities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 10 } });
const nextRef = (ref: string) => `${ref}.next`;

export interface HaBounds extends ComputeBounds {
  /** Instances moved at once (child workflows running side by side). */
  movesAtOnce: number;
}

export interface HostHealthInput extends HaBounds {
  thresholds: HealthThresholds;
  probeSeconds: number;
}

/**
 * One health round (what the health Schedule starts): each enabled host's agent heartbeat (agent hosts) and one bounded
 * probe of its engine, counted per host; a host that turns unhealthy with auto_failover on gets a failover operation,
 * and one that turns healthy again without an agent has its stale copies removed.
 */
export async function hostHealthWorkflow(input: HostHealthInput): Promise<{ checked: number; healthy: string[]; unhealthy: string[]; failovers: string[] }> {
  const hosts = await ha.availabilityHealthTargets();
  const probeOptions: ActivityOptions = { startToCloseTimeout: input.probeSeconds * 1000, retry: { maximumAttempts: 1 } };
  const verdicts: HealthVerdict[] = await Promise.all(hosts.map(async (h) => {
    const reasons: string[] = [];
    if (h.useAgent && !h.agentOnline) reasons.push(`agent heartbeat stale (last ${h.lastSeen ?? 'never'})`);
    const route = await db.computeHostRoute({ hostId: h.id });
    // Through the agent when it answers (the engine may be reachable only from its host), else straight from here.
    const engine = engineFor({ ...route, useAgent: route.useAgent && h.agentOnline }, input.probeSeconds, probeOptions);
    try {
      // Listing is the probe: every engine answers it from its own records, quickly (Podman's host info can take seconds).
      // Only the count comes back: a host's whole list (1 MB at 5,000 instances) would be written into every run's history.
      if (patched('health-probe-count')) await engine.engineProbe({ hostId: h.id });
      else await engine.engineList({ hostId: h.id });
    } catch (err) {
      reasons.push(`engine probe failed: ${describeError(err).message}`.slice(0, 300));
    }
    const verdict = await ha.availabilityRecordHealth({ hostId: h.id, reasons, thresholds: input.thresholds });
    if (verdict.changed && verdict.health === 'healthy' && !route.useAgent) {
      await haEngineFor(route, input.probeSeconds).availabilityRemoveStaleCopies({ hostId: h.id }).catch(() => undefined);
    }
    return verdict;
  }));
  const failovers: string[] = [];
  for (const v of verdicts.filter((x) => x.autoFailover)) {
    const operationId = `host.failover-${v.hostId}-auto-g${v.generation}`;
    try {
      await operations.registerOperation({ operationId, type: 'host.failover', resourceType: 'host', resourceId: String(v.hostId), resourceName: v.name, createdBy: null, params: { automatic: true } });
      await startChild(hostFailoverWorkflow, {
        workflowId: operationId, parentClosePolicy: ParentClosePolicy.ABANDON,
        args: [{ operationId, hostId: v.hostId, movesAtOnce: input.movesAtOnce, agentWaitSeconds: input.agentWaitSeconds, instanceWaitSeconds: input.instanceWaitSeconds }],
      });
      failovers.push(operationId);
    } catch {
      // A failover of this host is already running (started by hand): that one moves its instances.
    }
  }
  return {
    checked: verdicts.length, healthy: verdicts.filter((v) => v.health === 'healthy').map((v) => v.name),
    unhealthy: verdicts.filter((v) => v.health === 'unhealthy').map((v) => v.name), failovers,
  };
}

const summary = (results: MoveResult[]) => ({
  moved: results.filter((r) => r.status === 'moved').map((r) => ({ uuid: r.uuid, instance_id: r.instance_id, host: r.host ?? null, host_id: r.to_host_id })),
  failed: results.filter((r) => r.status === 'failed').map((r) => ({ uuid: r.uuid, instance_id: r.instance_id, error: r.error ?? null })),
});

export interface HostFailoverInput extends OperationInput, HaBounds {
  hostId: number;
  /** Hosts to recreate on; none: the cluster's placement strategy chooses. */
  targetHostIds?: number[] | null;
}

/**
 * Runbook: failover of a host. Fence it first (its generation goes up: its agent will not run the moved instances and
 * removes its copies when it returns), then recreate each of its instances on healthy hosts, a child workflow each.
 */
export async function hostFailoverWorkflow(input: HostFailoverInput) {
  return runOperation(input.operationId, async (op) => {
    const fenced = await op.step('fence', 10, `Fencing host ${input.hostId}: its generation goes up`, () => ha.availabilityFenceHost({ hostId: input.hostId, operationId: input.operationId }));
    const list = await op.step('list', 20, `Listing the instances of ${fenced.name}`, () => ha.availabilityInstancesOn({ hostId: input.hostId }));
    const moves: PlannedMove[] = list.map((i) => ({ instanceId: i.id, uuid: i.uuid, fromHostId: input.hostId, toHostId: null, candidates: input.targetHostIds ?? null }));
    const results = await op.step('recreate', 30, `Recreating ${moves.length} instances on healthy hosts (${input.movesAtOnce} at once)`, () => moveAll(input.operationId, 'failover', moves, false, input.movesAtOnce, input));
    const out = { host: fenced.name, host_id: input.hostId, generation: fenced.generation, ...summary(results) };
    if (out.failed.length && !out.moved.length) throw ApplicationFailure.nonRetryable(`No instance of ${fenced.name} could be recreated elsewhere: ${out.failed[0].error}`, 'SERVICE_UNAVAILABLE', out);
    return out;
  });
}

export interface LoadBalanceInput extends OperationInput, HaBounds {
  spread: number;
  maxMoves: number;
  /** Balance among these hosts only; null: every usable docker host. */
  hostIds: number[] | null;
}

/**
 * Runbook: load balancing. Round after round, up to `movesAtOnce` unpinned containers go from the most loaded healthy
 * host to the least loaded (cold moves: create on the target, start, switch the record, remove the old), until the
 * instance counts differ by at most `spread` or `maxMoves` moves were made.
 */
export async function loadBalanceWorkflow(input: LoadBalanceInput) {
  return runOperation(input.operationId, async (op) => {
    const results: MoveResult[] = [];
    let counts: Record<string, number>;
    for (let round = 1; ; round++) {
      const plan = await op.step(`plan-${round}`, Math.min(90, 10 + round * 10), 'Comparing the hosts\' instance counts', () => ha.availabilityBalancePlan({ spread: input.spread, limit: Math.min(input.movesAtOnce, input.maxMoves - results.length), hostIds: input.hostIds }));
      counts = plan.counts;
      if (!plan.moves.length || results.length >= input.maxMoves) break;
      const done = await op.step(`move-${round}`, Math.min(90, 15 + round * 10), `Moving ${plan.moves.length} instances`, () => moveAll(input.operationId, `r${round}`, plan.moves, true, input.movesAtOnce, input));
      results.push(...done);
      if (done.every((r) => r.status !== 'moved')) break; // nothing could move: stop instead of trying the same again
    }
    return { counts, spread: input.spread, ...summary(results) };
  });
}

export interface ReplaceContainerInput extends OperationInput, ComputeBounds {
  instanceId: number;
  image: string | null;
  command: string[] | null;
}

/**
 * Runbook: replace a container with a new image or command. The new one is created beside it and started; only once it
 * runs is the record switched (its address first) and the old one removed. Where both publish the same host ports the
 * old one stops first; if the new one does not start, it goes and the old one comes back.
 */
export async function replaceContainerWorkflow(input: ReplaceContainerInput) {
  return runOperation(input.operationId, async (op) => {
    const inst = await op.step('mark', 5, 'Marking the instance as updating', () => db.beginInstanceChange({ instanceId: input.instanceId, state: 'updating' }));
    op.onUndo('mark', () => db.recordInstance({ instanceId: inst.id, state: inst.state }));
    if (!inst.ref) throw ApplicationFailure.nonRetryable(`${inst.uuid} has no container yet`, 'CONFLICT');
    const ref = inst.ref;
    const hostId = inst.hostId;
    const { engine } = await routeTo(op, hostId, input);
    const route = await db.computeHostRoute({ hostId });
    const side = haEngineFor(route, input.agentWaitSeconds);
    const spec = { ...inst.spec, image: input.image ?? inst.spec.image, command: input.command ?? inst.spec.command };
    await op.step('create', 20, `Creating the replacement ${nextRef(ref)} (${spec.image})`, () => side.availabilityCreateReplacement({ hostId, ref, spec }));
    op.onUndo('create', () => engine.engineDelete({ hostId, ref: nextRef(ref) }));
    if (inst.spec.ports?.length) {
      await op.step('stop-old', 30, `Stopping ${ref}: the replacement needs its published ports`, () => engine.enginePower({ hostId, ref, action: 'stop' }));
      op.onUndo('stop-old', () => engine.enginePower({ hostId, ref, action: 'start' }));
    }
    await op.step('start', 45, `Starting ${nextRef(ref)}`, () => engine.enginePower({ hostId, ref: nextRef(ref), action: 'start' }));
    const running = await op.step('wait-running', 60, `Waiting until ${nextRef(ref)} runs`, () => waitForState(engine, hostId, nextRef(ref), 'running', input.instanceWaitSeconds));
    await op.step('switch', 75, 'Switching the record to the replacement', () => ha.availabilityRecordReplacement({ instanceId: inst.id, image: spec.image, command: spec.command, engine: running }));
    op.onUndo('switch', async () => {
      const old = await engine.engineStatus({ hostId, ref });
      if (old) await ha.availabilityRecordReplacement({ instanceId: inst.id, image: inst.spec.image, command: inst.spec.command, engine: old });
    });
    const swapped = await op.step('swap', 85, `Removing the old container; the replacement becomes ${ref}`, () => side.availabilitySwapReplacement({ hostId, ref }));
    const recorded = await op.step('record', 95, 'Recording the container', () => db.recordInstance({ instanceId: inst.id, state: swapped.state, engine: swapped, error: null }));
    return { ...recorded, image: spec.image, replaced: true };
  });
}

export interface DisasterRecoveryInput extends OperationInput, HaBounds {
  /** Recover among these hosts only (moves stay among them too); null: the whole cluster. */
  hostIds: number[] | null;
}

/**
 * Runbook: disaster recovery from the current records. Instances recorded on unusable hosts (unhealthy, disabled, agent
 * offline) are fenced away and recreated elsewhere (moved); on usable hosts, those the engine lost are recreated in place
 * and those that stopped against the record are started (restored); what cannot come back anywhere is listed as lost.
 */
export async function disasterRecoveryWorkflow(input: DisasterRecoveryInput) {
  return runOperation(input.operationId, async (op) => {
    const plan = await op.step('plan', 5, 'Reading the records: usable hosts and the instances of the others', () => ha.availabilityRecoveryPlan({ hostIds: input.hostIds }));
    const moved: MoveResult[] = [];
    for (const stranded of plan.stranded) {
      await op.step(`fence-${stranded.hostId}`, 10, `Fencing host ${stranded.hostId}`, () => ha.availabilityFenceHost({ hostId: stranded.hostId, operationId: input.operationId }));
      const moves = stranded.instances.map((i) => ({ instanceId: i.id, uuid: i.uuid, fromHostId: stranded.hostId, toHostId: null, candidates: input.hostIds }));
      moved.push(...await op.step(`move-${stranded.hostId}`, 30, `Recreating ${moves.length} instances of host ${stranded.hostId} elsewhere`, () => moveAll(input.operationId, `h${stranded.hostId}`, moves, false, input.movesAtOnce, input)));
    }
    const restored: string[] = [];
    const lost: Array<{ uuid: string; error: string }> = [];
    let intact = 0;
    for (const hostId of plan.usable) {
      const route = await db.computeHostRoute({ hostId });
      const engine = engineFor(route, input.agentWaitSeconds);
      let found;
      try {
        found = await op.step(`list-${hostId}`, 60, `Comparing host ${hostId}'s engine with the records`, () => engine.engineList({ hostId }));
      } catch {
        continue; // an engine that does not answer now: its instances stay as recorded (the health check will say)
      }
      const recorded = await ha.availabilityRecordedOn({ hostId });
      const recreate: PlannedMove[] = [];
      for (const r of recorded) {
        const copy = found.find((f) => f.ref === r.ref || f.uuid === r.uuid);
        if (!copy) { recreate.push({ instanceId: r.id, uuid: r.uuid, fromHostId: hostId, toHostId: hostId }); continue; }
        if (r.state === 'running' && copy.state !== 'running') {
          try {
            await engine.enginePower({ hostId, ref: copy.ref, action: 'start' });
            await db.recordInstance({ instanceId: r.id, state: (await waitForState(engine, hostId, copy.ref, 'running', input.instanceWaitSeconds)).state });
            restored.push(r.uuid);
          } catch (err) {
            lost.push({ uuid: r.uuid, error: describeError(err).message });
          }
          continue;
        }
        intact++;
      }
      for (const r of await moveAll(input.operationId, `in${hostId}`, recreate, false, input.movesAtOnce, input)) {
        if (r.status === 'moved') restored.push(r.uuid);
        else if (r.status === 'failed') lost.push({ uuid: r.uuid, error: r.error ?? 'failed' });
      }
    }
    const s = summary(moved);
    lost.push(...s.failed.map((f) => ({ uuid: f.uuid, error: f.error ?? 'failed' })));
    return { restored, moved: s.moved, lost, intact };
  });
}
