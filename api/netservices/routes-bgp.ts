import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { MANAGERS } from '../../shared/platform/permissions';
import { route } from '../platform/http/route';
import { idParams, pageQuery, pagination } from '../platform/http/schemas';
import { OperationService } from '../platform/operations/service';
import { operationSchema } from '../platform/operations/present';
import { BgpService } from './bgp';
import { allowedPrefixBody, allowedPrefixSchema, announcementSchema, createAnnouncementBody, createSessionBody, sessionSchema } from './schemas';

const operationRef = z.object({ id: z.string(), status: z.string(), links: z.record(z.string(), z.string().nullable()) }).describe('The operation that applies the change to BIRD');

/** Seed 003's /bgp/*: sessions and announcements (admins and managers), plus the ranges each host may announce. */
export function bgpRoutes(deps: AppDeps) {
  const bgp = new BgpService(deps, new OperationService(deps));
  const tags = ['bgp'];
  const started = z.union([z.object({ id: z.number(), status: z.string(), operation: z.unknown() }).passthrough(), z.object({ operation: operationSchema })]);
  return [
    route({
      method: 'get', path: '/bgp/sessions', tags, permission: 'view', roles: MANAGERS, summary: 'Sessions with the state BIRD reports (established, active, …), uptime, routes and last error',
      query: pageQuery, response: z.object({ sessions: z.array(sessionSchema), pagination }),
      handler: ({ query }) => bgp.listSessions(query),
    }),
    route({
      method: 'post', path: '/bgp/sessions', tags, permission: 'create', roles: MANAGERS, status: 201, summary: 'Create a session (the password is sealed); BIRD is configured by an operation',
      body: createSessionBody, response: sessionSchema.extend({ operation: operationRef }), message: 'BGP会话创建成功',
      handler: ({ caller, body }) => bgp.createSession(caller, body),
    }),
    route({
      method: 'get', path: '/bgp/sessions/:id', tags, permission: 'view', roles: MANAGERS, summary: 'A session', params: idParams, response: sessionSchema,
      handler: async ({ params }) => bgp.presentSession(await bgp.sessionRow(params.id)),
    }),
    route({
      method: 'delete', path: '/bgp/sessions/:id', tags, permission: 'delete', roles: MANAGERS, summary: 'Delete a session (removed from BIRD by an operation)', params: idParams,
      response: z.object({ id: z.number(), name: z.string(), deleted: z.boolean(), operation: operationRef }), message: 'BGP session deleted',
      handler: ({ caller, params }) => bgp.deleteSession(caller, params.id),
    }),
    route({
      method: 'post', path: '/bgp/sessions/:id/start', tags, permission: 'update', roles: MANAGERS, startsOperation: true, summary: 'Enable the session in BIRD (no restart); waits for the operation',
      params: idParams, response: started, handler: ({ caller, params }) => bgp.setSession(caller, params.id, true),
    }),
    route({
      method: 'post', path: '/bgp/sessions/:id/stop', tags, permission: 'update', roles: MANAGERS, startsOperation: true, summary: 'Disable the session in BIRD; waits for the operation',
      params: idParams, response: started, handler: ({ caller, params }) => bgp.setSession(caller, params.id, false),
    }),
    route({
      method: 'get', path: '/bgp/announcements', tags, permission: 'view', roles: MANAGERS, summary: 'Announcements', query: pageQuery,
      response: z.object({ announcements: z.array(announcementSchema), pagination }),
      handler: ({ query }) => bgp.listAnnouncements(query),
    }),
    route({
      method: 'post', path: '/bgp/announcements', tags, permission: 'create', roles: MANAGERS, status: 201, summary: 'Announce a prefix (inside a range allowed for the host) with prepends and communities',
      body: createAnnouncementBody, response: announcementSchema.extend({ operation: operationRef }), message: 'BGP宣告创建成功',
      handler: ({ caller, body }) => bgp.createAnnouncement(caller, body),
    }),
    route({
      method: 'get', path: '/bgp/announcements/:id', tags, permission: 'view', roles: MANAGERS, summary: 'An announcement', params: idParams, response: announcementSchema,
      handler: async ({ params }) => bgp.presentAnnouncement(await bgp.announcementRow(params.id)),
    }),
    route({
      method: 'delete', path: '/bgp/announcements/:id', tags, permission: 'delete', roles: MANAGERS, summary: 'Withdraw an announcement', params: idParams,
      response: z.object({ id: z.number(), prefix: z.string(), deleted: z.boolean(), operation: operationRef }), message: 'BGP announcement withdrawn',
      handler: ({ caller, params }) => bgp.deleteAnnouncement(caller, params.id),
    }),
    route({
      method: 'get', path: '/bgp/allowed-prefixes', tags, permission: 'view', roles: MANAGERS, summary: 'Ranges each host may announce', query: pageQuery,
      response: z.object({ allowed_prefixes: z.array(allowedPrefixSchema), pagination }),
      handler: ({ query }) => bgp.listAllowed(query),
    }),
    route({
      method: 'post', path: '/bgp/allowed-prefixes', tags, permission: 'admin', status: 201, summary: 'Allow a host to announce prefixes inside a range (admins)',
      body: allowedPrefixBody, response: allowedPrefixSchema, message: 'Range allowed',
      handler: ({ caller, body }) => bgp.addAllowed(caller, body),
    }),
    route({
      method: 'delete', path: '/bgp/allowed-prefixes/:id', tags, permission: 'admin', summary: 'Remove an allowed range (nothing may be announced inside it)', params: idParams,
      response: z.object({ id: z.number(), prefix: z.string(), deleted: z.boolean() }), message: 'Range removed',
      handler: ({ caller, params }) => bgp.removeAllowed(caller, params.id),
    }),
  ];
}
