import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { route } from '../platform/http/route';
import { viewerOf } from '../platform/auth/principal';
import { seedDate } from '../users/compat-user-data';
import { UserDataBulk } from './bulk';
import { UserDataRecords, type UserDataRow } from './records';
import { bodyCredentials, bulkBody, bulkDeleteBody, dataKey, dataValue } from './schemas';
import { UserDataTargets } from './targets';

const seedRecord = (row: UserDataRow) => ({
  id: Number(row.id),
  user_id: row.username,
  data_key: row.key,
  data_value: row.value,
  created_at: seedDate(row.created_at),
  updated_at: seedDate(row.updated_at),
});

/** Seed 004's user data endpoints: plain JSON, credentials in the body (or a bearer token). */
export function userDataCompatRoutes(deps: AppDeps) {
  const records = new UserDataRecords(deps);
  const targets = new UserDataTargets(deps.knex);
  const bulk = new UserDataBulk(deps);
  const common = { tags: ['compat: seed 004 user data'], surface: 'seed004' as const, credentials: 'body' as const };
  return [
    route({
      ...common, method: 'get', path: '/api/user_data', permission: 'view', message: '获取成功',
      summary: 'Your data (all keys, or ?key=); anyone’s with admin rights or the server token (?username=)',
      query: z.object({ key: dataKey.optional(), username: z.string().min(1).max(64).optional() }),
      body: z.object(bodyCredentials).optional(),
      handler: async ({ principal, query, body }) => {
        const user = await targets.byName(principal, query.username ?? body?.username);
        if (query.key) return { data: seedRecord(await records.get(viewerOf(principal), user.id, query.key)) };
        return { data: (await records.list(viewerOf(principal), user.id)).map(seedRecord) };
      },
    }),
    route({
      ...common, method: 'post', path: '/api/user_data', permission: 'update', message: '数据更新成功',
      summary: 'Create or replace one key of your data (anyone’s with admin rights or the server token)',
      body: z.object({ ...bodyCredentials, key: dataKey, value: dataValue }),
      handler: async ({ caller, body }) => {
        const user = await targets.byName(caller.principal, body.username);
        const row = await records.put(caller, user.id, body.key, body.value);
        const { created_at: _created, ...data } = seedRecord(row);
        return { data };
      },
    }),
    route({
      ...common, method: 'post', path: '/api/user_data/bulk', permission: 'update', message: '批量操作完成',
      summary: 'Several adds, updates and deletes: all or nothing (mode "atomic", the default) or each on its own ("partial")',
      body: bulkBody,
      handler: async ({ caller, body }) => bulk.run(caller, body.operations, body.mode),
    }),
    route({
      ...common, method: 'delete', path: '/api/user_data/bulk', permission: 'update', message: '批量删除完成',
      summary: 'Delete several keys: all or nothing (mode "atomic", the default) or each on its own ("partial")',
      body: bulkDeleteBody,
      handler: async ({ caller, body }) => {
        const result = await bulk.run(caller, body.operations, body.mode);
        return { ...result, deleted_keys: result.results.filter((r) => r.status === 'success').map((r) => r.key) };
      },
    }),
  ];
}

