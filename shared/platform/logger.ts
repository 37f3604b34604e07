import { Writable } from 'node:stream';
import pino from 'pino';

/** Paths never written to logs in clear text. */
export const REDACT_PATHS = [
  'password', '*.password', 'new_password', '*.new_password', 'token', '*.token', 'api_token', '*.api_token',
  'server_token', '*.server_token', 'refresh_token', '*.refresh_token', 'access_token', '*.access_token',
  'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', 'req.headers.cookie',
  'secret', '*.secret', 'client_secret', '*.client_secret', 'private_key', '*.private_key',
];

/** One warning or error of a process, as the log center stores it (see db/logs/store.ts). */
export interface StoredLogLine {
  at: Date;
  level: 'WARNING' | 'ERROR' | 'CRITICAL';
  module: string;
  message: string;
  details: Record<string, unknown>;
  stack_trace: string | null;
  request_id: string | null;
  user_id: number | null;
  username: string | null;
  process: string;
}

const LEVELS: Record<number, StoredLogLine['level']> = { 40: 'WARNING', 50: 'ERROR', 60: 'CRITICAL' };
const OWN_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'module', 'reqId', 'requestId', 'err', 'userId', 'username']);

/** A pino line (JSON, already redacted) as a stored entry; null when it is below a warning or not JSON. */
export function storedLine(line: string): StoredLogLine | null {
  let o: Record<string, unknown>;
  try { o = JSON.parse(line); } catch { return null; }
  const level = LEVELS[Number(o.level)] ?? (Number(o.level) > 60 ? 'CRITICAL' : null);
  if (!level) return null;
  const err = o.err as { message?: string; stack?: string; type?: string } | undefined;
  const details = Object.fromEntries(Object.entries(o).filter(([k]) => !OWN_FIELDS.has(k)));
  if (err) details.error = { type: err.type, message: err.message };
  const name = String(o.name ?? 'idcflow');
  const str = (v: unknown, max: number) => (typeof v === 'string' && v ? v.slice(0, max) : null);
  return {
    at: new Date(typeof o.time === 'number' ? o.time : Date.now()),
    level,
    module: (str(o.module, 64) ?? name.replace(/^idcflow-?/, '') ?? 'idcflow') || 'idcflow',
    message: str(o.msg, 100_000) ?? str(err?.message, 100_000) ?? '(no message)',
    details,
    stack_trace: str(err?.stack, 100_000),
    request_id: str(o.reqId, 64) ?? str(o.requestId, 64),
    user_id: Number.isInteger(o.userId) ? (o.userId as number) : null,
    username: str(o.username, 64),
    process: `${name}@${String(o.hostname ?? '')}:${String(o.pid ?? '')}`.slice(0, 128),
  };
}

/**
 * A pino destination that keeps a process's warnings and errors for the log center without ever making the logger wait:
 * lines are parsed and queued in memory, and written in batches (every `intervalMs` or `batchSize` lines) by the writer
 * given to `attach` (the process's database, once it has one). While the database is away the queue keeps the newest
 * `maxQueued` lines and counts what it dropped; a failure is reported on stderr at most once a minute, never logged
 * (that would loop back here).
 */
export class LogStoreSink extends Writable {
  private queue: StoredLogLine[] = [];
  private writer: ((lines: StoredLogLine[]) => Promise<void>) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private lastComplaint = 0;
  private failing = false;
  dropped = 0;

  /** Lines waiting to be written. */
  get queued(): number { return this.queue.length; }

  constructor(private readonly opts: { batchSize?: number; intervalMs?: number; maxQueued?: number } = {}) {
    super({ decodeStrings: false });
  }

  override _write(chunk: string | Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    for (const line of chunk.toString().split('\n')) {
      if (!line) continue;
      const entry = storedLine(line);
      if (!entry) continue;
      this.queue.push(entry);
      const max = this.opts.maxQueued ?? 10_000;
      if (this.queue.length > max) this.dropped += this.queue.splice(0, this.queue.length - max).length;
    }
    this.schedule();
    done();
  }

  /** From now on batches go to `writer`; what was queued before goes first. */
  attach(writer: (lines: StoredLogLine[]) => Promise<void>): void {
    this.writer = writer;
    this.schedule();
  }

  /** Writes what is queued now (the writer stays attached). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (!this.writer || !this.queue.length) return;
    const batch = this.queue.splice(0, this.opts.batchSize ?? 500);
    this.flushing = this.writer(batch).then(() => { this.failing = false; }, (err: Error) => {
      this.failing = true;
      this.queue.unshift(...batch);
      const max = this.opts.maxQueued ?? 10_000;
      if (this.queue.length > max) this.dropped += this.queue.splice(0, this.queue.length - max).length;
      if (Date.now() - this.lastComplaint > 60_000) {
        this.lastComplaint = Date.now();
        process.stderr.write(`log center: could not store ${batch.length} log lines (${err.message}); kept in memory, retrying\n`);
      }
    }).finally(() => { this.flushing = null; });
    await this.flushing;
  }

  /** Stops the timer and writes what is left (at process end). */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
    this.writer = null;
  }

  private schedule(delay?: number) {
    if (this.timer || !this.writer || !this.queue.length) return;
    const full = this.queue.length >= (this.opts.batchSize ?? 500);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush().then(() => this.schedule());
    }, delay ?? (this.failing ? 5000 : full ? 0 : this.opts.intervalMs ?? 1000));
    this.timer.unref();
  }
}

/**
 * The process's logger: every line to stdout at `level`; with a `store`, warnings and errors also go to the log center.
 */
export function createLogger(level: string, name = 'idcflow', opts: { store?: LogStoreSink } = {}) {
  const options = { name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (!opts.store) return pino(options);
  return pino(options, pino.multistream([
    { level: 'trace', stream: pino.destination(1) },
    { level: 'warn', stream: opts.store },
  ]));
}

export type Logger = pino.Logger;
