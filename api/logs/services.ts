import type { Readable } from 'node:stream';
import type { AppDeps } from '../platform/deps';
import type { Caller } from '../platform/caller';
import { audit } from '../platform/audit';
import { OperationService } from '../platform/operations/service';
import type { ExportFormat } from '../../shared/logs/levels';
import { logCleanupWorkflow } from '../../workflows/logs/cleanup';
import { COUNT_CAP, LogEntries, type LogFilter } from './entries';
import { CONTENT_TYPES, exportStream, signTicket, verifyTicket, type ExportTicket } from './export';
import { CLEANUP_BATCH } from './retention';

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);

/** The log center over the one store: reads, exports (streamed, or through a signed link), cleanup as an operation. */
export class LogCenter {
  readonly entries: LogEntries;
  readonly operations: OperationService;

  constructor(private readonly deps: AppDeps) {
    this.entries = new LogEntries(deps.knex);
    this.operations = new OperationService(deps);
  }

  /** Statistics over the last `hours` (or the filter's own window; default 24 hours). */
  stats(f: LogFilter, hours?: number) {
    return this.entries.stats({ ...f, ...(hours ? { since: new Date(Date.now() - hours * 3600_000) } : {}) });
  }

  errors(f: LogFilter, page: { page: number; size: number; cursor?: string }) {
    return this.entries.page({ ...f, levels: ['ERROR', 'CRITICAL'] }, page);
  }

  /** Health of the store, plus this process's sink: lines waiting and lines dropped while the database was away. */
  async health() {
    const store = this.deps.logStore;
    return { ...(await this.entries.health()), sink: store ? { queued: store.queued, dropped: store.dropped } : null, retention_days: this.deps.config.logs.retentionDays };
  }

  /** A direct download (seed 002): the stream, its content type and a file name. */
  async download(caller: Caller | null, filter: LogFilter, format: ExportFormat, by?: string) {
    const body = await exportStream(this.deps.knex, filter, format);
    await audit(this.deps.knex, caller, {
      module: 'logs', action: 'export', message: `Log export (${format})${by ? ` through a link made by ${by}` : ''}`, details: { format, filter: describeFilter(filter) },
      ...(caller ? {} : { username: by ?? null }),
    });
    return { body, contentType: CONTENT_TYPES[format], fileName: `logs_${stamp(new Date())}.${format}` } satisfies { body: Readable; contentType: string; fileName: string };
  }

  /** Seed 003's export: a link that carries the filter, signed, valid for IDCFLOW_LOG_EXPORT_LINK_MINUTES. */
  async exportLink(caller: Caller, filter: LogFilter, format: ExportFormat) {
    const exp = Date.now() + this.deps.config.logs.exportLinkMinutes * 60_000;
    const ticket: ExportTicket = { format, filter: describeFilter(filter), exp, by: caller.principal.username };
    const token = signTicket(this.deps.config.masterKey, ticket);
    const entries = await this.entries.boundedCount(filter);
    return {
      download_url: `/api/v1/logs/export/download/export_${stamp(new Date())}.${format}?token=${token}`,
      file_size: null, entries: Math.min(entries, COUNT_CAP), entries_exact: entries <= COUNT_CAP, format, expires_at: new Date(exp).toISOString(),
    };
  }

  /** What a link's token allows: its filter and format, or a 403 when forged or expired. */
  fromLink(token: string) {
    const t = verifyTicket(this.deps.config.masterKey, token);
    const f = t.filter;
    const filter: LogFilter = {
      levels: f.levels as LogFilter['levels'], module: f.module, userId: f.user_id, requestId: f.request_id, source: f.source as LogFilter['source'], search: f.search,
      since: f.since ? new Date(f.since) : undefined, until: f.until ? new Date(f.until) : undefined,
    };
    return { filter, format: t.format, by: t.by };
  }

  async cleanup(caller: Caller, body: { days: number; batch_size?: number }) {
    const before = new Date(Date.now() - body.days * 86_400_000).toISOString();
    const batchSize = body.batch_size ?? CLEANUP_BATCH;
    const started = await this.operations.start(caller, body, () => ({
      type: 'logs.cleanup', resource: { type: 'log_store', id: 'log_entries', name: `log entries older than ${body.days} days`, url: '/api/v1/logs' },
      params: { days: body.days, before, batch_size: batchSize },
      workflow: logCleanupWorkflow, input: { before, days: body.days, batchSize }, summary: `Delete log entries older than ${body.days} days (${before})`,
    }));
    if (!started.replayed) {
      await audit(this.deps.knex, caller, { module: 'logs', action: 'cleanup', message: `Log cleanup started: entries older than ${body.days} days`, resourceType: 'operation', resourceId: started.operation.id, details: { days: body.days, before } });
    }
    return started;
  }
}

function describeFilter(f: LogFilter): ExportTicket['filter'] {
  return {
    ...(f.levels ? { levels: f.levels } : {}), ...(f.module ? { module: f.module } : {}), ...(f.source ? { source: f.source } : {}),
    ...(f.search ? { search: f.search } : {}), ...(f.userId !== undefined ? { user_id: f.userId } : {}), ...(f.requestId ? { request_id: f.requestId } : {}), ...(f.since ? { since: f.since.toISOString() } : {}), ...(f.until ? { until: f.until.toISOString() } : {}),
  };
}
