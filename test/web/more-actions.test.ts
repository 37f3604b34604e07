import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { startTestApi, eventually, type TestApi } from '../support/api';
import { addHost, uniq } from '../support/compute';
import { spawnWorker, type Spawned } from '../support/processes';
import { startReceiver } from '../webhooks/support';
import { startSmtp } from '../support/rentals';
import { describeBrowser, launchBrowser, openPage, signIn, shot, unexpected } from './support';

/**
 * The console's actions on webhooks (create with the secret once, enable/disable, rotate, test, the delivery log,
 * replay, delete; an alert rule's endpoint), serial-code batches and WireGuard servers; customers offered none of the
 * operator pages. Deliveries go to a receiver on loopback, allowed by an admin, through a worker of this file's own.
 */
describeBrowser('the web console\'s webhooks, serial codes and WireGuard servers in chromium', () => {
  const queue = uniq('web-more');
  let api: TestApi;
  let worker: Spawned;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let browser: Browser;
  const problems: string[] = [];

  beforeAll(async () => {
    [receiver, smtp] = await Promise.all([startReceiver(), startSmtp()]);
    const webhooks = { IDCFLOW_WEBHOOK_RETRY_SECONDS: '0.2,0.2', IDCFLOW_WEBHOOK_DISABLE_AFTER: '1' }; // a failing delivery: 3 attempts, then its endpoint disabled
    worker = await spawnWorker(queue, { ...webhooks, IDCFLOW_SMTP_URL: smtp.url });
    api = await startTestApi({ ...webhooks, IDCFLOW_TASK_QUEUE: queue });
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await worker?.stop();
    await Promise.all([receiver?.close(), smtp?.close()]);
  });

  async function as(username: string, password: string): Promise<Page> {
    const page = await openPage(browser, api.url, problems);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: api.url });
    await signIn(page, username, password);
    return page;
  }
  /** Answers the next confirmation; returns what it asked. */
  const answer = (page: Page, accept: boolean) => new Promise<string>((resolve) => page.once('dialog', (d) => { resolve(d.message()); void (accept ? d.accept() : d.dismiss()); }));
  const endpointsOf = async (token: string) => (await api.call('GET', '/api/v1/webhooks', { token })).body.data.endpoints as Array<{ id: number; url: string; enabled: boolean }>;

  it('lets a customer subscribe a URL (secret once, refused fields beside them, no private targets) and delete it once confirmed', async () => {
    const user = await api.createUser('user');
    const page = await as(user.username, user.password);
    await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
    const form = page.getByRole('form', { name: 'New webhook endpoint' });
    expect(await form.getByLabel('Allow private addresses (admins)').count()).toBe(0);
    await form.getByLabel('URL').fill('ftp://hooks.example.test/x');
    await form.getByRole('button', { name: 'Create' }).click();
    await page.locator('#webhook-url-error').filter({ hasText: 'http or https' }).waitFor();
    expect(await form.getByLabel('URL').getAttribute('aria-invalid')).toBe('true');
    await form.getByLabel('URL').fill(`${receiver.url}/mine`);
    await form.getByRole('button', { name: 'Create' }).click();
    await page.locator('#webhook-url-error').filter({ hasText: 'not a public address' }).waitFor();

    const url = `https://hooks.example.test/${uniq('hook')}`;
    await form.getByLabel('URL').fill(url);
    await form.getByLabel('operation.failed').check();
    await form.getByLabel('Only operation type').fill('instance.create');
    await form.getByLabel('URL').press('Enter');
    const secretBox = page.getByRole('region', { name: `Signing secret of ${url}` });
    expect(await secretBox.getByRole('textbox').inputValue()).toMatch(/^whsec_/);
    expect(await page.locator('.field-error').count()).toBe(0);
    await secretBox.getByRole('button', { name: 'Close' }).click();
    const row = page.getByRole('row').filter({ hasText: url });
    await row.getByText('operation.failed; operation_type=instance.create').waitFor();
    await row.getByText('You', { exact: true }).waitFor();

    let asked = answer(page, false);
    await row.getByRole('button', { name: `Delete ${url}` }).click();
    expect(await asked).toContain(url);
    expect((await endpointsOf(user.token)).map((e) => e.url)).toEqual([url]);
    asked = answer(page, true);
    await row.getByRole('button', { name: `Delete ${url}` }).click();
    await asked;
    await eventually(async () => (await page.getByRole('row').filter({ hasText: url }).count()) === 0, 15_000, 'the endpoint gone from the list');
    expect(await endpointsOf(user.token)).toEqual([]);
    expect(unexpected(problems)).toEqual([]);
    await page.close();
  });

  it('sends an admin\'s test delivery to a loopback receiver, shows each attempt\'s answer, replays it, rotates the secret, disables and enables', async () => {
    const admin = await api.createUser('admin');
    const page = await as(admin.username, admin.password);
    await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
    const form = page.getByRole('form', { name: 'New webhook endpoint' });
    const path = `/${uniq('console')}`;
    const url = `${receiver.url}${path}`;
    await form.getByLabel('URL').fill(url);
    await form.getByLabel('Description').fill('the console test');
    await form.getByLabel('webhook.test', { exact: true }).check(); // not the operations of the other files running meanwhile
    await form.getByLabel('Allow private addresses (admins)').check();
    await form.getByRole('button', { name: 'Create' }).click();
    const secretBox = page.getByRole('region', { name: `Signing secret of ${url}` });
    const secret = await secretBox.getByRole('textbox').inputValue();
    await secretBox.getByRole('button', { name: 'Close' }).click();
    const row = page.getByRole('row').filter({ hasText: url });
    await row.getByText('webhook.test', { exact: true }).waitFor();

    await row.getByRole('button', { name: `Send test ${url}` }).click();
    const log = page.getByRole('region', { name: `Deliveries: ${url}` });
    await log.getByText('succeeded', { exact: true }).waitFor();
    await log.getByText(/HTTP 204/).waitFor();
    const first = receiver.received.filter((r) => r.path === path);
    expect(first).toHaveLength(1);
    expect(new Webhook(secret).verify(first[0].body, first[0].headers as Record<string, string>)).toMatchObject({ type: 'webhook.test' });
    await shot(page, 'webhooks');

    const delivery = (await log.getByRole('row').nth(1).locator('code').textContent())!;
    await log.getByRole('button', { name: `Replay ${delivery}` }).click();
    await eventually(async () => receiver.received.filter((r) => r.path === path).length === 2, 30_000, 'the replayed delivery');
    expect(receiver.received.filter((r) => r.path === path)[1].headers['webhook-id']).toBe(delivery);
    await eventually(async () => { // the replay's attempt takes the place of the first one in the log
      await log.getByRole('button', { name: 'Refresh' }).click();
      return (await log.getByText('succeeded', { exact: true }).count()) === 1;
    }, 15_000, 'the replay succeeded in the log');
    await log.getByText(/HTTP 204/).waitFor();

    await row.getByRole('button', { name: `Rotate secret ${url}` }).click();
    const rotated = await page.getByRole('region', { name: `Signing secret of ${url}` }).getByRole('textbox').inputValue();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);
    await page.getByRole('note').filter({ hasText: 'The previous secret stays valid until' }).waitFor();
    await page.getByRole('region', { name: `Signing secret of ${url}` }).getByRole('button', { name: 'Close' }).click();

    await row.getByRole('button', { name: `Disable ${url}` }).click();
    await row.getByText('Disabled', { exact: true }).waitFor();
    expect(await row.getByRole('button', { name: `Send test ${url}` }).isDisabled()).toBe(true);
    expect((await endpointsOf(admin.token)).find((e) => e.url === url)?.enabled).toBe(false);
    await row.getByRole('button', { name: `Enable ${url}` }).click();
    await row.getByText('Active', { exact: true }).waitFor();

    // An alert rule's own endpoint: shown as the rule's, everything offered but deletion (the API refuses it).
    const ruleId = `web_hook_${crypto.randomBytes(3).toString('hex')}`;
    const ruleUrl = `${receiver.url}/rule-${ruleId}`;
    const rule = await api.call('POST', '/api/v1/monitoring/alerts/rules', { token: admin.token, body: {
      id: ruleId, name: ruleId, metric_name: 'system.cpu.usage', condition: '>', threshold: 99, level: 'warning', enabled: true, cooldown_minutes: 5, webhook_url: ruleUrl, webhook_allow_private: true,
    } });
    expect(rule.status).toBe(201);
    await page.getByRole('link', { name: 'Dashboard', exact: true }).click();
    await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
    const ruleRow = page.getByRole('row').filter({ hasText: ruleUrl });
    await ruleRow.getByRole('cell', { name: `Alert rule ${ruleId}`, exact: true }).waitFor(); // the owner column
    expect(await ruleRow.getByRole('button', { name: `Delete ${ruleUrl}` }).count()).toBe(0);
    await ruleRow.getByRole('button', { name: `Send test ${ruleUrl}` }).click();
    await page.getByRole('region', { name: `Deliveries: ${ruleUrl}` }).getByText(/HTTP 204/).waitFor();
    expect(unexpected(problems)).toEqual([]);
    await page.close();
  });

  it('logs each failed attempt\'s answer, shows the endpoint disabled by its failures with the reason, and replays once it is enabled', async () => {
    const admin = await api.createUser('admin');
    const page = await as(admin.username, admin.password);
    await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
    const form = page.getByRole('form', { name: 'New webhook endpoint' });
    const path = `/fail/${uniq('console')}`;
    const url = `${receiver.url}${path}`;
    await form.getByLabel('URL').fill(url);
    await form.getByLabel('webhook.test', { exact: true }).check();
    await form.getByLabel('Allow private addresses (admins)').check();
    await form.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('region', { name: `Signing secret of ${url}` }).getByRole('button', { name: 'Close' }).click();
    const row = page.getByRole('row').filter({ hasText: url });
    await row.getByRole('button', { name: `Send test ${url}` }).click();
    const log = page.getByRole('region', { name: `Deliveries: ${url}` });
    await log.getByText('failed', { exact: true }).waitFor();
    const attempts = log.locator('.attempts li');
    expect(await attempts.count()).toBe(3);
    for (const text of await attempts.allTextContents()) expect(text).toMatch(/HTTP 500 — “receiver is down”/);
    await row.getByText(/1 deliveries in a row failed \(the last: HTTP 500\)/).waitFor(); // the list follows the delivery's end
    expect(await row.getByRole('button', { name: `Send test ${url}` }).isDisabled()).toBe(true);
    const delivery = (await log.getByRole('row').nth(1).locator('code').textContent())!;
    expect(await log.getByRole('button', { name: `Replay ${delivery}` }).isDisabled()).toBe(true);
    await eventually(async () => smtp.received.some((m) => m.to.includes(`${admin.username}@example.test`) && m.subject.includes('was disabled')), 15_000, 'the owner told by mail');

    await row.getByRole('button', { name: `Enable ${url}` }).click();
    await row.getByText('Active', { exact: true }).waitFor();
    // Delivery is at least once (an attempt whose activity is retried posts again), and an admin's endpoint may also
    // hear another file's webhook.test events on the shared database: count this delivery's requests only.
    const ofDelivery = () => receiver.received.filter((r) => r.path === path && r.headers['webhook-id'] === delivery).length;
    const before = ofDelivery();
    expect(before).toBeGreaterThanOrEqual(3);
    await log.getByRole('button', { name: `Replay ${delivery}` }).click();
    await eventually(async () => ofDelivery() >= before + 3, 30_000, 'the replay\'s three attempts').catch(async (err) => {
      const row = await api.deps.knex('webhook_deliveries').where({ id: delivery }).first('status', 'attempts', 'last_error');
      const endpoint = await api.deps.knex('webhook_endpoints').where({ url }).first('enabled', 'disabled_reason', 'consecutive_failures');
      throw new Error(`${(err as Error).message}: ${ofDelivery() - before} received since the replay; delivery ${JSON.stringify(row)}; endpoint ${JSON.stringify(endpoint)}`);
    });
    expect(unexpected(problems)).toEqual([]);
    await page.close();
  });

  it('generates a serial-code batch for an operator: refused fields beside them, the codes shown once, copied and downloaded as text', async () => {
    const admin = await api.createUser('admin');
    const page = await as(admin.username, admin.password);
    await page.getByRole('link', { name: 'Serial codes', exact: true }).click();
    const form = page.getByRole('form', { name: 'New serial-code batch' });
    await form.getByLabel('Days').fill('0');
    await form.getByLabel('Count').fill('3');
    await form.getByRole('button', { name: 'Create' }).click();
    await page.locator('#batch-days-error').waitFor();
    expect(await form.getByLabel('Days').getAttribute('aria-invalid')).toBe('true');
    const note = uniq('web-batch');
    await form.getByLabel('Days').fill('30');
    await form.getByLabel('Note').fill(note);
    await form.getByLabel('Note').press('Enter');
    const codesBox = page.getByRole('region', { name: /^Serial codes of batch \d+$/ });
    const codes = (await codesBox.getByRole('textbox').inputValue()).split('\n');
    expect(codes).toHaveLength(3);
    expect(new Set(codes).size).toBe(3);
    await codesBox.getByRole('button', { name: 'Copy' }).click();
    await codesBox.getByRole('status').filter({ hasText: 'Copied' }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(codes.join('\n'));
    const [download] = await Promise.all([page.waitForEvent('download'), codesBox.getByRole('button', { name: 'Download as text' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^serial-codes-\d+\.txt$/);
    expect(fs.readFileSync((await download.path())!, 'utf8')).toBe(`${codes.join('\n')}\n`);
    const row = page.getByRole('row').filter({ hasText: note });
    expect(await row.getByRole('cell').allTextContents()).toEqual([expect.stringMatching(/^\d+$/), '30', '3', '0', '0', note, expect.any(String)]);
    await shot(page, 'serial-codes');
    await codesBox.getByRole('button', { name: 'Close' }).click();
    expect(await page.locator('textarea').count()).toBe(0); // shown once: gone when closed
    const batches = (await api.call('GET', '/api/v1/rentals/serial-batches', { token: admin.token })).body.data.batches as Array<{ note: string; count: number; days: number }>;
    expect(batches.find((b) => b.note === note)).toMatchObject({ count: 3, days: 30 });
    expect(unexpected(problems)).toEqual([]);
    await page.close();
  });

  it('creates a WireGuard server for an admin (errors beside fields, the private key once), shows a refused start, deletes it once confirmed', async () => {
    const admin = await api.createUser('admin');
    const host = await addHost(api, {});
    const page = await as(admin.username, admin.password);
    await page.getByRole('link', { name: 'WireGuard servers', exact: true }).click();
    const form = page.getByRole('form', { name: 'New WireGuard server' });
    const name = `wg${crypto.randomBytes(4).toString('hex')}`;
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Host', { exact: true }).selectOption(String(host.id));
    await form.getByLabel('Listen port').fill('70000');
    await form.getByRole('button', { name: 'Create' }).click();
    await page.locator('#wg-listen_port-error').waitFor();
    expect(await form.getByLabel('Listen port').getAttribute('aria-invalid')).toBe('true');
    await form.getByLabel('Listen port').fill('51820');
    await form.getByLabel('IPv4 address/subnet').fill('10.8.0.0/24');
    await form.getByRole('button', { name: 'Create' }).click();
    await page.locator('#wg-ipv4_address-error').filter({ hasText: 'not the network address' }).waitFor();
    await form.getByLabel('IPv4 address/subnet').fill('10.8.0.1/24');
    await form.getByLabel('DNS servers (comma separated)').fill('1.1.1.1, 8.8.8.8');
    await form.getByLabel('IPv4 address/subnet').press('Enter');
    const keyBox = page.getByRole('region', { name: `Private key of server ${name}` });
    expect(await keyBox.getByRole('textbox').inputValue()).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    await keyBox.getByRole('button', { name: 'Close' }).click();
    const row = page.getByRole('row').filter({ hasText: name });
    await row.getByText('stopped', { exact: true }).waitFor();
    const stored = (await api.call('GET', '/api/v1/wireguard/servers?size=100', { token: admin.token })).body.data.servers.find((x: { name: string }) => x.name === name);
    expect(stored).toMatchObject({ host_id: host.id, listen_port: 51820, ipv4_address: '10.8.0.1/24', dns_servers: ['1.1.1.1', '8.8.8.8'] });
    await row.getByText(stored.public_key).waitFor();
    await shot(page, 'wireguard-servers');

    await row.getByRole('button', { name: `Start ${name}` }).click(); // the simulator host runs no agent: refused at once, and said so
    await page.getByRole('alert').filter({ hasText: /SERVICE_UNAVAILABLE.*agent of host .* is offline/ }).waitFor();

    let asked = answer(page, false);
    await row.getByRole('button', { name: `Delete ${name}` }).click();
    expect(await asked).toContain(name);
    expect((await api.call('GET', `/api/v1/wireguard/servers/${stored.id}`, { token: admin.token })).status).toBe(200);
    asked = answer(page, true);
    await row.getByRole('button', { name: `Delete ${name}` }).click();
    await asked;
    await eventually(async () => (await page.getByRole('row').filter({ hasText: name }).count()) === 0, 15_000, 'the server gone from the list');
    expect((await api.call('GET', `/api/v1/wireguard/servers/${stored.id}`, { token: admin.token })).status).toBe(404);
    expect(unexpected(problems)).toEqual([]);
    await page.close();
  });

  it('offers a manager the WireGuard servers page (no host choice: the local host) but not the serial codes', async () => {
    const manager = await api.createUser('manager');
    const page = await as(manager.username, manager.password);
    expect(await page.getByRole('link', { name: 'Serial codes', exact: true }).count()).toBe(0);
    await page.getByRole('link', { name: 'WireGuard servers', exact: true }).click();
    const form = page.getByRole('form', { name: 'New WireGuard server' });
    await form.getByLabel('Name').waitFor();
    expect(await form.getByLabel('Host', { exact: true }).count()).toBe(0);
    expect(unexpected(problems)).toEqual([]);
    await page.close();
  });

  it('offers a customer none of the operator pages, in English or Chinese', async () => {
    const user = await api.createUser('user');
    const page = await as(user.username, user.password);
    for (const name of ['Serial codes', 'WireGuard servers', 'Users', 'Hosts']) expect(await page.getByRole('link', { name, exact: true }).count()).toBe(0);
    for (const hash of ['#/serial-batches', '#/wireguard-servers']) {
      await page.goto(`${api.url}/${hash}`);
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor(); // an operator page asked by its address: the dashboard instead
      expect(await page.getByRole('form').count()).toBe(0);
    }
    await page.getByRole('button', { name: '中文' }).click();
    await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
    await page.getByRole('form', { name: '新建 Webhook 端点' }).getByLabel('事件类型（不选：全部）').waitFor();
    expect(await page.getByRole('link', { name: '兑换码批次', exact: true }).count()).toBe(0);
    await page.getByRole('button', { name: 'English' }).click();
    expect(unexpected(problems)).toEqual([]);
    await page.close();
  });
});
