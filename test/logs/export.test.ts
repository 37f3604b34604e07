import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import readline from 'node:readline';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { startTestApi, type TestApi } from '../support/api';
import { seedLogEntries } from '../support/logs';

const COUNT = 100_000;

// A full collection on demand (as --expose-gc gives), so that samples measure the live heap, not garbage not yet collected.
v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc') as () => void;

/**
 * 100,000 entries exported in each format through HTTP, written to a file as they arrive while this process's memory is
 * sampled (the API runs in this process): the export is read through a database cursor, so the heap stays flat however
 * large the file; each file is then parsed back (CSV with csv-parse) and checked entry by entry.
 */
describe('export of 100,000 entries', () => {
  let api: TestApi;
  let admin: string;
  const mod = `exp${crypto.randomBytes(4).toString('hex')}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-logs-export-'));

  beforeAll(async () => {
    api = await startTestApi();
    admin = await api.admin();
    // Messages of about 300 bytes, with a comma, quotes and a newline in some, which CSV must quote.
    await seedLogEntries(api.deps.knex, { count: COUNT, module: mod, marker: 'a "quoted", comma\nand newline', messageBytes: 300, stepMs: 10 });
    // A first, smaller export in each format warms the process up (code, pools, heap spaces), so RSS measures the export.
    for (const format of ['csv', 'json', 'txt']) await download(format, '&level=CRITICAL');
  }, 600_000);
  afterAll(async () => {
    await api.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Downloads to a file (optionally of a subset, unmeasured: a warm-up), sampling the live heap (after a full collection) and RSS every 5 s and at the end (a full collection each second slowed the server in the same process a hundredfold on a busy machine); answers the file, its size and the peak growth. */
  async function download(format: string, extra = '') {
    const file = path.join(dir, `export.${format}`);
    const res = await api.call('GET', `/api/v1/logs/export?format=${format}&module=${mod}${extra}`, { token: admin });
    expect(res.status).toBe(200);
    collect();
    const before = process.memoryUsage();
    let peakHeap = before.heapUsed;
    let peakRss = before.rss;
    const sampler = setInterval(() => {
      collect();
      const m = process.memoryUsage();
      peakHeap = Math.max(peakHeap, m.heapUsed);
      peakRss = Math.max(peakRss, m.rss);
    }, 5000);
    const started = Date.now();
    try {
      const body = await fetch(api.url + res.body.data.download_url);
      expect(body.status).toBe(200);
      await pipeline(Readable.fromWeb(body.body as never), fs.createWriteStream(file));
    } finally {
      clearInterval(sampler);
    }
    collect();
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    const bytes = fs.statSync(file).size;
    return { file, bytes, heapGrowth: peakHeap - before.heapUsed, rssGrowth: peakRss - before.rss, ms: Date.now() - started };
  }

  const MB = 1024 * 1024;
  const report = (format: string, r: { bytes: number; heapGrowth: number; rssGrowth: number; ms: number }) =>
    process.stdout.write(`export ${format}: ${(r.bytes / MB).toFixed(1)} MB in ${r.ms} ms; peak heap growth ${(r.heapGrowth / MB).toFixed(1)} MB, RSS ${(r.rssGrowth / MB).toFixed(1)} MB\n`);
  /** Memory stays flat: the live heap grows by a few MB however large the file (built in memory, it would hold all of it, several times over as objects). */
  const expectFlat = (r: { bytes: number; heapGrowth: number; rssGrowth: number }) => {
    expect(r.bytes).toBeGreaterThan(30 * MB);
    expect(r.heapGrowth).toBeLessThan(16 * MB);
    // RSS is the allocator's high-water mark (V8 keeps heap pages it grew into between collections): a loose bound only.
    expect(r.rssGrowth).toBeLessThan(192 * MB);
  };

  it('CSV: well-formed, parsed back by csv-parse, every entry once and in time order; memory flat', async () => {
    const r = await download('csv');
    report('csv', r);
    expectFlat(r);
    const ids = new Set<number>();
    let last = '';
    let header: string[] = [];
    const parser = fs.createReadStream(r.file).pipe(parse({ columns: (h: string[]) => { header = h; return h; } }));
    for await (const row of parser) {
      ids.add(Number(row.id));
      expect(row.timestamp >= last).toBe(true);
      last = row.timestamp;
      if (ids.size % 9973 === 1) {
        expect(row.message.startsWith('a "quoted", comma\nand newline ')).toBe(true);
        expect(JSON.parse(row.details)).toMatchObject({ n: expect.any(Number) });
        expect(row.module).toBe(mod);
      }
    }
    expect(header.slice(0, 7)).toEqual(['id', 'timestamp', 'level', 'source', 'module', 'action', 'message']);
    expect(ids.size).toBe(COUNT);
  }, 600_000);

  it('JSON: one array of every entry; memory flat', async () => {
    const r = await download('json');
    report('json', r);
    expectFlat(r);
    const entries = JSON.parse(fs.readFileSync(r.file, 'utf8')) as Array<{ id: number; module: string; details: { n: number } }>;
    expect(entries).toHaveLength(COUNT);
    expect(new Set(entries.map((e) => e.id)).size).toBe(COUNT);
    expect(entries[0].details.n).toBe(COUNT - 1);
    expect(entries[COUNT - 1].details.n).toBe(0);
  }, 600_000);

  it('TXT: one line per entry, newlines in messages escaped; memory flat', async () => {
    const r = await download('txt');
    report('txt', r);
    expectFlat(r);
    let lines = 0;
    const shape = new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z (INFO|WARNING|ERROR|CRITICAL) +\\[${mod}\\] a "quoted", comma\\\\nand newline `);
    for await (const line of readline.createInterface({ input: fs.createReadStream(r.file) })) {
      lines++;
      if (!shape.test(line)) throw new Error(`line ${lines} is not an entry: ${line.slice(0, 200)}`);
    }
    expect(lines).toBe(COUNT);
  }, 600_000);
});
