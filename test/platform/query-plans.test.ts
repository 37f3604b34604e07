import type { Knex } from 'knex';
import { startTestApi, type TestApi } from '../support/api';
import { statementsOf, type Statement } from '../support/query-capture';

// The hottest list queries must stay index range scans at any size (bench/scale.ts measures them at a million rows).
// The statements are the ones the API runs for each request, captured, then EXPLAINed with sequential scans priced
// out, so the plan says which index the planner can use on a table of any size.
let api: TestApi;
let admin: string;
beforeAll(async () => {
  api = await startTestApi();
  admin = await api.admin();
});
afterAll(async () => { await api.close(); });

/**
 * Plans as a big operator's database would get them: the tables filled (50,000 instances over 500 hosts and 1,000 owners,
 * 50,000 operations) and analyzed inside a transaction that is rolled back, sequential scans priced out.
 */
async function plans(knex: Knex, statements: Statement[]): Promise<string[]> {
  const trx = await knex.transaction();
  try {
    await trx.raw(`insert into users (username, email, password_hash) select 'plan_user_' || i, 'plan' || i || '@example.test', 'x' from generate_series(1, 1000) i`);
    const owner = Number((await trx('users').min('id as id').whereLike('username', 'plan_user_%'))[0].id);
    const host = Number((await trx.raw(`insert into hosts (name, address, engine_type, enabled) select 'plan-host-' || i, 'local', 'simulator', false from generate_series(1, 500) i returning id`)).rows[0].id);
    await trx.raw(`insert into instances (uuid, host_id, name, owner_id, state) select 'plan-' || i, ? + i % 500, 'plan-' || i, ? + i % 1000,
      case when i % 50 = 0 then 'error' else 'running' end from generate_series(1, 50000) i`, [host, owner]);
    await trx.raw(`insert into operations (id, type, status, resource_type, resource_id, created_by, created_at)
      select 'plan-op-' || i, 'type-' || i % 20, case when i % 20 = 0 then 'failed' else 'succeeded' end, 'instance', 'plan-' || i % 50000, ? + i % 1000, now() - i * interval '1 second'
      from generate_series(1, 50000) i`, [owner]);
    await trx.raw(`insert into audit_log (at, module, action, message) select now() - i * interval '2 seconds', 'plan', 'plan', 'plan' from generate_series(1, 50000) i`);
    await trx.raw('analyze users, hosts, instances, operations, audit_log');
    await trx.raw('set local enable_seqscan = off');
    const out: string[] = [];
    for (const s of statements) {
      const rows = (await trx.raw(`explain ${s.sql.replace(/\$\d+/g, '?')}`, s.bindings as Knex.RawBinding[])).rows as Array<{ 'QUERY PLAN': string }>;
      out.push(rows.map((r) => r['QUERY PLAN']).join('\n'));
    }
    return out;
  } finally {
    await trx.rollback();
  }
}

const HOT: Array<{ path: string; table: string; indexes: string[] }> = [
  { path: '/api/v1/instances?owner_id=123', table: 'instances', indexes: ['instances_owner_live', 'instances_owner_id_index'] },
  { path: '/api/v1/instances?host_id=7', table: 'instances', indexes: ['instances_host_live', 'instances_host_id_index'] },
  { path: '/api/v1/instances?state=error', table: 'instances', indexes: ['instances_state_live'] },
  { path: '/api/v1/operations?type=type-3', table: 'operations', indexes: ['operations_type_created', 'operations_type_status_index'] },
  // PostgreSQL 18 may count by skipping through (type, status)
  { path: '/api/v1/operations?status=failed', table: 'operations', indexes: ['operations_status_created', 'operations_type_status_index'] },
  { path: '/api/v1/operations?resource_type=instance&resource_id=plan-7', table: 'operations', indexes: ['operations_resource_created', 'operations_resource_type_resource_id_index'] },
  { path: '/api/v1/operations', table: 'operations', indexes: ['operations_created', 'operations_type_status_index'] }, // the bounded count: any index
];

describe('the list endpoints\' plans use their indexes', () => {
  it('instances by owner, host and status; operations by type, status, resource, newest first; audit by time range', async () => {
    const checks: Array<{ path: string; table: string; indexes: string[]; sql: string; bindings: unknown[] }> = [];
    for (const hot of HOT) for (const s of await statementsOf(api, admin, hot.path, hot.table)) checks.push({ ...hot, ...s });
    const audit = api.deps.knex('audit_log').where('at', '>=', new Date(Date.now() - 3_600_000)).where('at', '<', new Date())
      .orderBy([{ column: 'at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(20).toSQL();
    checks.push({ path: 'audit by time range', table: 'audit_log', indexes: ['Index Scan Backward using audit_log_at_id'], sql: audit.sql, bindings: [...audit.bindings] });
    const texts = await plans(api.deps.knex, checks);
    const wrong = checks.map((c, i) => ({ ...c, text: texts[i] }))
      .filter((c) => new RegExp(`Seq Scan on ${c.table}\\b`).test(c.text) || !c.indexes.some((ix) => c.text.includes(ix)));
    expect(wrong.map((c) => `${c.path} should use ${c.indexes.join(' or ')}:\n${c.sql}\n${c.text}`)).toEqual([]);
  });
});
