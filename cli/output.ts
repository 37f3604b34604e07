import Table from 'cli-table3';

/** Rows as a table for people, or the answer as JSON for scripts (`--json`). */
export function print(json: boolean, data: unknown, columns?: string[], rows?: Array<Record<string, unknown>>): void {
  if (json || !columns || !rows) {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return;
  }
  if (!rows.length) {
    process.stdout.write('(none)\n');
    return;
  }
  const table = new Table({ head: columns, style: { head: [], border: [] } });
  for (const row of rows) table.push(columns.map((c) => cell(row[c])));
  process.stdout.write(`${table.toString()}\n`);
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
