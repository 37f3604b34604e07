import crypto from 'node:crypto';
import { PassThrough, Transform, pipeline, type Readable } from 'node:stream';
import type { Knex } from 'knex';
import { AppError } from '../../shared/platform/errors';
import { safeEqual } from '../../shared/platform/crypto';
import { safeCsvStringify } from '../../shared/platform/csv';
import { EXPORT_COLUMNS, txtLine, type ExportFormat } from '../../shared/logs/levels';
import { streamEntries, type LogEntryRow } from '../../db/queries/logs/entries';
import { presentEntry, type LogFilter } from './entries';

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  json: 'application/json; charset=utf-8', csv: 'text/csv; charset=utf-8', txt: 'text/plain; charset=utf-8',
};

/** A row of the store as an export shows it: the entry's fields, details and stack as text for CSV. */
const exportRow = (r: LogEntryRow) => {
  const e = presentEntry(r);
  return { ...e, details: JSON.stringify(e.details) };
};

/** Rows in, text out: one or two transforms per format. */
function formatters(format: ExportFormat): Transform[] {
  if (format === 'csv') {
    return [
      new Transform({ objectMode: true, transform(row, _e, done) { done(null, exportRow(row)); } }),
      // Text cells that would start a spreadsheet formula are prefixed with ' (OWASP CSV injection).
      safeCsvStringify({ header: true, columns: [...EXPORT_COLUMNS] }),
    ];
  }
  if (format === 'txt') {
    return [new Transform({ writableObjectMode: true, transform(row, _e, done) { done(null, txtLine(presentEntry(row))); } })];
  }
  let first = true;
  return [new Transform({
    writableObjectMode: true,
    transform(row, _e, done) {
      const text = JSON.stringify(presentEntry(row));
      done(null, (first ? '[\n' : ',\n') + text);
      first = false;
    },
    flush(done) { done(null, first ? '[]\n' : '\n]\n'); },
  })];
}

/**
 * The matching entries, oldest first, as a stream of JSON, CSV or TXT text read through the store's server-side cursor:
 * memory stays flat however many entries there are. The pooled connection goes back when the stream ends, fails or the
 * client goes away.
 */
export async function exportStream(knex: Knex, filter: LogFilter, format: ExportFormat): Promise<Readable> {
  const { rows, release } = await streamEntries(knex, filter);
  const out = new PassThrough();
  pipeline([rows, ...formatters(format), out], (err) => {
    if (err) rows.destroy();
    release();
  });
  out.once('close', release);
  return out;
}

/** Export links (seed 003): the filter and format signed with a key derived from the master key, valid until `exp`. */
export interface ExportTicket {
  format: ExportFormat;
  filter: { levels?: string[]; module?: string; source?: string; since?: string; until?: string; search?: string; user_id?: number; request_id?: string };
  exp: number;
  /** Who asked: the download is audited under their name. */
  by: string;
}

const keyOf = (masterKey: Buffer) => crypto.createHmac('sha256', masterKey).update('idcflow logs export links').digest();
const mac = (masterKey: Buffer, body: string) => crypto.createHmac('sha256', keyOf(masterKey)).update(body).digest('base64url');

export function signTicket(masterKey: Buffer, t: ExportTicket): string {
  const body = Buffer.from(JSON.stringify(t)).toString('base64url');
  return `${body}.${mac(masterKey, body)}`;
}

/** The ticket a link carries; a forged, altered or expired one is refused (403/410-like as a 403 with the reason). */
export function verifyTicket(masterKey: Buffer, token: string, now = Date.now()): ExportTicket {
  const [body, sig] = token.split('.');
  if (!body || !sig || !safeEqual(sig, mac(masterKey, body))) throw new AppError('INSUFFICIENT_PERMISSIONS', 'This download link is not valid', { reason: 'signature' });
  const t = JSON.parse(Buffer.from(body, 'base64url').toString()) as ExportTicket;
  if (!(t.exp > now)) throw new AppError('INSUFFICIENT_PERMISSIONS', 'This download link has expired: ask for a new export', { reason: 'expired', expired_at: new Date(t.exp).toISOString() });
  return t;
}
