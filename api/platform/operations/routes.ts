import { z } from 'zod';
import type { AppDeps } from '../deps';
import { route } from '../http/route';
import { pageQuery, pagination } from '../http/schemas';
import { OperationService } from './service';
import { listOperationsQuery, operationEventSchema, operationSchema, presentOperation } from './present';

const opParams = z.object({ id: z.string().min(1).max(200) });

export function operationRoutes(deps: AppDeps) {
  const operations = new OperationService(deps);
  const tags = ['operations'];
  return [
    route({
      method: 'get', path: '/operations', tags, permission: 'view', summary: 'Operations (yours; an admin sees all and may filter by user)',
      query: pageQuery.extend(listOperationsQuery.shape),
      response: z.object({ operations: z.array(operationSchema), pagination }),
      handler: ({ principal, query }) => operations.list(principal, query),
    }),
    route({
      method: 'get', path: '/operations/:id', tags, permission: 'view', summary: 'An operation, with live progress while it runs',
      params: opParams, response: operationSchema,
      handler: ({ principal, params }) => operations.get(principal, params.id),
    }),
    route({
      method: 'get', path: '/operations/:id/wait', tags, permission: 'view', summary: 'Long poll: answers when the operation ends or after `timeout` seconds',
      params: opParams, query: z.object({ timeout: z.coerce.number().min(0).max(60).default(30) }), response: operationSchema,
      handler: async ({ principal, params, query }) => presentOperation(await operations.wait(principal, params.id, query.timeout)),
    }),
    route({
      method: 'post', path: '/operations/:id/cancel', tags, permission: 'update', status: 202, summary: 'Ask a running operation to cancel; it undoes what it did and ends as canceled',
      params: opParams, response: operationSchema, message: 'Cancellation requested',
      handler: async ({ principal, params }) => presentOperation(await operations.cancel(principal, params.id)),
    }),
    route({
      method: 'get', path: '/operations/:id/events', tags, permission: 'view', summary: 'The step log of an operation',
      params: opParams, response: z.object({ events: z.array(operationEventSchema) }),
      handler: async ({ principal, params }) => ({ events: await operations.events(principal, params.id) }),
    }),
  ];
}
