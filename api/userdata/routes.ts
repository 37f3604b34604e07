import { z } from 'zod';
import { etagOf, parseIfMatch } from '../../shared/userdata/limits';
import type { AppDeps } from '../platform/deps';
import { Reply, route } from '../platform/http/route';
import { viewerOf } from '../platform/auth/principal';
import { iso } from '../platform/http/schemas';
import { UserDataBulk } from './bulk';
import { UserDataRecords, type Precondition, type UserDataRow } from './records';
import { bulkBody, dataValue, keyParams, nativeTarget, recordSchema } from './schemas';
import { UserDataTargets } from './targets';
import type Koa from 'koa';

const presentRecord = (row: UserDataRow) => ({
  key: row.key,
  value: row.value,
  user_id: row.user_id,
  username: row.username,
  version: row.version,
  etag: etagOf(row.version),
  created_at: iso(row.created_at),
  updated_at: iso(row.updated_at),
});

/** If-Match (a version, or * for "exists") and If-None-Match: * ("does not exist yet"). */
function preconditionOf(ctx: Koa.Context): Precondition {
  const ifMatch = ctx.get('if-match');
  const ifNoneMatch = ctx.get('if-none-match');
  return { ifMatch: ifMatch ? parseIfMatch(ifMatch) : undefined, ifNoneMatch: ifNoneMatch.trim() === '*' };
}

/** /api/v1/user-data: per-user JSON records with ETag / If-Match compare-and-set. */
export function userDataRoutes(deps: AppDeps) {
  const records = new UserDataRecords(deps);
  const targets = new UserDataTargets(deps.knex);
  const bulk = new UserDataBulk(deps);
  const tags = ['user data'];
  return [
    route({
      tags, method: 'get', path: '/user-data', permission: 'view', summary: 'Your records (an admin: ?user_id=)',
      query: nativeTarget, response: z.object({ records: z.array(recordSchema) }),
      handler: async ({ principal, query }) => {
        const user = await targets.byId(principal, query.user_id);
        return { records: (await records.list(viewerOf(principal), user.id)).map(presentRecord) };
      },
    }),
    route({
      tags, method: 'get', path: '/user-data/:key', permission: 'view', summary: 'One record, with its ETag',
      params: keyParams, query: nativeTarget, response: recordSchema,
      handler: async ({ principal, params, query }) => {
        const user = await targets.byId(principal, query.user_id);
        const row = await records.get(viewerOf(principal), user.id, params.key);
        return new Reply(presentRecord(row), { headers: { ETag: etagOf(row.version) } });
      },
    }),
    route({
      tags, method: 'put', path: '/user-data/:key', permission: 'update',
      summary: 'Create or replace a record; If-Match: "vN" replaces only that version (412 otherwise), If-None-Match: * only creates',
      params: keyParams, query: nativeTarget, body: z.object({ value: dataValue }), response: recordSchema,
      handler: async ({ ctx, caller, params, query, body }) => {
        const user = await targets.byId(caller.principal, query.user_id);
        const row = await records.put(caller, user.id, params.key, body.value, preconditionOf(ctx));
        return new Reply(presentRecord(row), { status: row.version === 1 ? 201 : 200, headers: { ETag: etagOf(row.version) } });
      },
    }),
    route({
      tags, method: 'delete', path: '/user-data/:key', permission: 'update', summary: 'Delete a record (If-Match: only that version)',
      params: keyParams, query: nativeTarget,
      handler: async ({ ctx, caller, params, query }) => {
        const user = await targets.byId(caller.principal, query.user_id);
        await records.delete(caller, user.id, user.username, params.key, preconditionOf(ctx));
        return new Reply(null, { message: 'Record deleted' });
      },
    }),
    route({
      tags, method: 'post', path: '/user-data/bulk', permission: 'update',
      summary: 'Several operations (seed 004’s): all or nothing by default, or mode "partial"',
      body: bulkBody.omit({ api_token: true, server_token: true }),
      handler: async ({ caller, body }) => bulk.run(caller, body.operations, body.mode),
    }),
  ];
}
