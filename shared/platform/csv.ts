import { stringify, type Options } from 'csv-stringify';

/** What a spreadsheet reads as the start of a formula (OWASP, CSV injection): =, +, -, @, tab and carriage return. */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * A text cell a spreadsheet shows as text: one that would start a formula is prefixed with a single quote (OWASP's
 * advice), so `=HYPERLINK(…)` in a log message is shown, never evaluated, when the export is opened.
 */
export const formulaSafe = (text: string): string => (FORMULA_START.test(text) ? `'${text}` : text);

/** csv-stringify with every text cell made formula-safe: the one way the platform writes CSV. */
export function safeCsvStringify(options: Options = {}) {
  return stringify({ ...options, cast: { ...options.cast, string: (value, context) => formulaSafe(options.cast?.string ? String(options.cast.string(value, context)) : value) } });
}
