import type { TestApi } from './api';

export type Statement = { sql: string; bindings: unknown[] };

/** The SQL statements a GET of `path` runs against `table` (the session check cached first, so only the read shows). */
export async function statementsOf(api: TestApi, token: string, path: string, table: string): Promise<Statement[]> {
  await api.call('GET', path, { token });
  const seen: Statement[] = [];
  const listener = (q: { sql: string; bindings?: unknown[] }) => { seen.push({ sql: q.sql, bindings: q.bindings ?? [] }); };
  api.deps.knex.on('query', listener);
  try {
    const res = await api.call('GET', path, { token });
    expect(res.status).toBe(200);
  } finally {
    api.deps.knex.off('query', listener);
  }
  const reading = seen.filter((s) => new RegExp(`\\bfrom "${table}"`).test(s.sql));
  expect(reading.length).toBeGreaterThan(0);
  return reading;
}
