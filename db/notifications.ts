import type { Knex } from 'knex';
import pg from 'pg';
import type { Logger } from '../shared/platform/logger';

/** Publishes on a PostgreSQL channel; every process listening (any API replica, worker or agent) receives it. */
export async function notify(knex: Knex | Knex.Transaction, channel: string, payload: unknown): Promise<void> {
  await knex.raw('select pg_notify(?, ?)', [channel, JSON.stringify(payload)]);
}

type Handler = (payload: unknown) => void;

/**
 * One LISTEN connection per process, shared by every subscriber. The connection comes back by itself after PostgreSQL
 * restarts; since notifications sent while it was away are lost, `onReconnect` handlers run then (caches flush).
 */
export class Notifications {
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly listened = new Set<string>();
  private readonly reconnectHandlers = new Set<() => void>();
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private listenQueue: Promise<void> = Promise.resolve();

  constructor(private readonly databaseUrl: string, private readonly logger: Logger) {}

  /** Calls `handler` with each payload published on `channel`; resolves once this process listens on it. */
  async subscribe(channel: string, handler: Handler): Promise<() => void> {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(handler);
    await this.connect();
    await this.listenAll();
    return () => { set.delete(handler); };
  }

  /** Runs after the connection was lost and came back (notifications in between may be missing). */
  onReconnect(handler: () => void): () => void {
    this.reconnectHandlers.add(handler);
    return () => { this.reconnectHandlers.delete(handler); };
  }

  get listening(): boolean {
    return this.client !== null;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private connect(): Promise<void> {
    if (this.client || this.closed) return Promise.resolve();
    this.connecting ??= this.open().finally(() => { this.connecting = null; });
    return this.connecting;
  }

  private async open(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl, keepAlive: true });
    client.on('notification', (msg) => this.dispatch(msg.channel, msg.payload));
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    await client.connect();
    if (this.closed) {
      await client.end();
      return;
    }
    this.listened.clear();
    this.client = client;
    await this.listenAll();
  }

  /** LISTENs one at a time on the connection (a subscriber resolves only after its own LISTEN, even when another is under way). */
  private listenAll(): Promise<void> {
    const run = this.listenQueue.then(() => this.listenPending());
    this.listenQueue = run.catch(() => undefined);
    return run;
  }

  private async listenPending() {
    const client = this.client;
    if (!client) return;
    for (const channel of this.handlers.keys()) {
      if (this.listened.has(channel)) continue;
      this.listened.add(channel);
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    }
  }

  private dispatch(channel: string, raw: string | undefined) {
    let payload: unknown = raw;
    try {
      payload = raw === undefined ? undefined : JSON.parse(raw);
    } catch { /* a payload not published by notify() is passed as its text */ }
    for (const handler of this.handlers.get(channel) ?? []) {
      try {
        handler(payload);
      } catch (err) {
        this.logger.error({ err, channel }, 'a notification handler failed');
      }
    }
  }

  private lost(client: pg.Client, err?: Error) {
    if (this.client !== client) return;
    this.client = null;
    if (this.closed) return;
    this.logger.warn({ err: err?.message }, 'the LISTEN connection to PostgreSQL was lost; reconnecting');
    for (const handler of this.reconnectHandlers) handler();
    this.retry(250);
  }

  private retry(delayMs: number) {
    this.retryTimer = setTimeout(() => {
      this.connect().then(() => {
        for (const handler of this.reconnectHandlers) handler();
      }).catch(() => this.retry(Math.min(delayMs * 2, 5_000)));
    }, delayMs);
    this.retryTimer.unref();
  }
}
