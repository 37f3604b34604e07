import { ActivityFailure, ApplicationFailure, isCancellation, proxyActivities, TimeoutFailure } from '@temporalio/workflow';
import type { ComputeActivities } from '../../activities/compute/activities';
import type { NetworkActivities, NetworkAgentActivities } from '../../activities/networking/activities';
import type { NetworkResource } from '../../shared/networking/resources';
import type { DomainProofActivities } from '../../activities/networking/domain-proof';
import type { ProofCheck } from '../../shared/networking/domain-proof';
import type { OperationInput } from '../../shared/platform/operations';
import type { AcmeSettings } from '../../shared/networking/acme';
import { hostTaskQueue } from '../../shared/compute/catalogue';
import { describeError, runOperation, type OperationRun } from '../platform/operation';

const NON_RETRYABLE = ['RESOURCE_NOT_FOUND', 'CONFLICT', 'VALIDATION_ERROR', 'SERVICE_UNAVAILABLE', 'NOT_SUPPORTED'];
const db = proxyActivities<NetworkActivities & DomainProofActivities & Pick<ComputeActivities, 'computeHostRoute'>>({
  startToCloseTimeout: '30s', retry: { initialInterval: '500ms', maximumInterval: '10s', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
});

export interface NetworkChangeInput extends OperationInput {
  kind: NetworkResource;
  id: number;
  hostId: number;
  action: 'add' | 'remove';
  agentWaitSeconds: number;
}

/** The host's agent, or a clear failure when the host has none or it is offline: nothing is sent to the host then. */
async function agentOf(op: OperationRun, hostId: number, waitSeconds: number) {
  const route = await op.step('route', 5, 'Finding the host\'s agent', () => db.computeHostRoute({ hostId }));
  if (!route.useAgent) {
    throw ApplicationFailure.nonRetryable(`Host ${route.name} has no agent: networking is applied by the host's own agent (use_agent)`, 'NOT_SUPPORTED', { host: route.name });
  }
  const offline = () => ApplicationFailure.nonRetryable(
    `The agent of host ${route.name} is offline (task queue ${hostTaskQueue(route.name)}; last heartbeat ${route.agentLastSeen ?? 'never'}); nothing was changed`,
    'SERVICE_UNAVAILABLE', { host: route.name, last_heartbeat: route.agentLastSeen },
  );
  if (!route.agentOnline) throw offline();
  const agent = proxyActivities<NetworkAgentActivities>({
    taskQueue: hostTaskQueue(route.name), scheduleToStartTimeout: `${waitSeconds}s`, startToCloseTimeout: '2m', heartbeatTimeout: '10s',
    retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
  });
  return {
    name: route.name,
    apply: async () => {
      try {
        return await agent.networkingApplyHost({ hostId });
      } catch (err) {
        if (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'SCHEDULE_TO_START') throw offline();
        throw err;
      }
    },
  };
}

/**
 * Runbook: one change to a host's network (a port forward, a bound address or a proxy added or removed). The row is
 * already in PostgreSQL (added `pending`, or marked `deleting`); the host's agent applies the host's whole desired state
 * atomically, then the row is settled. A failed apply changed nothing on the host: the row is put back as it was.
 */
export async function applyNetworkChangeWorkflow(input: NetworkChangeInput) {
  return runOperation(input.operationId, async (op) => {
    const ref = { kind: input.kind, id: input.id };
    if (input.action === 'add') op.onUndo('reserve', () => db.networkingForget(ref));
    else op.onUndo('mark-deleting', () => db.networkingRestore(ref));
    const agent = await agentOf(op, input.hostId, input.agentWaitSeconds);
    const applied = await op.step('apply', 40, `Applying the network state of ${agent.name} (nftables${input.kind === 'proxy' ? ', reverse proxy' : ''})`, () => agent.apply());
    if (input.action === 'add') await op.step('activate', 90, 'Recording the change as applied', () => db.networkingActivate(ref));
    else await op.step('forget', 90, 'Releasing what the change held', () => db.networkingForget(ref));
    return { kind: input.kind, id: input.id, action: input.action, host: agent.name, applied };
  });
}

export interface VerifyProxyDomainInput extends OperationInput {
  id: number;
  hostId: number;
  check: ProofCheck;
  allowPrivate: boolean;
  force: boolean;
  agentWaitSeconds: number;
}

/**
 * Runbook: the proof of a reverse proxy's domain. The check (DNS TXT, HTTP token) runs on the main worker; a domain
 * proven is then served: the host's agent applies the host's state with it (Caddy's route and certificate). A claim
 * without proof fails the operation with the reason (the claim stays pending); an apply that fails puts the claim back
 * to pending, unserved.
 */
export async function verifyProxyDomainWorkflow(input: VerifyProxyDomainInput) {
  return runOperation(input.operationId, async (op) => {
    const how = input.force ? 'Marking the domain verified (an admin\'s word)' : `Looking for the domain's proof (${input.check === 'any' ? 'DNS TXT record, then HTTP token' : input.check === 'dns' ? 'DNS TXT record' : 'HTTP token'})`;
    const proof = await op.step('check', 10, how, () => db.networkingProveDomain({ id: input.id, check: input.check, allowPrivate: input.allowPrivate, force: input.force }));
    if (proof.already) return { id: proof.id, domain: proof.domain, verified: true, method: proof.method, already: true };
    op.onUndo('prove', () => db.networkingUnproveDomain({ id: input.id, reason: 'The domain was proven but its host could not serve it (see the verify operation); verify again' }));
    const agent = await agentOf(op, input.hostId, input.agentWaitSeconds);
    const applied = await op.step('apply', 40, `Serving ${proof.domain} on ${agent.name} (reverse proxy)`, () => agent.apply());
    await op.step('activate', 90, 'Recording the proxy as served', () => db.networkingActivate({ kind: 'proxy', id: input.id }));
    return { id: proof.id, domain: proof.domain, verified: true, method: proof.method, already: false, host: agent.name, applied };
  });
}

export interface HostAcmeInput extends OperationInput {
  hostId: number;
  /** The new settings (a directory, email and CA root PEM: none of them secret), or null for Caddy's internal CA. */
  settings: AcmeSettings | null;
  agentWaitSeconds: number;
}

/**
 * Runbook: a host's ACME settings changed. They are saved, then the host's agent applies its whole state (Caddy's TLS
 * issuer with them); an apply that fails puts the previous settings back.
 */
export async function setHostAcmeWorkflow(input: HostAcmeInput) {
  return runOperation(input.operationId, async (op) => {
    const previous = await op.step('read', 5, 'Reading the host\'s current ACME settings', () => db.networkingAcmeSettings({ hostId: input.hostId }));
    op.onUndo('save', () => db.networkingSetAcme({ hostId: input.hostId, settings: previous, state: 'active' }));
    await op.step('save', 10, 'Saving the ACME settings', () => db.networkingSetAcme({ hostId: input.hostId, settings: input.settings }));
    const agent = await agentOf(op, input.hostId, input.agentWaitSeconds);
    const issuer = input.settings ? `ACME at ${input.settings.directory}` : 'the internal CA';
    const applied = await op.step('apply', 40, `Applying the network state of ${agent.name} (proxy certificates from ${issuer})`, () => agent.apply());
    await op.step('settle', 90, 'Recording the ACME settings as applied', () => db.networkingSettleAcme({ hostId: input.hostId }));
    return { host: agent.name, acme_directory: input.settings?.directory ?? null, applied };
  });
}

/**
 * Steps of the instance delete runbook: the instance's port forwards, addresses and proxies leave the host's desired
 * state and the host's agent applies it at once (their tracked flows go too), then their rows release the ports,
 * addresses and domains. A host without an agent, or whose agent cannot apply now, is left to its agent's next drift
 * check; the delete goes on either way.
 */
export async function releaseInstanceNetwork(op: OperationRun, instanceId: number, agentWaitSeconds: number) {
  const leaving = await op.step('network-leave', 60, 'Taking its port forwards, addresses and proxies out of the host\'s network', () => db.networkingInstanceLeaves({ instanceId }));
  if (!leaving.count) return { removed: 0, applied: false };
  let applied = false;
  try {
    const agent = await agentOf(op, leaving.hostId, agentWaitSeconds);
    await op.step('network-apply', 65, `Applying the network state of ${agent.name} without them`, () => agent.apply());
    applied = true;
  } catch (err) {
    if (isCancellation(err)) throw err;
    const why = describeError(err).message;
    await op.step('network-deferred', 65, `Left to the host agent's next drift check: ${why}`, async () => undefined);
  }
  await op.step('network-forget', 70, 'Releasing their ports, addresses and domains', () => db.networkingForgetInstance({ instanceId }));
  return { removed: leaving.count, applied };
}
