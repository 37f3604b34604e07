/**
 * `npm run bench [-- name …]`: runs every benchmark under bench/ (or the ones named), one after another. Each script
 * prints its tables; they are kept in bench/<name>-results.md and replace their block of docs/performance.md between
 * `<!-- bench:<name> -->` and `<!-- /bench:<name> -->`, dated. A script that fails leaves its figures as they were.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';

const dir = __dirname;
const readme = path.join(dir, '..', 'docs', 'performance.md');
const NOT_BENCHMARKS = new Set(['support', 'run-all']);

function run(name: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [require.resolve('tsx/cli'), path.join(dir, `${name}.ts`)], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d; process.stdout.write(d); });
    child.on('close', (code) => resolve({ code, out }));
  });
}

// Log lines of the libraries (Temporal's core logs to stdout, coloured, timestamped) are not figures.
const figures = (out: string) => out.split('\n').filter((l) => !l.includes('\x1b[') && !/^\s*\[?\d{4}-\d\d-\d\dT\S+\s+(TRACE|DEBUG|INFO|WARN|ERROR)/.test(l)).join('\n').trim();

/** The script's tables as a block of docs/performance.md: headings demoted under its "## <bench>" heading. */
const block = (name: string, out: string, date: string) =>
  `<!-- bench:${name} -->\n_\`npm run bench -- ${name}\`, ${date}:_\n\n${out.replace(/^#/gm, '###')}\n<!-- /bench:${name} -->`;

async function main() {
  const all = fs.readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).filter((n) => !NOT_BENCHMARKS.has(n)).sort();
  const asked = process.argv.slice(2);
  const unknown = asked.filter((n) => !all.includes(n));
  if (unknown.length) throw new Error(`no benchmark ${unknown.join(', ')} (there are: ${all.join(', ')})`);
  const failed: string[] = [];
  for (const name of asked.length ? asked : all) {
    console.log(`\n=== bench/${name}.ts`);
    const { code, out: printed } = await run(name);
    const out = figures(printed);
    if (code !== 0) {
      failed.push(name);
      continue;
    }
    const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    fs.writeFileSync(path.join(dir, `${name}-results.md`), `<!-- npm run bench -- ${name}, ${date} -->\n${out}\n`);
    const text = fs.readFileSync(readme, 'utf8');
    const marked = new RegExp(`<!-- bench:${name} -->[\\s\\S]*?<!-- /bench:${name} -->`);
    if (marked.test(text)) fs.writeFileSync(readme, text.replace(marked, () => block(name, out, date)));
    else console.warn(`docs/performance.md has no <!-- bench:${name} --> block: figures kept in bench/${name}-results.md only`);
  }
  if (failed.length) {
    console.error(`failed: ${failed.join(', ')} (their figures were left as they were)`);
    process.exit(1);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
