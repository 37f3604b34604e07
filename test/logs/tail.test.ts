import crypto from 'node:crypto';
import { startTestApi, expectError, type TestApi } from '../support/api';
import { spawnEntrypoint } from '../support/processes';
import { insertLogLines } from '../../db/queries/logs/store';

interface TailEvent { id: string; event: string; data: { type: string; data: Record<string, unknown>; timestamp: string } }

/** An SSE client over fetch: events as they come, until closed. */
async function openTail(url: string, token: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, ...headers }, signal: controller.signal });
  const events: TailEvent[] = [];
  let buffer = '';
  const reading = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = Object.fromEntries(block.split('\n').filter((l) => l && !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
          if (fields.data) events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data) });
        }
      }
    } catch { /* aborted */ }
  })();
  const next = async (pred: (e: TailEvent) => boolean, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = events.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching event in ${timeoutMs} ms; got ${JSON.stringify(events).slice(0, 500)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { res, events, next, close: async () => { controller.abort(); await reading; } };
}

describe('real-time tail (server-sent events)', () => {
  let api: TestApi;
  let admin: string;
  const mod = `tail${crypto.randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    api = await startTestApi();
    admin = await api.admin();
  });
  afterAll(() => api.close());

  it('delivers an entry written by another process, on the native tail and on seed 002\'s /api/real-time, filtered by module', async () => {
    const native = await openTail(`${api.url}/api/v1/logs/tail?module=${mod}`, admin);
    const seed = await openTail(`${api.url}/api/real-time?module=${mod}&level=ERROR`, admin);
    try {
      expect(native.res.status).toBe(200);
      expect(native.res.headers.get('content-type')).toContain('text/event-stream');
      const marker = `m${crypto.randomBytes(4).toString('hex')}`;
      await spawnEntrypoint('test/support/log-writer.ts', [mod, marker], { ...process.env }, 'log written', 60_000);
      for (const tail of [native, seed]) {
        const e = await tail.next((x) => String(x.data.data.message).startsWith(marker));
        expect(e.event).toBe('log_entry');
        expect(e.data).toMatchObject({ type: 'log_entry', timestamp: expect.any(String), data: { module: mod, level: 'ERROR', source: 'process', message: `${marker} from another process`, request_id: 'writer-request-1' } });
        expect(e.data.data.process).toMatch(/^idcflow-writer@/);
        expect(Number(e.id)).toBe(e.data.data.id);
        // The other module's line, written just before, was filtered out.
        expect(tail.events.filter((x) => String(x.data.data.message).startsWith(marker))).toHaveLength(1);
      }
    } finally {
      await native.close();
      await seed.close();
    }
  });

  it('after a reconnect with Last-Event-ID, sends what was missed first, then live entries', async () => {
    const line = (message: string) => ({ at: new Date(), level: 'WARNING' as const, module: mod, message, details: {}, stack_trace: null, request_id: null, user_id: null, username: null, process: 'test' });
    const first = await openTail(`${api.url}/api/v1/logs/tail?module=${mod}`, admin);
    await insertLogLines(api.deps.knex, [line('before the break')]);
    const seen = await first.next((e) => e.data.data.message === 'before the break');
    await first.close();
    await insertLogLines(api.deps.knex, [line('missed 1'), line('missed 2')]);
    const again = await openTail(`${api.url}/api/v1/logs/tail?module=${mod}`, admin, { 'last-event-id': seen.id });
    try {
      await again.next((e) => e.data.data.message === 'missed 2');
      await insertLogLines(api.deps.knex, [line('live again')]);
      await again.next((e) => e.data.data.message === 'live again');
      expect(again.events.map((e) => e.data.data.message)).toEqual(['missed 1', 'missed 2', 'live again']);
    } finally {
      await again.close();
    }
  });

  it('refuses a bad Last-Event-ID or filter, and callers without a token or the admin role', async () => {
    expectError(await api.call('GET', '/api/v1/logs/tail', { token: admin, headers: { 'last-event-id': 'yesterday' } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('GET', '/api/v1/logs/tail?level=LOUD', { token: admin }), 422, 'VALIDATION_ERROR');
    expect((await api.call('GET', '/api/real-time?since_id=-1', { token: admin })).status).toBe(422);
    expectError(await api.call('GET', '/api/v1/logs/tail'), 401, 'INVALID_CREDENTIALS');
    const viewer = await api.createUser('viewer');
    expectError(await api.call('GET', '/api/v1/logs/tail', { token: viewer.token }), 403, 'INSUFFICIENT_PERMISSIONS');
  });
});
