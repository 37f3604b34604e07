import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { useOwnDatabase } from '../userdata/own-database';
import { startTestApi, eventually, type TestApi } from '../support/api';
import { addHost, uniq } from '../support/compute';
import { spawnWorker, type Spawned } from '../support/processes';
import { insertLogLines } from '../../db/queries/logs/store';
import { describeBrowser, launchBrowser, openPage, signIn, shot, shown, unexpected as unexpectedOf } from './support';

/**
 * The console's pages with their own actions beyond instances: backups (start, restore, both followed live), system
 * settings (the API's field errors beside each field), logs (search and the live tail) and the dashboard's charts and
 * active alerts; who may see them. A database of this file's own: it changes system settings and restores a backup.
 */
describeBrowser('the web console\'s admin pages in chromium', () => {
  const queue = uniq('web-admin');
  let api: TestApi;
  let worker: Spawned | undefined;
  let browser: Browser;
  const problems: string[] = [];

  beforeAll(async () => {
    await useOwnDatabase('web_admin');
    api = await startTestApi({ IDCFLOW_TASK_QUEUE: queue });
    worker = await spawnWorker(queue);
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await api?.close();
  });

  async function open(username: string, password: string): Promise<Page> {
    const page = await openPage(browser, api.url, problems);
    await signIn(page, username, password);
    return page;
  }
  const asAdmin = () => open('admin', process.env.IDCFLOW_ADMIN_PASSWORD!);
  const unexpected = () => unexpectedOf(problems);

  it('starts a backup and follows it, downloads it, restores it only once confirmed, following the restore too', async () => {
    const page = await asAdmin();
    await page.getByRole('link', { name: 'Backups', exact: true }).click();
    await page.getByRole('heading', { name: 'Backups' }).waitFor();
    const name = uniq('web-backup');
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Backup type').selectOption('config');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('.operation[data-status="succeeded"]').filter({ hasText: 'availability.backup' }).waitFor({ timeout: 60_000 });
    const row = page.getByRole('row').filter({ hasText: name });
    await row.getByText('completed').waitFor();

    const download = page.waitForEvent('download');
    await row.getByRole('button', { name: 'Download' }).click();
    const archive = fs.readFileSync(await (await download).path());
    expect([...archive.subarray(0, 2)]).toEqual([0x1f, 0x8b]);

    const dialogs: string[] = [];
    page.once('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
    await row.getByRole('button', { name: 'Restore' }).click();
    await page.getByRole('button', { name: 'Refresh' }).click();
    expect(dialogs[0]).toContain(name);
    expect(await page.locator('.operation').filter({ hasText: 'availability.restore' }).count()).toBe(0);
    const admin = await api.admin();
    const restores = async () => (await api.call('GET', '/api/v1/operations?type=availability.restore&size=10', { token: admin })).body.data.operations.length;
    expect(await restores()).toBe(0);

    page.once('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: 'Restore' }).click();
    await page.locator('.operation[data-status="succeeded"]').filter({ hasText: 'availability.restore' }).waitFor({ timeout: 60_000 });
    expect(await restores()).toBe(1);
    await shot(page, 'backups');
    expect(unexpected()).toEqual([]);
    await page.close();
  });

  it('edits the system settings, showing the API\'s validation error beside the field it names', async () => {
    const page = await asAdmin();
    await page.getByRole('link', { name: 'Settings', exact: true }).click();
    const timeout = page.getByLabel('Session timeout (seconds)');
    await timeout.fill('5');
    await page.getByLabel('Backup retention (days)').fill('45');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('#setting-session_timeout-error').waitFor();
    expect(await timeout.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#setting-session_timeout-error').textContent()).toMatch(/60/);
    expect(await page.getByLabel('Backup retention (days)').getAttribute('aria-invalid')).toBeNull();
    expect(await page.getByLabel('Backup retention (days)').inputValue()).toBe('45'); // the refused form keeps its edits
    await shot(page, 'settings');
    const admin = await api.admin();
    const stored = async () => (await api.call('GET', '/api/v1/system/config', { token: admin })).body.data;
    expect((await stored()).backup_retention).toBe(30); // nothing was stored from the refused form

    await timeout.fill('1800');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Settings saved' }).waitFor();
    expect(await page.locator('.field-error').count()).toBe(0);
    expect(await stored()).toMatchObject({ backup_retention: 45, session_timeout: 1800, sources: { backup_retention: 'database', session_timeout: 'database', log_level: 'environment' } });
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Nothing changed.' }).waitFor();
    // Sign-up: off by default, a checkbox turns it on.
    const signup = page.getByLabel('Self-registration open');
    expect(await signup.isChecked()).toBe(false);
    await signup.check();
    await page.getByRole('button', { name: 'Save' }).click();
    await eventually(async () => (await stored()).registration_enabled === true, 10_000, 'sign-up opened from the settings page');

    await page.getByRole('button', { name: '中文' }).click();
    await page.getByRole('heading', { name: '系统设置' }).waitFor();
    await page.getByLabel('备份保留天数').waitFor();
    await page.getByRole('button', { name: 'English' }).click();
    expect(unexpected()).toEqual([]);
    await page.close();
  });

  it('searches the logs by text, level and time, and tails them live, paused and resumed without losing an entry', async () => {
    const mod = `web${crypto.randomBytes(3).toString('hex')}`;
    const marker = `m${crypto.randomBytes(4).toString('hex')}`;
    const line = (message: string, level: 'WARNING' | 'ERROR' = 'WARNING', at = new Date()) => ({ at, level, module: mod, message: `${marker} ${message}`, details: {}, stack_trace: null, request_id: null, user_id: null, username: null, process: 'test' });
    await insertLogLines(api.deps.knex, [line('old warning', 'WARNING', new Date(Date.now() - 3 * 86_400_000)), { ...line('recent error', 'ERROR'), details: { disk: 'sda' }, stack_trace: 'Error: disk full\n    at write' }]);
    const page = await asAdmin();
    await page.getByRole('link', { name: 'Logs', exact: true }).click();
    const results = page.getByRole('table', { name: 'Logs' });
    const search = async (level: string, from = '') => {
      await page.getByRole('searchbox', { name: 'Search' }).fill(marker);
      await page.getByLabel('Level').selectOption(level);
      await page.getByLabel('From').fill(from);
      await page.getByRole('button', { name: 'Search', exact: true }).click();
    };
    await search('');
    await results.getByText(`${marker} old warning`).waitFor();
    await results.getByText(`${marker} recent error`).waitFor();
    await results.getByRole('row').filter({ hasText: `${marker} recent error` }).getByRole('button', { name: 'Details' }).click();
    const detail = page.getByRole('region', { name: /^Details #\d+$/ });
    await shown(page, detail.getByText('Error: disk full'));
    expect(await detail.locator('pre').textContent()).toContain('"disk": "sda"');
    await detail.getByRole('button', { name: 'Close' }).click();
    await search('ERROR');
    await eventually(async () => (await results.getByText(`${marker} old warning`).count()) === 0, 15_000, 'the warning filtered out');
    await results.getByText(`${marker} recent error`).waitFor();
    await search('', new Date(Date.now() - 86_400_000).toISOString().slice(0, 16));
    await results.getByText(`${marker} recent error`).waitFor();
    expect(await results.getByText(`${marker} old warning`).count()).toBe(0);

    await page.getByRole('button', { name: 'Live tail' }).click();
    await page.getByRole('status').filter({ hasText: 'Following new entries' }).waitFor();
    const tail = page.getByRole('log', { name: 'Live tail' });
    await insertLogLines(api.deps.knex, [line('live one', 'ERROR')]);
    await tail.getByText(`${marker} live one`).waitFor();
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('status').filter({ hasText: 'Paused' }).waitFor();
    await insertLogLines(api.deps.knex, [line('while paused', 'ERROR')]);
    await search('ERROR'); // a round trip through the API after the entry was written, before looking at the tail
    await results.getByText(`${marker} while paused`).waitFor();
    expect(await tail.getByText(`${marker} while paused`).count()).toBe(0);
    await shot(page, 'logs');
    await page.getByRole('button', { name: 'Resume' }).click();
    await tail.getByText(`${marker} while paused`).waitFor();
    await insertLogLines(api.deps.knex, [line('after resume', 'ERROR')]);
    await tail.getByText(`${marker} after resume`).waitFor();
    expect(await tail.getByText(`${marker} live one`).count()).toBe(1);
    await page.getByRole('button', { name: 'Stop' }).click();
    await eventually(async () => (await tail.count()) === 0, 15_000, 'the tail closed');
    expect(unexpected()).toEqual([]);
    await page.close();
  });

  it('cancels a running operation from its progress (the one component every page that starts operations uses)', async () => {
    const host = await addHost(api, { options: { latency_ms: 2000 } });
    const page = await asAdmin();
    await page.getByRole('link', { name: 'Instances', exact: true }).click();
    await page.getByLabel('Name').fill(uniq('web-slow'));
    await page.getByLabel('Host').selectOption(host.name);
    await page.getByRole('button', { name: 'Create' }).click();
    const progress = page.locator('.operation').filter({ hasText: 'instance.create' });
    await progress.locator('.op-step').filter({ hasText: /create|start|wait-running/ }).waitFor();
    await progress.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('.operation[data-status="canceled"]').waitFor({ timeout: 60_000 });
    expect(await progress.getByRole('button', { name: 'Cancel' }).count()).toBe(0);
    expect(await api.deps.knex('instances').where({ host_id: host.id })).toEqual([]);
    expect(unexpected()).toEqual([]);
    await page.close();
  });

  it('charts the hosts\' metrics and lists the active alerts on the dashboard', async () => {
    const admin = await api.admin();
    const host = await addHost(api, {});
    const now = Date.now();
    for (let i = 6; i >= 0; i--) {
      const values = { 'system.cpu.usage': 20 + i * 5, 'system.memory.usage': 50 + i, 'system.load.1': 0.5 + i / 10 };
      const res = await api.call('POST', '/api/v1/monitoring/metrics', { token: admin, body: { host: host.name, timestamp: new Date(now - i * 5 * 60_000).toISOString(), values } });
      expect(res.status).toBe(201);
    }
    const ruleId = `web_cpu_${crypto.randomBytes(3).toString('hex')}`;
    const rule = await api.call('POST', '/api/v1/monitoring/alerts/rules', { token: admin, body: { id: ruleId, name: `CPU high ${ruleId}`, metric_name: 'system.cpu.usage', condition: '>', threshold: 10, level: 'warning' } });
    expect(rule.status).toBe(201);
    // The evaluation itself is tested in test/monitoring; here a firing as it stores one.
    await api.deps.knex('alerts').insert({ id: `${ruleId}:${host.name}:1`, rule_id: ruleId, source: host.name, host: host.name, status: 'active', level: 'warning', current_value: 20, threshold_value: 10, fired_at: new Date() });

    const page = await asAdmin();
    await page.getByRole('cell', { name: `CPU high ${ruleId}` }).waitFor();
    const cpu = page.getByRole('img', { name: /^CPU: 20\.0 %/ });
    await cpu.waitFor();
    expect(await cpu.getAttribute('data-points')).toBe('7');
    await cpu.locator('canvas').waitFor(); // drawn by uPlot
    await page.getByRole('img', { name: /^Memory: / }).waitFor();
    await page.getByLabel('Host').selectOption(host.name);
    await page.getByRole('img', { name: /^CPU: 20\.0 %/ }).waitFor();
    await shot(page, 'dashboard');
    await page.getByLabel('Period').selectOption('24');
    await page.getByRole('img', { name: /^Load \(1 min\): / }).waitFor();
    expect(unexpected()).toEqual([]);
    await page.close();
  });

  it('offers none of it to a customer (and the pages fall back to the dashboard); a viewer sees the charts but no admin page', async () => {
    const customer = await api.createUser('user');
    let page = await open(customer.username, customer.password);
    for (const name of ['Backups', 'Logs', 'Settings', 'Hosts']) expect(await page.getByRole('link', { name, exact: true }).count()).toBe(0);
    expect(await page.getByRole('heading', { name: 'Active alerts' }).count()).toBe(0);
    expect(await page.getByRole('heading', { name: 'Metrics' }).count()).toBe(0);
    for (const hash of ['#/backups', '#/logs', '#/settings']) {
      await page.evaluate(`location.hash = '${hash}'`);
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      expect(await page.getByRole('heading', { name: 'Settings' }).count()).toBe(0);
    }
    expect(unexpected()).toEqual([]);
    await page.close();

    const viewer = await api.createUser('viewer');
    page = await open(viewer.username, viewer.password);
    await page.getByRole('heading', { name: 'Active alerts' }).waitFor();
    await page.getByRole('heading', { name: 'Metrics' }).waitFor();
    for (const name of ['Backups', 'Logs', 'Settings']) expect(await page.getByRole('link', { name, exact: true }).count()).toBe(0);
    expect(unexpected()).toEqual([]);
    await page.close();
  });
});

