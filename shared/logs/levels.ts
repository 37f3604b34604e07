/** The log center's levels, lowest first (pino's warn is WARNING, fatal CRITICAL). */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const ALIASES: Record<string, LogLevel> = { WARN: 'WARNING', FATAL: 'CRITICAL', ERR: 'ERROR', TRACE: 'DEBUG' };

/** A level as a client may spell it (`error`, `warn`, `WARNING`), or null when it is none. */
export function levelOf(text: string): LogLevel | null {
  const up = text.trim().toUpperCase();
  return (LOG_LEVELS as readonly string[]).includes(up) ? (up as LogLevel) : ALIASES[up] ?? null;
}

/** The levels at or above `level`. */
export const levelsFrom = (level: LogLevel) => LOG_LEVELS.slice(LOG_LEVELS.indexOf(level));

export const EXPORT_FORMATS = ['json', 'csv', 'txt'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The columns of an exported entry, in order. */
export const EXPORT_COLUMNS = ['id', 'timestamp', 'level', 'source', 'module', 'action', 'message', 'request_id', 'user_id', 'username', 'ip_address', 'resource_type', 'resource_id', 'process', 'details', 'stack_trace'] as const;

/** One line of a TXT export: `<timestamp> <LEVEL> [module] message (key=value …)`, newlines in the message escaped. */
export function txtLine(e: Record<string, unknown>): string {
  const oneLine = (v: unknown) => String(v).replace(/\r?\n/g, '\\n');
  const extra = ['request_id', 'username', 'ip_address', 'action'].filter((k) => e[k] !== null && e[k] !== undefined).map((k) => `${k}=${oneLine(e[k])}`);
  return `${e.timestamp} ${String(e.level).padEnd(8)} [${e.module}] ${oneLine(e.message)}${extra.length ? ` (${extra.join(' ')})` : ''}\n`;
}
