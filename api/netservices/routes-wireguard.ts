import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { MANAGERS } from '../../shared/platform/permissions';
import { NO_STORE, Reply, route } from '../platform/http/route';
import { dbId, idParams, pageQuery, pagination } from '../platform/http/schemas';
import { OperationService } from '../platform/operations/service';
import { operationSchema } from '../platform/operations/present';
import { Ipv6Service } from './ipv6';
import { WireguardService } from './wireguard';
import { clientSchema, createClientBody, createServerBody, serverSchema, updateClientBody, updateServerBody } from './schemas';

const operationRef = z.object({ id: z.string(), status: z.string(), links: z.record(z.string(), z.string().nullable()) }).nullable()
  .describe('The operation that applies the change on the running server (null when the server is stopped)');

/** Seed 003's /wireguard/*: servers (admins and managers), clients (users: their own). */
export function wireguardRoutes(deps: AppDeps) {
  const operations = new OperationService(deps);
  const wg = new WireguardService(deps, operations, new Ipv6Service(deps));
  const tags = ['wireguard'];
  /** The seed's answer once the operation is done; 202 with the operation while it runs (or with `Prefer: respond-async`). */
  const started = z.union([z.object({ id: z.number(), status: z.string(), operation: z.unknown() }).passthrough(), z.object({ operation: operationSchema })]);
  return [
    route({
      method: 'get', path: '/wireguard/servers', tags, permission: 'view', roles: MANAGERS, summary: 'WireGuard servers (private keys are never listed)',
      query: pageQuery.extend({ status: z.enum(['running', 'stopped', 'error']).optional() }), response: z.object({ servers: z.array(serverSchema), pagination }),
      handler: ({ query }) => wg.listServers(query),
    }),
    route({
      method: 'post', path: '/wireguard/servers', tags, permission: 'create', roles: MANAGERS, status: 201, summary: 'Create a server: keys made here (X25519), the private key sealed and shown only in this answer',
      body: createServerBody, response: serverSchema, message: '服务器创建成功',
      handler: async ({ caller, body }) => new Reply(await wg.createServer(caller, body), { status: 201, headers: NO_STORE }),
    }),
    route({
      method: 'get', path: '/wireguard/servers/:id', tags, permission: 'view', roles: MANAGERS, summary: 'A server', params: idParams, response: serverSchema,
      handler: async ({ params }) => wg.presentServer(await wg.serverRow(params.id)),
    }),
    route({
      method: 'put', path: '/wireguard/servers/:id', tags, permission: 'update', roles: MANAGERS, summary: 'Open a server to customers\' clients (or close it: their clients stay), or mark it (in)active',
      params: idParams, body: updateServerBody, response: serverSchema, message: 'Server updated',
      handler: ({ caller, params, body }) => wg.updateServer(caller, params.id, body),
    }),
    route({
      method: 'delete', path: '/wireguard/servers/:id', tags, permission: 'delete', roles: MANAGERS, summary: 'Delete a stopped server without clients', params: idParams,
      response: z.object({ id: z.number(), name: z.string(), deleted: z.boolean() }), message: 'Server deleted',
      handler: ({ caller, params }) => wg.deleteServer(caller, params.id),
    }),
    route({
      method: 'post', path: '/wireguard/servers/:id/start', tags, permission: 'update', roles: MANAGERS, startsOperation: true,
      summary: 'Start: on the host\'s agent, the interface (kernel or wireguard-go), every peer (wg syncconf), addresses, link up. Waits for the operation',
      params: idParams, response: started,
      handler: ({ caller, params }) => wg.startServer(caller, params.id),
    }),
    route({
      method: 'post', path: '/wireguard/servers/:id/stop', tags, permission: 'update', roles: MANAGERS, startsOperation: true, summary: 'Stop: remove the interface on the host. Waits for the operation',
      params: idParams, response: started,
      handler: ({ caller, params }) => wg.stopServer(caller, params.id),
    }),
    route({
      method: 'get', path: '/wireguard/clients', tags, permission: 'view', summary: 'Clients with their latest handshake and bytes (yours; admins and managers see all)',
      query: pageQuery.extend({ server_id: dbId.optional() }), response: z.object({ clients: z.array(clientSchema), pagination }),
      handler: ({ principal, query }) => wg.listClients(principal, query),
    }),
    route({
      method: 'post', path: '/wireguard/clients', tags, permission: 'create', status: 201,
      summary: 'Create a client (on a server open to customers, or any for admins and managers; within your wireguard_clients quota): addresses from the server\'s subnets (or a prefix from an IPv6 pool), keys (or your own public key), the config file and its QR code',
      body: createClientBody, response: clientSchema.extend({ operation: operationRef }), message: '客户端创建成功',
      handler: async ({ caller, body }) => new Reply(await wg.createClient(caller, body), { status: 201, headers: NO_STORE }),
    }),
    route({
      method: 'get', path: '/wireguard/clients/:id', tags, permission: 'view', summary: 'A client', params: idParams, response: clientSchema,
      handler: async ({ principal, params }) => wg.presentClient(await wg.clientRow(principal, params.id)),
    }),
    route({
      method: 'get', path: '/wireguard/clients/:id/config', tags, permission: 'view', summary: 'The client\'s config file and QR code again (its owner, or an admin or manager)',
      params: idParams, response: z.object({ config: z.string(), qr_code: z.string() }),
      handler: async ({ principal, params }) => new Reply(await wg.clientConfig(await wg.clientRow(principal, params.id)), { headers: NO_STORE }),
    }),
    route({
      method: 'put', path: '/wireguard/clients/:id', tags, permission: 'update', summary: 'Enable or disable a client, or set its expiry; a running server is updated without dropping the others',
      params: idParams, body: updateClientBody, response: clientSchema.extend({ operation: operationRef }), message: 'Client updated',
      handler: async ({ caller, params, body }) => wg.updateClient(caller, await wg.clientRow(caller.principal, params.id), body),
    }),
    route({
      method: 'delete', path: '/wireguard/clients/:id', tags, permission: 'delete', summary: 'Delete a client (removed from the running interface; its pool prefix released)',
      params: idParams, response: z.object({ id: z.number(), name: z.string(), deleted: z.boolean(), operation: operationRef }), message: 'Client deleted',
      handler: async ({ caller, params }) => wg.deleteClient(caller, await wg.clientRow(caller.principal, params.id)),
    }),
  ];
}
