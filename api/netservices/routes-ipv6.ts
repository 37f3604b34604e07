import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { MANAGERS } from '../../shared/platform/permissions';
import { route } from '../platform/http/route';
import { dbId, idParams, pageQuery, pagination } from '../platform/http/schemas';
import { Ipv6Service } from './ipv6';
import { allocateBody, allocationSchema, createPoolBody, poolSchema, updatePoolBody } from './schemas';

/** Seed 003's /ipv6/*: pools (admins and managers) and allocations (users: their own). */
export function ipv6Routes(deps: AppDeps) {
  const ipv6 = new Ipv6Service(deps);
  const tags = ['ipv6'];
  return [
    route({
      method: 'get', path: '/ipv6/pools', tags, permission: 'view', roles: MANAGERS, summary: 'IPv6 prefix pools with exact counts of total, allocated and available prefixes',
      query: pageQuery.extend({ search: z.string().max(64).optional() }), response: z.object({ pools: z.array(poolSchema), pagination }),
      handler: ({ query }) => ipv6.listPools(query),
    }),
    route({
      method: 'post', path: '/ipv6/pools', tags, permission: 'create', roles: MANAGERS, status: 201, summary: 'Create a pool: a prefix and the length it delegates (pools never overlap)',
      body: createPoolBody, response: poolSchema, message: 'IPv6前缀池创建成功',
      handler: ({ caller, body }) => ipv6.createPool(caller, body),
    }),
    route({
      method: 'get', path: '/ipv6/pools/:id', tags, permission: 'view', roles: MANAGERS, summary: 'A pool', params: idParams, response: poolSchema,
      handler: async ({ params }) => ipv6.presentPool(await ipv6.poolRow(params.id)),
    }),
    route({
      method: 'put', path: '/ipv6/pools/:id', tags, permission: 'update', roles: MANAGERS, summary: 'Open a pool to customers\' allocations (or close it: their allocations stay), or change its description',
      params: idParams, body: updatePoolBody, response: poolSchema, message: 'IPv6 pool updated',
      handler: ({ caller, params, body }) => ipv6.updatePool(caller, params.id, body),
    }),
    route({
      method: 'delete', path: '/ipv6/pools/:id', tags, permission: 'delete', roles: MANAGERS, summary: 'Delete a pool that has no allocations', params: idParams,
      response: z.object({ id: z.number(), name: z.string(), deleted: z.boolean() }), message: 'IPv6 pool deleted',
      handler: ({ caller, params }) => ipv6.deletePool(caller, params.id),
    }),
    route({
      method: 'get', path: '/ipv6/allocations', tags, permission: 'view', summary: 'Allocations (yours; admins and managers see all)',
      query: pageQuery.extend({ pool_id: dbId.optional() }), response: z.object({ allocations: z.array(allocationSchema), pagination }),
      handler: ({ principal, query }) => ipv6.listAllocations(principal, query),
    }),
    route({
      method: 'post', path: '/ipv6/allocations', tags, permission: 'create', status: 201, summary: 'Allocate the next free prefix of a pool (or a given one): a pool open to customers, or any for admins and managers; within your ipv6_allocations quota',
      body: allocateBody, response: allocationSchema, message: 'IPv6前缀分配成功',
      handler: async ({ caller, body }) => ipv6.presentAllocation(await ipv6.allocate(caller, body)),
    }),
    route({
      method: 'get', path: '/ipv6/allocations/:id', tags, permission: 'view', summary: 'An allocation', params: idParams, response: allocationSchema,
      handler: async ({ principal, params }) => ipv6.presentAllocation(await ipv6.allocationRow(principal, params.id)),
    }),
    route({
      method: 'delete', path: '/ipv6/allocations/:id', tags, permission: 'delete', summary: 'Release an allocation (its prefix is handed out again)', params: idParams,
      response: z.object({ id: z.number(), allocated_prefix: z.string(), released: z.boolean() }), message: 'IPv6 prefix released',
      handler: ({ caller, params }) => ipv6.release(caller, params.id),
    }),
  ];
}
