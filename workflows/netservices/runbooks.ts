import { proxyActivities, type ActivityOptions, type RetryPolicy } from '@temporalio/workflow';
import type { ComputeActivities } from '../../activities/compute/activities';
import type { NetservicesDbActivities } from '../../activities/netservices/db';
import type { WireguardHostActivities } from '../../activities/netservices/wireguard-host';
import type { BgpHostActivities } from '../../activities/netservices/bgp-host';
import type { OperationInput } from '../../shared/platform/operations';
import { runOperation } from '../platform/operation';
import { onHostAgent } from '../platform/host-agent';

const retry: RetryPolicy & { nonRetryableErrorTypes: string[] } = { initialInterval: '500ms', maximumInterval: '10s', maximumAttempts: 10, nonRetryableErrorTypes: ['RESOURCE_NOT_FOUND', 'CONFLICT', 'VALIDATION_ERROR', 'SERVICE_UNAVAILABLE'] };
const db = proxyActivities<NetservicesDbActivities & Pick<ComputeActivities, 'computeHostRoute'>>({ startToCloseTimeout: '30s', retry });
/** Host changes are idempotent (the whole desired state each time), so a crashed agent's call is simply run again. */
const hostOptions: ActivityOptions = { startToCloseTimeout: '2m', heartbeatTimeout: '20s', retry: { ...retry, maximumAttempts: 5, nonRetryableErrorTypes: [...retry.nonRetryableErrorTypes, 'HOST_COMMAND_FAILED'] } };

export type WireguardAction = 'start' | 'stop' | 'sync';

export interface WireguardServerInput extends OperationInput {
  serverId: number;
  hostId: number;
  action: WireguardAction;
  agentWaitSeconds: number;
}

/**
 * Runbook for a WireGuard server, on its host's agent. start: want it running, create the interface (kernel module, else
 * wireguard-go), `wg syncconf` with every enabled peer, addresses, link up. stop: want it stopped, remove the interface.
 * sync (a client added, removed, disabled): apply the peers again; the others keep their sessions.
 */
export async function wireguardServerWorkflow(input: WireguardServerInput) {
  return runOperation(input.operationId, async (op) => {
    const { serverId } = input;
    const route = await op.step('route', 5, 'Finding the host\'s agent', () => db.computeHostRoute({ hostId: input.hostId }));
    const host = onHostAgent<WireguardHostActivities>(route, input.agentWaitSeconds, hostOptions);
    if (input.action === 'stop') {
      await op.step('desired', 20, 'Marking the server as wanted stopped', () => db.netservicesWireguardSetDesired({ serverId, desired: 'stopped' }));
      await op.step('down', 50, `Removing the interface on ${route.name}`, () => host.netservicesWireguardDown({ serverId }));
      return op.step('record', 90, 'Recording the stopped server', () => db.netservicesWireguardRecord({ serverId, status: 'stopped' }));
    }
    if (input.action === 'start') {
      await op.step('desired', 20, 'Marking the server as wanted running', () => db.netservicesWireguardSetDesired({ serverId, desired: 'running' }));
      op.onUndo('desired', () => db.netservicesWireguardSetDesired({ serverId, desired: 'stopped' }));
      // Whatever part of the interface was made goes again (an agent that is offline made none).
      if (route.agentOnline) op.onUndo('interface', () => host.netservicesWireguardDown({ serverId }));
    }
    const applied = await op.step('apply', 50, `Applying the interface and its peers on ${route.name}`, () => host.netservicesWireguardApply({ serverId }));
    if (input.action === 'sync') return { server_id: serverId, ...applied };
    const recorded = await op.step('record', 90, 'Recording the running server', () => db.netservicesWireguardRecord({ serverId, status: 'running' }));
    return { ...recorded, ...applied };
  });
}

export interface BgpApplyInput extends OperationInput {
  hostId: number;
  /** A session started or stopped: its `enabled` is set first (undone if BIRD refuses the result). */
  session?: { id: number; enabled: boolean };
  agentWaitSeconds: number;
}

/**
 * Runbook for BGP on a host: render idcflow's part of BIRD's configuration from PostgreSQL, `birdc configure check`,
 * apply without restarting BIRD (only changed sessions are touched), then read the sessions' state back.
 */
export async function bgpApplyWorkflow(input: BgpApplyInput) {
  return runOperation(input.operationId, async (op) => {
    const route = await op.step('route', 5, 'Finding the host\'s agent', () => db.computeHostRoute({ hostId: input.hostId }));
    const host = onHostAgent<BgpHostActivities>(route, input.agentWaitSeconds, hostOptions);
    const session = input.session;
    if (session) {
      const before = await op.step('session', 20, `${session.enabled ? 'Enabling' : 'Disabling'} the session`, () => db.netservicesBgpSetEnabled({ sessionId: session.id, enabled: session.enabled }));
      op.onUndo('session', () => db.netservicesBgpSetEnabled({ sessionId: session.id, enabled: before.previous }));
    }
    const applied = await op.step('apply', 50, `Checking and applying BIRD's configuration on ${route.name}`, () => host.netservicesBgpApply({ hostId: input.hostId }));
    await op.step('status', 90, 'Reading the sessions back from BIRD', () => host.netservicesBgpCollect({ hostName: route.name }));
    const state = session ? await db.netservicesBgpSession({ sessionId: session.id }) : null;
    return { ...applied, ...(state ?? {}) };
  });
}
