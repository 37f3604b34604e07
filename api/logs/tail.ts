import { PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { Reply } from '../platform/http/route';
import { validationError } from '../../shared/platform/errors';
import { entriesAfterId } from '../../db/queries/logs/entries';
import { presentEntry, type LogFilter } from './entries';

export const LOG_CHANNEL = 'idcflow_logs';
const BACKLOG = 500;
const KEEPALIVE_MS = 15_000;

export type Announced = { id: number; at: string; level: string; source: string; module: string; [k: string]: unknown };

const matches = (e: Announced, f: LogFilter) =>
  (!f.levels?.length || f.levels.includes(e.level as never)) && (!f.module || e.module === f.module) && (!f.source || e.source === f.source)
  && (f.userId === undefined || e.user_id === f.userId);

/** An entry as the store's trigger announced it, as seed 003's `log_entry` message carries it (the SSE tail and the WebSocket). */
export const announcedEntry = ({ at, ...e }: Announced) => ({ ...e, timestamp: new Date(at).toISOString() });

const frame = (e: Announced) =>
  `id: ${e.id}\nevent: log_entry\ndata: ${JSON.stringify({ type: 'log_entry', data: announcedEntry(e), timestamp: new Date().toISOString() })}\n\n`;

/**
 * The real-time tail as server-sent events: every entry inserted anywhere (any process, any replica) is announced by
 * the store's trigger on `idcflow_logs`, and this process's one LISTEN connection fans it out. A client that reconnects
 * with `Last-Event-ID` (or `?since_id=`) first gets what it missed (up to 500 entries), then the live ones.
 * Each event is `{type: "log_entry", data: <entry without details>, timestamp}` as seed 003's channel messages are.
 */
export async function tail(deps: AppDeps, req: IncomingMessage, filter: LogFilter, sinceId?: number): Promise<Reply> {
  const header = String(req.headers['last-event-id'] ?? '');
  if (header && !/^\d{1,18}$/.test(header)) throw validationError([{ field: 'Last-Event-ID', location: 'header', message: 'must be an entry id' }]);
  const after = header ? Number(header) : sinceId;
  const out = new PassThrough();
  let lastSent = after ?? 0;
  let backfilling = after !== undefined;
  const held: Announced[] = [];
  const send = (e: Announced) => {
    if (e.id <= lastSent || !matches(e, filter)) return;
    lastSent = e.id;
    out.write(frame(e));
  };
  const unsubscribe = await deps.notifications.subscribe(LOG_CHANNEL, (payload) => {
    const e = payload as Announced;
    if (!e || typeof e.id !== 'number') return;
    if (backfilling) held.push(e); else send(e);
  });
  const keepalive = setInterval(() => out.write(': keep-alive\n\n'), KEEPALIVE_MS);
  const stop = () => { clearInterval(keepalive); unsubscribe(); out.end(); };
  req.once('close', stop);
  out.once('error', stop);
  req.socket.setTimeout(0);
  req.socket.setKeepAlive(true);
  out.write(`retry: 3000\n: tailing the log center\n\n`);
  if (after !== undefined) {
    const missed = await entriesAfterId(deps.knex, after, BACKLOG);
    for (const r of missed) {
      const { details: _d, stack_trace: _s, timestamp, ...e } = presentEntry(r);
      send({ ...e, at: timestamp });
    }
    backfilling = false;
    for (const e of held.splice(0)) send(e);
  }
  return new Reply(out, {
    raw: true, status: 200,
    headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no', Connection: 'keep-alive' },
  });
}

export const tailQuery = { since_id: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional() };
