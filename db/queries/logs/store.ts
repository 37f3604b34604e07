import type { Knex } from 'knex';
import type { LogStoreSink, StoredLogLine } from '../../../shared/platform/logger';

/** PostgreSQL text and jsonb refuse NUL characters: a log line keeps them as the escape \u0000 would show. */
const clean = (s: string | null) => (s === null ? null : s.split('\u0000').join('\\u0000'));

/** Writes a batch of a process's warnings and errors into the log center (one INSERT). */
export async function insertLogLines(knex: Knex, lines: StoredLogLine[]): Promise<void> {
  if (!lines.length) return;
  await knex('log_entries').insert(lines.map((l) => ({
    at: l.at, level: l.level, source: 'process', module: clean(l.module)!, message: clean(l.message)!,
    details: JSON.stringify(l.details, (_k, v: unknown) => (typeof v === 'string' ? clean(v) : v)), stack_trace: clean(l.stack_trace), request_id: clean(l.request_id),
    user_id: l.user_id, username: clean(l.username), process: clean(l.process),
  })));
}

/** Sends a process's stored log lines to `knex` from now on. */
export function attachLogStore(sink: LogStoreSink, knex: Knex): void {
  sink.attach((lines) => insertLogLines(knex, lines));
}
