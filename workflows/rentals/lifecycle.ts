import {
  ApplicationFailure, allHandlersFinished, condition, continueAsNew, executeChild, proxyActivities, proxyLocalActivities, setHandler, workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { RentalActivities } from '../../activities/rentals/activities';
import type { ComputeActivities } from '../../activities/compute/activities';
import type { OperationActivities } from '../../activities/platform/operations';
import type { PowerAction } from '../../shared/compute/catalogue';
import { createInstanceWorkflow, deleteInstanceWorkflow, powerInstanceWorkflow } from '../compute/runbooks';
import { type ComputeBounds } from '../../shared/compute/contracts';
import { describeError } from '../platform/operation';
import { deleteRentalUpdate, extendRentalUpdate, remindRentalSignal, rentalStateQuery, type RentalPhase } from './signals';

const retry: ActivityOptions['retry'] = { initialInterval: '1s', maximumInterval: '30s', nonRetryableErrorTypes: ['RENTAL_GONE', 'CODE_REFUSED', 'BAD_EXPIRY', 'CONFLICT'] };
const rentals = proxyActivities<RentalActivities>({ startToCloseTimeout: '30s', retry });
const compute = proxyActivities<ComputeActivities>({ startToCloseTimeout: '30s', retry: { ...retry, maximumAttempts: 10 } });
const bookkeeping = proxyLocalActivities<OperationActivities>({ startToCloseTimeout: '15s', retry: { initialInterval: '1s', maximumInterval: '10s' } });

export interface RentalLifecycleInput extends ComputeBounds {
  rentalId: number;
  uuid: string;
  ownerId: number;
  expiresAt: string;
  /** A host chosen at redemption; otherwise placement picks a docker host. */
  hostId: number | null;
  reminderDays: number;
  graceSeconds: number;
  /** Continue as new after this many changes (renewals, reminders); absent in workflows started before it existed. */
  continueAsNewAfter?: number;
  /** Set when this run continues an earlier one: the relay exists, and where the lifecycle stood. */
  resumed?: RentalCarried;
}

/** What a run hands to the next when it continues as new (the expiry travels as `expiresAt`). */
export interface RentalCarried {
  phase: 'active' | 'suspended';
  instanceId: number;
  instanceUuid: string;
  remindedFor: number | null;
  remindNow: boolean;
  /** Operations started so far: their ids (`<workflow id>.<type>-<seq>`) never repeat across runs. */
  seq: number;
  /** Runs so far, for the record. */
  runs: number;
}

const DAY_MS = 86_400_000;

/**
 * One rental, from redemption to deletion: create the relay (placement, a port, the derper container, each change an
 * operation run by the compute runbooks as a child workflow), then durable timers — a reminder mail `reminderDays` before
 * expiry (once per expiry, through the outbox), at expiry the relay stops, after the grace period it is deleted and its
 * port freed. Renewals arrive as Updates (`rentals.extend`): validated, written, and the timers move; a suspended relay
 * starts again. `rentals.delete` ends it early. After `continueAsNewAfter` changes, or when Temporal suggests it (the
 * history grows long), the run continues as new between two waits, with its state carried (`resumed`), so the history
 * of a rental renewed for years stays short.
 */
export async function rentalLifecycleWorkflow(input: RentalLifecycleInput) {
  const { rentalId } = input;
  const carried = input.resumed;
  let expiresAt = Date.parse(input.expiresAt);
  let phase: RentalPhase = carried?.phase ?? 'provisioning';
  let instanceId: number | null = carried?.instanceId ?? null;
  let remindedFor: number | null = carried?.remindedFor ?? null;
  let remindNow = carried?.remindNow ?? false;
  let deleteRequested = false;
  let generation = 0;
  let seq = carried?.seq ?? 0;

  setHandler(rentalStateQuery, () => ({
    phase, expiresAt: new Date(expiresAt).toISOString(), instanceId, remindedFor: remindedFor ? new Date(remindedFor).toISOString() : null, runs: carried?.runs ?? 1,
  }));
  setHandler(extendRentalUpdate, async (change) => {
    const result = await rentals.rentalsApplyChange({ ...change, rentalId }).catch((err) => {
      const error = describeError(err);
      throw ApplicationFailure.nonRetryable(error.message, error.code); // fails this update only, never the workflow
    });
    expiresAt = Date.parse(result.expiresAt);
    generation++;
    return result;
  }, {
    validator: (change) => {
      if (deleteRequested || phase === 'deleting' || phase === 'deleted' || phase === 'failed') throw new Error(`Rental ${rentalId} is ${deleteRequested ? 'being deleted' : phase}`);
      if (change.codeId === undefined && change.expiresAt === undefined) throw new Error('A change needs a serial code or a new expiry');
      if (change.expiresAt !== undefined && !(Date.parse(change.expiresAt) > Date.now())) throw new Error('The new expiry must lie in the future');
    },
  });
  setHandler(deleteRentalUpdate, () => {
    deleteRequested = true;
    generation++;
    return { deleting: true as const };
  }, { validator: () => { if (phase === 'deleting' || phase === 'deleted') throw new Error(`Rental ${rentalId} is already ${phase}`); } });
  setHandler(remindRentalSignal, () => { remindNow = true; generation++; });

  /** A compute runbook as a child workflow, with its operation row (type, resource, owner) like any other operation. */
  async function relayOperation<T>(type: string, resourceId: string, run: (operationId: string) => Promise<T>): Promise<T> {
    const operationId = `${workflowInfo().workflowId}.${type}-${++seq}`;
    await bookkeeping.registerOperation({ operationId, type, resourceType: 'instance', resourceId, resourceName: `derp-relay-${rentalId}`, createdBy: input.ownerId, params: { rental_id: rentalId } });
    return run(operationId);
  }
  const bounds: ComputeBounds = { agentWaitSeconds: input.agentWaitSeconds, instanceWaitSeconds: input.instanceWaitSeconds };
  let instanceUuid = carried?.instanceUuid ?? '';
  /** A relay change that failed is recorded on the rental; the lifecycle goes on (the timers still hold). */
  const noted = async (what: string, change: () => Promise<unknown>) => {
    try {
      await change();
    } catch (err) {
      const error = describeError(err);
      await rentals.rentalsSetStatus({ rentalId, status: phase, error: { code: error.code, message: `${what}: ${error.message}` } });
    }
  };
  const power = (action: PowerAction) => noted(`${action} relay`, () => relayOperation(`instance.${action}`, instanceUuid, (operationId) =>
    executeChild(powerInstanceWorkflow, { workflowId: operationId, args: [{ operationId, instanceId: instanceId!, action, ...bounds }] })));

  // Provisioning (a first run only): placement, a port, the container (compute's create runbook), then the rental records its relay.
  if (!carried) try {
    const hostId = input.hostId ?? (await compute.placeInstance({ engineType: 'docker' })).hostId;
    const { request } = await rentals.rentalsPrepareRelay({ rentalId, hostId });
    instanceUuid = request.uuid;
    const created = await relayOperation('instance.create', request.uuid, (operationId) =>
      executeChild(createInstanceWorkflow, { workflowId: operationId, args: [{ operationId, request, passwordSealed: null, ...bounds }] }));
    instanceId = created.instance_id;
    await rentals.rentalsRecordRelay({ rentalId, instanceId });
    phase = 'active';
  } catch (err) {
    const error = describeError(err);
    phase = 'failed';
    await rentals.rentalsSetStatus({ rentalId, status: 'failed', error: { code: error.code, message: error.message } });
    await rentals.rentalsReleaseRelay({ rentalId });
    await condition(allHandlersFinished);
    throw ApplicationFailure.nonRetryable(`The relay of rental ${rentalId} could not be created: ${error.message}`, error.code);
  }

  for (;;) {
    if (deleteRequested) break;
    if (generation >= (input.continueAsNewAfter ?? Infinity) || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      if (!deleteRequested) {
        const state: RentalCarried = { phase: phase as RentalCarried['phase'], instanceId: instanceId!, instanceUuid, remindedFor, remindNow, seq, runs: (carried?.runs ?? 1) + 1 };
        await continueAsNew<typeof rentalLifecycleWorkflow>({ ...input, expiresAt: new Date(expiresAt).toISOString(), resumed: state });
      }
      continue;
    }
    const seen = generation;
    const now = Date.now();
    const changed = () => generation !== seen;
    if (phase === 'suspended') {
      if (expiresAt > now) {
        await power('start');
        phase = 'active';
        await rentals.rentalsSetStatus({ rentalId, status: 'active', action: 'resume' });
        continue;
      }
      const deleteAt = expiresAt + input.graceSeconds * 1000;
      if (now >= deleteAt) break;
      await condition(changed, deleteAt - now);
      continue;
    }
    if (now >= expiresAt) {
      await power('stop');
      phase = 'suspended';
      await rentals.rentalsSetStatus({ rentalId, status: 'suspended', action: 'suspend' });
      continue;
    }
    const remindAt = expiresAt - input.reminderDays * DAY_MS;
    if (remindedFor !== expiresAt && (remindNow || now >= remindAt)) {
      await rentals.rentalsReminderMail({ rentalId, expiresAt: new Date(expiresAt).toISOString() });
      remindedFor = expiresAt;
      remindNow = false;
      continue;
    }
    remindNow = false;
    await condition(changed, (remindedFor === expiresAt ? expiresAt : Math.min(remindAt, expiresAt)) - now);
  }

  phase = 'deleting';
  if (instanceId !== null) {
    await noted('delete relay', () => relayOperation('instance.delete', instanceUuid, (operationId) =>
      executeChild(deleteInstanceWorkflow, { workflowId: operationId, args: [{ operationId, instanceId: instanceId!, ...bounds }] })));
  }
  await rentals.rentalsReleaseRelay({ rentalId });
  phase = 'deleted';
  await condition(allHandlersFinished);
  return { rental_id: rentalId, deleted: true, expired_at: new Date(expiresAt).toISOString() };
}
