import { chromium } from 'playwright-core';
import { startStack } from './support';
import { webAssets } from '../api/platform/http/web-console';

/**
 * The web console's first load (bytes over the wire, time until the sign-in form is usable) and an instance list of
 * 10,000 instances (time to the first page of 100 rows, time to the next page, the longest main-thread task).
 * Needs Debian's chromium. `npm run bench:web`.
 */
async function main() {
  const stack = await startStack();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    const [host] = await stack.knex('hosts').insert({ name: 'bench-sim', address: 'local', engine_type: 'simulator' }).returning('id');
    const admin = await stack.knex('users').where({ username: stack.config.admin.username }).first('id');
    const rows = Array.from({ length: 10_000 }, (_, i) => ({ uuid: `bench-${i}`, name: `vm-${String(i).padStart(5, '0')}`, host_id: host.id, owner_id: admin.id, state: i % 7 ? 'running' : 'stopped' }));
    for (let i = 0; i < rows.length; i += 1000) await stack.knex('instances').insert(rows.slice(i, i + 1000));

    const runs: Array<{ bytes: number; tti: number; firstPage: number; nextPage: number; longestTask: number }> = [];
    for (let run = 0; run < 5; run++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      let bytes = 0;
      page.on('response', (r) => { void r.headerValue('content-length').then((v) => { if (v && !r.url().includes('/api/')) bytes += Number(v); }); });
      await page.addInitScript("window.longest = 0; new PerformanceObserver((l) => { for (const e of l.getEntries()) window.longest = Math.max(window.longest, e.duration); }).observe({ type: 'longtask', buffered: true });");
      const start = Date.now();
      await page.goto(stack.url, { waitUntil: 'commit' });
      await page.getByLabel('Username').waitFor();
      const tti = Date.now() - start;
      await page.getByLabel('Username').fill('admin');
      await page.getByLabel('Password').fill('bench-admin-password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      let t = Date.now();
      await page.getByRole('link', { name: 'Instances', exact: true }).click();
      await page.getByText('1 / 100 (10000)').waitFor();
      const firstPage = Date.now() - t;
      t = Date.now();
      await page.getByRole('button', { name: '›' }).click();
      await page.getByText('2 / 100 (10000)').waitFor();
      if (await page.locator('tbody tr').count() !== 100) throw new Error('the second page does not show 100 rows');
      const nextPage = Date.now() - t;
      const longestTask = await page.evaluate('window.longest') as number;
      runs.push({ bytes, tti, firstPage, nextPage, longestTask });
      await context.close();
    }
    const assets = await webAssets();
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
    const sizes = (a: { raw: Buffer; gzip: Buffer; brotli: Buffer }) => `${kb(a.raw.length)} (gzip ${kb(a.gzip.length)}, brotli ${kb(a.brotli.length)})`;
    const median = (k: keyof (typeof runs)[number]) => runs.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
    console.log('| web console in chromium (median of 5 fresh browser contexts) | |\n|---|---|');
    console.log(`| bundle: JavaScript, minified | ${sizes(assets['app.js'])} |`);
    console.log(`| bundle: CSS | ${sizes(assets['app.css'])} |`);
    console.log(`| first load, bytes over the wire (brotli) | ${median('bytes')} B |`);
    console.log(`| first load until the sign-in form is usable | ${median('tti')} ms |`);
    console.log(`| instances page with 10,000 instances: first page of 100 rows | ${median('firstPage')} ms |`);
    console.log(`| next page | ${median('nextPage')} ms |`);
    console.log(`| longest main-thread task over 50 ms (0: none) | ${median('longestTask')} ms |`);
  } finally {
    await browser.close();
    await stack.stop();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
