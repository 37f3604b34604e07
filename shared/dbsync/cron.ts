/**
 * Cron strings → Temporal Schedule calendars, built deliberately from the parsed fields.
 *
 * Accepted: five fields (minute hour day-of-month month day-of-week) and seed 002's six fields with SECONDS FIRST
 * (second minute hour day-of-month month day-of-week), e.g. `0 *\/30 * * * *`. Temporal itself reads six fields as
 * minute..year, so strings are never handed to it as cron text.
 * Each field: `*`, `?` (day fields), numbers, `a-b`, `*\/n`, `a-b/n`, `a/n`, comma lists; month and weekday names (JAN, MON).
 * Day-of-week 0 and 7 are Sunday. As in classic cron, when both day-of-month and day-of-week are restricted a day matching
 * either fires: that becomes two calendars (Temporal requires every field of one calendar to match).
 */

export const MONTH_NAMES = ['JANUARY', 'FEBRUARY', 'MARCH', 'APRIL', 'MAY', 'JUNE', 'JULY', 'AUGUST', 'SEPTEMBER', 'OCTOBER', 'NOVEMBER', 'DECEMBER'] as const;
export const WEEKDAY_NAMES = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'] as const;

export interface NumRange { start: number; end: number; step: number }
type Field = 'second' | 'minute' | 'hour' | 'dayOfMonth' | 'month' | 'dayOfWeek';

/** The JSON shape of a Temporal CalendarSpec (months and weekdays by name, as the TypeScript SDK takes them). */
export interface CalendarJson {
  second: NumRange[] | '*';
  minute: NumRange[] | '*';
  hour: NumRange[] | '*';
  dayOfMonth: NumRange[] | '*';
  month: Array<{ start: string; end: string; step: number }> | '*';
  dayOfWeek: Array<{ start: string; end: string; step: number }> | '*';
  comment?: string;
}

export class CronError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

const LIMITS: Record<Field, [number, number]> = {
  second: [0, 59], minute: [0, 59], hour: [0, 23], dayOfMonth: [1, 31], month: [1, 12], dayOfWeek: [0, 7],
};
const FIELD_LABEL: Record<Field, string> = {
  second: 'second', minute: 'minute', hour: 'hour', dayOfMonth: 'day_of_month', month: 'month', dayOfWeek: 'day_of_week',
};
const MONTH_ABBR = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DOW_ABBR = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function value(field: Field, token: string): number {
  const upper = token.toUpperCase();
  if (field === 'month' && MONTH_ABBR.includes(upper)) return MONTH_ABBR.indexOf(upper) + 1;
  if (field === 'dayOfWeek' && DOW_ABBR.includes(upper)) return DOW_ABBR.indexOf(upper);
  if (!/^\d+$/.test(token)) throw new CronError(FIELD_LABEL[field], `'${token}' is not a number`);
  const n = Number(token);
  const [min, max] = LIMITS[field];
  if (n < min || n > max) throw new CronError(FIELD_LABEL[field], `${n} is out of range ${min}-${max}`);
  return n;
}

/** One field → its ranges, or '*' when it matches everything. */
export function parseField(field: Field, text: string): NumRange[] | '*' {
  const [min, max] = LIMITS[field];
  if (text === '*' || (text === '?' && (field === 'dayOfMonth' || field === 'dayOfWeek'))) return '*';
  if (text === '') throw new CronError(FIELD_LABEL[field], 'is empty');
  const ranges: NumRange[] = [];
  for (const part of text.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new CronError(FIELD_LABEL[field], `'${part}' is not a valid cron expression`);
    const [, base, stepText] = m;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (stepText !== undefined && (step < 1 || step > max)) throw new CronError(FIELD_LABEL[field], `step ${stepText} is out of range 1-${max}`);
    let start: number;
    let end: number;
    if (base === '*') {
      start = min;
      end = field === 'dayOfWeek' ? 6 : max;
    } else if (base.includes('-')) {
      const [a, b, extra] = base.split('-');
      if (extra !== undefined || !a || !b) throw new CronError(FIELD_LABEL[field], `'${base}' is not a valid range`);
      start = value(field, a);
      end = value(field, b);
      if (end < start) throw new CronError(FIELD_LABEL[field], `range ${base} ends before it starts`);
    } else {
      start = value(field, base);
      end = stepText === undefined ? start : (field === 'dayOfWeek' ? 6 : max);
    }
    if (field === 'dayOfWeek') {
      // 7 is Sunday too.
      if (start === 7 && end === 7) { start = 0; end = 0; }
      else if (end === 7) { ranges.push({ start: 0, end: 0, step: 1 }); end = 6; }
    }
    ranges.push({ start, end, step });
  }
  if (ranges.length === 1 && ranges[0].start === min && ranges[0].end === (field === 'dayOfWeek' ? 6 : max) && ranges[0].step === 1) return '*';
  return ranges;
}

export interface ParsedCron {
  /** The normalized six-field, seconds-first form. */
  normalized: string;
  fields: Record<Field, NumRange[] | '*'>;
  calendars: CalendarJson[];
}

const named = (ranges: NumRange[] | '*', names: readonly string[], offset: number): CalendarJson['month'] =>
  ranges === '*' ? '*' : ranges.map((r) => ({ start: names[r.start - offset], end: names[r.end - offset], step: r.step }));

/** Parses a 5-field or 6-field (seconds-first) cron string; throws CronError naming the bad field. */
export function parseCron(expression: string): ParsedCron {
  const parts = expression.trim().split(/\s+/).filter(Boolean);
  if (parts.length !== 5 && parts.length !== 6) {
    throw new CronError('schedule', `expected 5 fields (minute hour day month weekday) or 6 fields with seconds first, got ${parts.length}`);
  }
  const six = parts.length === 6 ? parts : ['0', ...parts];
  const order: Field[] = ['second', 'minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek'];
  const fields = Object.fromEntries(order.map((f, i) => [f, parseField(f, six[i])])) as Record<Field, NumRange[] | '*'>;
  const base = {
    second: fields.second, minute: fields.minute, hour: fields.hour,
    month: named(fields.month, MONTH_NAMES, 1), comment: expression.trim(),
  };
  const domRestricted = fields.dayOfMonth !== '*';
  const dowRestricted = fields.dayOfWeek !== '*';
  const dow = named(fields.dayOfWeek, WEEKDAY_NAMES, 0);
  const calendars: CalendarJson[] = domRestricted && dowRestricted
    ? [{ ...base, dayOfMonth: fields.dayOfMonth, dayOfWeek: '*' }, { ...base, dayOfMonth: '*', dayOfWeek: dow }]
    : [{ ...base, dayOfMonth: fields.dayOfMonth, dayOfWeek: dow }];
  return { normalized: six.join(' '), fields, calendars };
}
