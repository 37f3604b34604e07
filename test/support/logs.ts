import type { Knex } from 'knex';
import type { TestApi } from './api';

const WORDS = ['disk', 'timeout', 'connection', 'refused', 'backup', 'nat', 'proxy', 'wireguard', 'login', 'sync', 'quota', 'engine', 'retry', 'certificate', 'bgp', 'prefix'];
export const MODULES = ['auth', 'compute', 'networking', 'dbsync', 'rentals', 'netservices', 'availability', 'oauth', 'users', 'api', 'worker', 'agent'];

/**
 * (Also used by bench/logs.ts: no jest globals here.)
 * Writes `count` entries straight into the store (one INSERT … SELECT over generate_series; the NOTIFY trigger is
 * skipped for the session, as a bulk load would): levels, modules and words spread deterministically and independently, `at` from
 * `newest` backwards by `stepMs` each, messages padded to about `messageBytes`.
 */
export async function seedLogEntries(knex: Knex, o: { count: number; newest?: Date; stepMs?: number; module?: string; marker?: string; messageBytes?: number; source?: string }) {
  const newest = o.newest ?? new Date();
  await knex.transaction(async (trx) => {
    await trx.raw('SET LOCAL session_replication_role = replica');
    await trx.raw(`
      INSERT INTO log_entries (at, level, source, module, action, message, details, request_id, user_id, username, ip_address, process)
      SELECT ?::timestamptz - (g * ?::bigint) * interval '1 millisecond',
        (ARRAY['INFO','INFO','INFO','INFO','INFO','INFO','WARNING','WARNING','ERROR','CRITICAL'])[1 + g % 10],
        ?, coalesce(?, (?::text[])[1 + (g / 10) % ?]), CASE WHEN g % 3 = 0 THEN 'update' END,
        concat_ws(' ', ?::text, (?::text[])[1 + (g / 120) % ?], (?::text[])[1 + (g / 1920) % ?], 'entry', g::text, repeat('x', ?)),
        jsonb_build_object('n', g, 'host', 'host-' || (g % 50)), md5(g::text), 1 + g % 100, 'user' || (g % 100), '127.0.0.' || (g % 250), 'bench@local:1'
      FROM generate_series(0, ? - 1) g`,
    [newest, o.stepMs ?? 1000, o.source ?? 'process', o.module ?? null, MODULES, MODULES.length, o.marker ?? '', WORDS, WORDS.length, WORDS, WORDS.length, Math.max(0, (o.messageBytes ?? 60) - 60), o.count]);
  });
}

/** Starts a log cleanup, waiting out another file's running one (one cleanup at a time: a 409 names it). */
export async function startCleanup(api: TestApi, token: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const res = await api.call('POST', '/api/v1/logs/cleanup', { token, body, headers });
    if (res.status !== 409 || Date.now() > deadline) return res;
    await new Promise((r) => setTimeout(r, 500));
  }
}
