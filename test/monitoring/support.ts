import crypto from 'node:crypto';
import WebSocket from 'ws';
import type { Knex } from 'knex';

/** A host row of its own for a suite (a simulator: nothing is driven, only its samples matter). */
export async function testHost(knex: Knex, prefix = 'mon'): Promise<{ id: number; name: string }> {
  const name = `${prefix}-${crypto.randomBytes(4).toString('hex')}`;
  const [row] = await knex('hosts').insert({ name, address: 'localhost', engine_type: 'simulator' }).returning(['id', 'name']);
  return row;
}

export interface LiveMessage { type: string; data: any; timestamp: string } // eslint-disable-line @typescript-eslint/no-explicit-any

/** A WebSocket client that keeps every message and how the socket closed. */
export function liveClient(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  const messages: LiveMessage[] = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (raw) => {
    messages.push(JSON.parse(raw.toString()));
    for (const w of waiters.splice(0)) w();
  });
  const opened = new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  opened.catch(() => undefined);
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const handshake = new Promise<number>((resolve) => {
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('open', () => resolve(101));
  });
  /** The first message (from `from` on) that `match` accepts, within `ms`. */
  async function next(match: (m: LiveMessage) => boolean, ms = 15_000, from = 0): Promise<LiveMessage> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = messages.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching message within ${ms} ms; got ${JSON.stringify(messages.map((m) => m.type))}`);
      await new Promise<void>((resolve) => { waiters.push(resolve); setTimeout(resolve, 200); });
    }
  }
  return { ws, messages, opened, closed, handshake, next, send: (m: unknown) => ws.send(JSON.stringify(m)), close: () => { if (ws.readyState !== ws.CLOSED) ws.terminate(); } };
}

export const wsUrl = (httpUrl: string, path: string) => httpUrl.replace(/^http/, 'ws') + path;
