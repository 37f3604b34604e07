import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { Reply, route } from '../platform/http/route';
import { dbId, idParams } from '../platform/http/schemas';
import { operationSchema } from '../platform/operations/present';
import { networkingServices } from './services';
import { isAdmin } from '../platform/auth/principal';
import { notFound } from '../../shared/platform/errors';
import { claimMessage, proxyVerificationSchema, verifyProxyBody, type ProxyVerification } from './domain-proof';
import { addressSchema, createAddressBody, createForwardBody, createProxyBody, forwardSchema, hostAcmeBody, hostAcmeSchema, hostNetworkSchema, networkQuotaBody, networkQuotaSchema, proxySchema } from './schemas';

const accepted = z.object({ operation: operationSchema });
/** A proxy's create answer also says how to prove its domain (it is served only once proven). */
const claimed = accepted.extend({ verification: proxyVerificationSchema.nullable() });
const instanceId = z.union([dbId, z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'an instance id or uuid')]);
const instanceParams = z.object({ id: instanceId });
const itemParams = z.object({ id: instanceId, item: dbId });

/** Native networking API: an instance's port forwards, bound addresses and reverse proxies; every change is an operation (202) applied by the host's agent. */
export function networkingRoutes(deps: AppDeps) {
  const { operations, hosts, changes, forwards, addresses, proxies, hostNetwork, acme } = networkingServices(deps);
  const tags = ['networking'];
  const ok = (started: Parameters<typeof operations.accepted>[0]) => operations.accepted(started);
  const resources = [
    { path: 'port-forwards', noun: 'port forwards', service: forwards, body: createForwardBody, schema: forwardSchema, key: 'port_forwards', created: accepted },
    { path: 'addresses', noun: 'bound public addresses (1:1 NAT)', service: addresses, body: createAddressBody, schema: addressSchema, key: 'addresses', created: accepted },
    { path: 'proxies', noun: 'reverse proxies', service: proxies, body: createProxyBody, schema: proxySchema, key: 'proxies', created: claimed },
  ] as const;
  return [
    ...resources.flatMap((r) => [
      route({
        method: 'get', path: `/instances/:id/${r.path}`, tags, permission: 'view', summary: `The instance's ${r.noun}`,
        params: instanceParams, response: z.object({ [r.key]: z.array(r.schema) }),
        handler: async ({ caller, params }) => ({ [r.key]: await r.service.list(await changes.instances.instanceRow(caller.principal, params.id)) }),
      }),
      route({
        method: 'post', path: `/instances/:id/${r.path}`, tags, permission: 'update', startsOperation: true,
        summary: `Add one of the instance's ${r.noun} (within the owner's quota); the host's agent applies it`,
        params: instanceParams, body: r.body, response: r.created,
        handler: async ({ caller, params, body }) => {
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          const started = await r.service.add(caller, await changes.instance(caller, params.id), body as any);
          const reply = ok(started);
          if (!('verification' in started)) return reply;
          const verification = started.verification as ProxyVerification | null;
          return new Reply({ ...(reply.data as object), verification }, { ...reply.opts, message: verification && !started.replayed ? claimMessage(verification) : reply.opts.message });
        },
      }),
      route({
        method: 'get', path: `/instances/:id/${r.path}/:item`, tags, permission: 'view', summary: `One of the instance's ${r.noun}`,
        params: itemParams, response: r.schema,
        handler: async ({ caller, params }) => {
          const item = (await r.service.list(await changes.instances.instanceRow(caller.principal, params.id))).find((x) => x.id === params.item);
          if (!item) throw notFound(r.noun, params.item);
          return item;
        },
      }),
      route({
        method: 'delete', path: `/instances/:id/${r.path}/:item`, tags, permission: 'update', startsOperation: true,
        summary: `Remove one of the instance's ${r.noun}; the host's agent applies it`, params: itemParams, response: accepted,
        handler: async ({ caller, params }) => ok(await r.service.remove(caller, await changes.instance(caller, params.id), params.item)),
      }),
    ]),
    route({
      method: 'post', path: '/instances/:id/proxies/:item/verify', tags, permission: 'update', startsOperation: true,
      summary: 'Check the proof of a reverse proxy\'s domain (its TXT record or HTTP token); once proven, the host\'s agent serves it. Admins may mark it verified (force)',
      params: itemParams, body: verifyProxyBody, response: accepted,
      handler: async ({ caller, params, body }) => ok(await proxies.verify(caller, await changes.instance(caller, params.id), params.item, body)),
    }),
    route({
      method: 'get', path: '/users/:id/network-quota', tags, permission: 'view', summary: 'A user\'s network quota and use (yours; an admin sees anyone\'s)',
      params: idParams, response: networkQuotaSchema,
      handler: async ({ principal, params }) => {
        if (params.id !== principal.userId && !isAdmin(principal)) throw notFound('user', params.id);
        return changes.quota(params.id);
      },
    }),
    route({
      method: 'put', path: '/users/:id/network-quota', tags, permission: 'admin', summary: 'Set a user\'s network quota (NAT ports, proxies, public addresses; WireGuard clients and IPv6 allocations, unchanged when omitted)',
      params: idParams, body: networkQuotaBody, response: networkQuotaSchema, message: 'Network quota updated',
      handler: ({ params, body }) => changes.setQuota(params.id, body),
    }),
    route({
      method: 'get', path: '/hosts/:id/network', tags, permission: 'admin', summary: 'What the host\'s agent applied lately, and the drift it corrected',
      params: idParams, response: hostNetworkSchema,
      handler: async ({ params }) => hostNetwork.view(await hosts.hostRow(params.id)),
    }),
    route({
      method: 'get', path: '/hosts/:id/network/acme', tags, permission: 'admin', summary: 'Where the host\'s proxy certificates come from: its ACME settings, or the internal CA',
      params: idParams, response: hostAcmeSchema,
      handler: async ({ params }) => acme.view(await hosts.hostRow(params.id)),
    }),
    route({
      method: 'put', path: '/hosts/:id/network/acme', tags, permission: 'admin', status: 202, startsOperation: true,
      summary: 'Take the host\'s proxy certificates from an ACME directory (the host\'s agent applies it)', params: idParams, body: hostAcmeBody, response: accepted,
      handler: async ({ caller, params, body }) => ok(await acme.set(caller, await hosts.hostRow(params.id), body)),
    }),
    route({
      method: 'delete', path: '/hosts/:id/network/acme', tags, permission: 'admin', status: 202, startsOperation: true,
      summary: 'Back to the internal CA for the host\'s proxy certificates (the host\'s agent applies it)', params: idParams, response: accepted,
      handler: async ({ caller, params }) => ok(await acme.set(caller, await hosts.hostRow(params.id), null)),
    }),
  ];
}
