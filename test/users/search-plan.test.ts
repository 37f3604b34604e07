import type { Knex } from 'knex';
import { startTestApi, type TestApi } from '../support/api';
import { statementsOf, type Statement } from '../support/query-capture';

// User search (`%…%` over username, email and full name) reads the users it finds through the trigram indexes of
// migration 026: the statements the API runs for a search, EXPLAINed on 20,000 users, must not filter the whole table.
let api: TestApi;
let admin: string;
beforeAll(async () => {
  api = await startTestApi();
  admin = await api.admin();
});
afterAll(async () => { await api.close(); });

/**
 * Plans on 20,000 users: a copy of the users table with its indexes in a schema of its own, filled and vacuumed (GIN
 * indexes are priced from statistics only VACUUM keeps, as autovacuum does on a real database), the statements run
 * with that schema first on the search path.
 */
async function plans(knex: Knex, statements: Statement[]): Promise<string[]> {
  const schema = `plan_users_${process.pid}`;
  await knex.raw(`create schema ${schema}`);
  try {
    await knex.raw(`create table ${schema}.users (like public.users including all)`);
    await knex.raw(`insert into ${schema}.users (username, email, full_name, password_hash)
      select 'plan_' || md5(i::text), 'plan' || i || '@example.test', 'Plan ' || md5((i * 7)::text), 'x' from generate_series(1, 20000) i`);
    await knex.raw(`vacuum analyze ${schema}.users`);
    return await knex.transaction(async (trx) => {
      await trx.raw(`set local search_path = ${schema}, public`);
      const out: string[] = [];
      for (const s of statements) {
        const rows = (await trx.raw(`explain ${s.sql.replace(/\$\d+/g, '?')}`, s.bindings as Knex.RawBinding[])).rows as Array<{ 'QUERY PLAN': string }>;
        out.push(rows.map((r) => r['QUERY PLAN']).join('\n'));
      }
      return out;
    });
  } finally {
    await knex.raw(`drop schema ${schema} cascade`);
  }
}

describe('user search', () => {
  it('has the trigram indexes of migration 026', async () => {
    const rows = (await api.deps.knex.raw(`select indexname from pg_indexes where tablename = 'users' and indexname like '%trgm'`)).rows as Array<{ indexname: string }>;
    expect(rows.map((r) => r.indexname).sort()).toEqual(['users_email_trgm', 'users_full_name_trgm', 'users_username_trgm']);
  });

  it('reads a search matching few users through them, its page and its count', async () => {
    const statements = await statementsOf(api, admin, '/api/v1/users?search=zq9xw', 'users');
    expect(statements.length).toBeGreaterThanOrEqual(2);
    const texts = await plans(api.deps.knex, statements);
    const wrong = statements.map((s, i) => ({ ...s, text: texts[i] }))
      // Only a trigram index answers `ILIKE '%…%'` as an index condition (the copies' indexes have names of their own).
      .filter((s) => /Seq Scan on users\b/.test(s.text) || !/BitmapOr/.test(s.text)
        || !['username', 'email', 'full_name'].every((column) => s.text.includes(`Index Cond: ((${column})::text ~~* `)));
    expect(wrong.map((s) => `${s.sql}\n${s.text}`)).toEqual([]);
  });

  it('still finds users by any part of their username, email or full name, in any case', async () => {
    const u = await api.createUser('viewer', { full_name: 'Zebulon Quartermain' });
    for (const search of [u.username.slice(2, 9), u.username.slice(-5).toUpperCase(), 'ebulon quarter', `${u.username}@example`, 'QUARTERMAIN']) {
      const res = await api.call('GET', `/api/v1/users?search=${encodeURIComponent(search)}&size=100`, { token: admin });
      expect({ search, found: res.body.data.users.some((x: { id: number }) => x.id === u.id) }).toEqual({ search, found: true });
    }
    const none = await api.call('GET', '/api/v1/users?search=%25_%25', { token: admin });
    expect(none.body.data.users).toEqual([]);
  });
});
