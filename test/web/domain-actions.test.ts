import type { Browser, Page } from 'playwright-core';
import { startTestApi, eventually, type TestApi } from '../support/api';
import { addHost, createInstance, uniq } from '../support/compute';
import type { Spawned } from '../support/processes';
import { addNetworkHost, curlFrom, networkFabric, networkingUnavailable, spawnNetworkAgent, type NetworkFabric } from '../support/networking';
import { describeIfRunnable } from '../support/environment';
import { pgServer } from '../support/dbsync';
import { describeBrowser, launchBrowser, openPage, signIn, shot, unexpected } from './support';

/**
 * The actions of the domains' own pages: a customer's API tokens (secret shown once, copied, revoked), data records
 * (created, edited with the version shown, a stale edit refused, deleted) and OAuth clients (secret once, redirect URIs
 * edited, deleted), each refused field's reason beside it and a confirmation before each deletion; and that a customer
 * is offered no operator action.
 */
describeBrowser('the web console\'s domain actions in chromium', () => {
  let api: TestApi;
  let browser: Browser;
  const problems: string[] = [];

  beforeAll(async () => {
    api = await startTestApi();
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await api?.close();
  });

  async function as(username: string, password: string): Promise<Page> {
    const page = await openPage(browser, api.url, problems);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: api.url });
    await signIn(page, username, password);
    return page;
  }
  /** Answers the next confirmation; returns what it asked. */
  const answer = (page: Page, accept: boolean) => new Promise<string>((resolve) => page.once('dialog', (d) => { resolve(d.message()); void (accept ? d.accept() : d.dismiss()); }));

  it('creates an API token whose secret is shown once and copied, and revokes it only once confirmed', async () => {
    const user = await api.createUser('user');
    const page = await as(user.username, user.password);
    await page.getByRole('link', { name: 'API tokens', exact: true }).click();
    const form = page.getByRole('form', { name: 'New API token' });
    await form.getByLabel('Expires in (days, empty: never)').fill('0');
    await form.getByRole('button', { name: 'Create' }).click();
    await page.locator('#token-name-error').waitFor();
    expect(await form.getByLabel('Name').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#token-expires_in_days-error').count()).toBe(1);

    const name = uniq('web-token');
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Expires in (days, empty: never)').fill('30');
    await page.keyboard.press('Enter'); // by keyboard: Enter submits, the secret takes the focus, Tab reaches Copy
    const secretBox = page.getByRole('region', { name: `Your new API token: ${name}` });
    const secret = await secretBox.getByRole('textbox').inputValue();
    expect(secret.length).toBeGreaterThan(20);
    const focused = () => page.evaluate("[document.activeElement?.tagName, document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent]");
    expect(await focused()).toEqual(['INPUT', `Your new API token: ${name}`]);
    expect(await page.locator('.field-error').count()).toBe(0);
    await page.keyboard.press('Tab');
    expect(await focused()).toEqual(['BUTTON', 'Copy']);
    await page.keyboard.press('Enter');
    await secretBox.getByRole('status').filter({ hasText: 'Copied' }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(secret);
    expect((await api.call('GET', '/api/v1/tokens', { token: secret })).status).toBe(200);
    await shot(page, 'api-tokens');
    await secretBox.getByRole('button', { name: 'Close' }).click();
    expect(await page.getByText(secret).count()).toBe(0);
    expect(await page.locator(`input[value="${secret}"]`).count()).toBe(0); // shown once: gone when closed

    const row = page.getByRole('row').filter({ hasText: name });
    let asked = answer(page, false);
    await row.getByRole('button', { name: `Revoke ${name}` }).click();
    expect(await asked).toContain(name);
    expect((await api.call('GET', '/api/v1/tokens', { token: secret })).status).toBe(200);
    asked = answer(page, true);
    await row.getByRole('button', { name: `Revoke ${name}` }).click();
    await asked;
    await row.getByText('Revoked').waitFor();
    expect((await api.call('GET', '/api/v1/tokens', { token: secret })).status).toBe(401);
    expect(unexpected(problems)).toEqual([]);
    await page.close();
  });

  it('creates, edits and deletes the user\'s data records; bad JSON and a stale edit are refused', async () => {
    const user = await api.createUser('user');
    const page = await as(user.username, user.password);
    await page.getByRole('link', { name: 'My data', exact: true }).click();
    const form = page.getByRole('form', { name: 'New record' });
    const key = uniq('prefs').replace(/[^A-Za-z0-9_.:-]/g, '_');
    await form.getByLabel('Key').fill(key);
    await form.getByLabel('Value (JSON)').fill('{theme: dark}');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.locator('#record-value-error').filter({ hasText: 'is not valid JSON' }).waitFor();
    await form.getByLabel('Value (JSON)').fill('{"theme":"dark"}');
    await form.getByRole('button', { name: 'Save' }).click();
    const row = page.getByRole('row').filter({ hasText: key });
    await row.getByText('{"theme":"dark"}').waitFor();
    const stored = async () => api.call('GET', `/api/v1/user-data/${key}`, { token: user.token });
    expect((await stored()).body.data).toMatchObject({ value: { theme: 'dark' }, version: 1 });

    await form.getByLabel('Key').fill(key); // the same key again: refused, never overwritten
    await form.getByLabel('Value (JSON)').fill('1');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').filter({ hasText: /PRECONDITION|CONFLICT|exists/i }).waitFor();
    expect((await stored()).body.data.value).toEqual({ theme: 'dark' });

    await row.getByRole('button', { name: `Edit ${key}` }).click();
    const editForm = page.getByRole('form', { name: `Edit record ${key}` });
    expect(await editForm.getByLabel('Key').getAttribute('readonly')).not.toBeNull();
    await editForm.getByLabel('Value (JSON)').fill('{"theme": "light", "size": 2}');
    await editForm.getByRole('button', { name: 'Save' }).click();
    await row.getByText('"theme":"light"').waitFor(); // jsonb orders the keys its own way
    expect((await stored()).body.data).toMatchObject({ value: { theme: 'light', size: 2 }, version: 2 });
    await shot(page, 'user-data');

    await row.getByRole('button', { name: `Edit ${key}` }).click();
    expect((await api.call('PUT', `/api/v1/user-data/${key}`, { token: user.token, body: { value: 'elsewhere' } })).status).toBe(200);
    await page.getByRole('form', { name: `Edit record ${key}` }).getByLabel('Value (JSON)').fill('"mine"');
    await page.getByRole('form', { name: `Edit record ${key}` }).getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').filter({ hasText: /PRECONDITION/i }).waitFor();
    expect((await stored()).body.data.value).toBe('elsewhere'); // the change made meanwhile is not lost
    await page.getByRole('button', { name: 'Cancel' }).click();

    await row.getByText('"elsewhere"').waitFor(); // a refused save shows the record as it now is
    const asked = answer(page, true);
    await row.getByRole('button', { name: `Delete ${key}` }).click();
    expect(await asked).toContain(key);
    await eventually(async () => (await page.getByRole('row').filter({ hasText: key }).count()) === 0, 15_000, 'the record gone from the list');
    expect((await stored()).status).toBe(404);
    expect(unexpected(problems)).toEqual([]);
    await page.close();
  });

  it('registers an OAuth client (secret once), edits its redirect URIs with the refused one named, and deletes it', async () => {
    const user = await api.createUser('user');
    const page = await as(user.username, user.password);
    await page.getByRole('link', { name: 'OAuth clients', exact: true }).click();
    const form = page.getByRole('form', { name: 'New OAuth client' });
    const name = uniq('web-app');
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Redirect URIs (one a line)').fill('https://app.example.com/cb\nnot a url');
    await form.getByRole('button', { name: 'Create' }).click();
    await page.locator('#oauth-redirect_uris-error').waitFor();
    expect(await form.getByLabel('Redirect URIs (one a line)').getAttribute('aria-invalid')).toBe('true');
    await form.getByLabel('Redirect URIs (one a line)').fill('https://app.example.com/cb');
    await form.getByRole('button', { name: 'Create' }).click();
    const secretBox = page.getByRole('region', { name: `Client secret of ${name}` });
    expect((await secretBox.getByRole('textbox').inputValue()).length).toBeGreaterThan(20);
    const row = page.getByRole('row').filter({ hasText: name });
    await row.getByText('https://app.example.com/cb').waitFor();
    await shot(page, 'oauth-clients');
    await secretBox.getByRole('button', { name: 'Close' }).click();

    await row.getByRole('button', { name: `Edit ${name}` }).click();
    const edit = page.getByRole('form', { name: `Redirect URIs (one a line): ${name}` });
    await edit.getByLabel('Redirect URIs (one a line)').fill('https://app.example.com/cb\nftp://nope');
    await edit.getByRole('button', { name: 'Save redirect URIs' }).click();
    await page.locator('#oauth-uris-redirect_uris-error').waitFor();
    expect(await edit.getByLabel('Redirect URIs (one a line)').inputValue()).toContain('ftp://nope'); // the refused edit is kept
    await edit.getByLabel('Redirect URIs (one a line)').fill('https://app.example.com/cb\nhttps://app.example.com/cb2');
    await edit.getByRole('button', { name: 'Save redirect URIs' }).click();
    await row.getByText('https://app.example.com/cb https://app.example.com/cb2').waitFor();
    const clients = async () => (await api.call('GET', '/api/v1/oauth/clients', { token: user.token })).body.data.clients as Array<{ name: string; redirect_uris: string[] }>;
    expect((await clients()).find((c) => c.name === name)?.redirect_uris).toEqual(['https://app.example.com/cb', 'https://app.example.com/cb2']);

    let asked = answer(page, false);
    await row.getByRole('button', { name: `Delete ${name}` }).click();
    await asked;
    expect((await clients()).some((c) => c.name === name)).toBe(true);
    asked = answer(page, true);
    await row.getByRole('button', { name: `Delete ${name}` }).click();
    await asked;
    await eventually(async () => (await page.getByRole('row').filter({ hasText: name }).count()) === 0, 15_000, 'the client gone from the list');
    expect((await clients()).some((c) => c.name === name)).toBe(false);

    await page.getByRole('button', { name: '中文' }).click();
    await page.getByRole('heading', { name: 'OAuth 客户端' }).waitFor();
    await page.getByRole('form', { name: '新建 OAuth 客户端' }).getByLabel('回调地址（每行一个）').waitFor();
    await page.getByRole('button', { name: 'English' }).click();
    expect(unexpected(problems)).toEqual([]);
    await page.close();
  });
  it('lets an admin create users, change a role, disable and enable one', async () => {
    const page = await as('admin', process.env.IDCFLOW_ADMIN_PASSWORD!);
    await page.getByRole('link', { name: 'Users', exact: true }).click();
    const form = page.getByRole('form', { name: 'New user' });
    const username = uniq('webuser').replace(/-/g, '_');
    await form.getByLabel('Username').fill(username);
    await form.getByLabel('Email').fill('not-an-email');
    await form.getByLabel('Password').fill('a-long-enough-password-1');
    await form.getByRole('button', { name: 'Create' }).click();
    await page.locator('#user-email-error').waitFor();
    expect(await form.getByLabel('Email').getAttribute('aria-invalid')).toBe('true');
    await form.getByLabel('Email').fill(`${username}@example.com`);
    await form.getByRole('button', { name: 'Create' }).click();
    const row = page.getByRole('row').filter({ hasText: username });
    await row.getByText('Active').waitFor();
    const admin = await api.admin();
    const stored = async () => ((await api.call('GET', `/api/v1/users?search=${username}`, { token: admin })).body.data.users as Array<{ username: string; role: string; is_active: boolean }>).find((u) => u.username === username);
    await row.getByLabel(`Role ${username}`).selectOption('viewer');
    await eventually(async () => (await stored())?.role === 'viewer', 15_000, 'the role changed');
    await row.getByRole('button', { name: `Disable ${username}` }).click();
    await row.getByText('Disabled').waitFor();
    expect((await stored())?.is_active).toBe(false);
    await shot(page, 'users');
    await row.getByRole('button', { name: `Enable ${username}` }).click();
    await row.getByText('Active').waitFor();
    expect((await stored())?.is_active).toBe(true);
    expect(unexpected(problems)).toEqual([]);
    await page.close();
  });

  it('adds a database instance with a new credential and syncs it as an operation followed to the end; deletes it once confirmed', async () => {
    const pg = pgServer();
    const page = await as('admin', process.env.IDCFLOW_ADMIN_PASSWORD!);
    await page.getByRole('link', { name: 'Database instances', exact: true }).click();
    const form = page.getByRole('form', { name: 'New database instance' });
    const name = uniq('web-db');
    await form.getByLabel('Name', { exact: true }).fill(name);
    await form.getByLabel('Host', { exact: true }).fill(pg.host);
    await form.getByLabel('Port').fill(String(pg.port));
    await form.getByRole('button', { name: 'Create' }).click(); // a new credential needs its username and password
    await page.locator('#dbi-username-error').waitFor();
    await form.getByLabel('Database').fill(pg.database);
    await form.getByLabel('Username (+ new)').fill(pg.superuser);
    await form.getByLabel('Password (+ new)').fill(pg.password);
    await form.getByRole('button', { name: 'Create' }).click();
    const row = page.getByRole('row').filter({ hasText: name });
    await row.waitFor();
    await row.getByRole('button', { name: `Sync ${name}` }).click();
    await page.locator('.operation[data-status="succeeded"]').waitFor({ timeout: 90_000 });
    await page.getByRole('row').filter({ hasText: name }).getByText('online').waitFor();
    await shot(page, 'db-instances');
    await page.getByRole('link', { name: 'Sync sessions', exact: true }).click();
    await page.getByRole('cell', { name: 'manual_single' }).first().waitFor();
    await page.getByRole('button', { name: 'New sync session' }).click(); // every active instance: this one
    const batch = page.locator('.operation');
    await batch.locator('.op-step').filter({ hasText: /\d+%/ }).waitFor();
    await page.locator('.operation[data-status="succeeded"]').waitFor({ timeout: 90_000 });
    await page.getByRole('cell', { name: 'manual_batch' }).first().waitFor();
    await page.getByRole('link', { name: 'Database instances', exact: true }).click();
    const asked = answer(page, true);
    await page.getByRole('row').filter({ hasText: name }).getByRole('button', { name: `Delete ${name}` }).click();
    expect(await asked).toContain(name);
    await eventually(async () => (await page.getByRole('row').filter({ hasText: name }).count()) === 0, 15_000, 'the instance gone');
    expect(unexpected(problems)).toEqual([]);
    await page.close();
  });

  it('creates and deletes an IPv6 pool, refuses a BGP session\'s bad neighbor beside the field; none of the operator pages for a customer', async () => {
    const manager = await api.createUser('manager');
    let page = await as(manager.username, manager.password);
    expect(await page.getByRole('link', { name: 'Users', exact: true }).count()).toBe(0);
    await page.getByRole('link', { name: 'IPv6 pools', exact: true }).click();
    const form = page.getByRole('form', { name: 'New IPv6 pool' });
    const name = uniq('web-pool');
    const prefix = `fd${Math.floor(Math.random() * 0xff).toString(16).padStart(2, '0')}:${Math.floor(Math.random() * 0xffff).toString(16)}::/48`;
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Prefix', { exact: true }).fill(prefix);
    await form.getByLabel('Prefix length', { exact: true }).fill('200');
    await form.getByRole('button', { name: 'Create' }).click();
    await page.locator('#pool-prefix_length-error').waitFor();
    await form.getByLabel('Prefix length', { exact: true }).fill('64');
    await form.getByRole('button', { name: 'Create' }).click();
    const row = page.getByRole('row').filter({ hasText: name });
    await row.getByText('/64').waitFor();
    const asked = answer(page, true);
    await row.getByRole('button', { name: `Delete ${name}` }).click();
    await asked;
    await eventually(async () => (await row.count()) === 0, 15_000, 'the pool gone');

    await page.getByRole('link', { name: 'BGP sessions', exact: true }).click();
    const bgp = page.getByRole('form', { name: 'New BGP session' });
    await bgp.getByLabel('Name').fill(uniq('web-bgp'));
    await bgp.getByLabel('Neighbor').fill('not-an-address');
    await bgp.getByLabel('Remote AS').fill('65001');
    await bgp.getByLabel('Local AS').fill('65000');
    await bgp.getByRole('button', { name: 'Create' }).click();
    await page.locator('#bgp-neighbor-error').waitFor();
    expect(await bgp.getByLabel('Neighbor').getAttribute('aria-invalid')).toBe('true');
    await bgp.getByLabel('Neighbor').fill('192.0.2.78'); // a manager's form has no host field: the refusal naming it is shown whole
    await bgp.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('alert').filter({ hasText: 'host_id: is required: there is no host named local' }).waitFor();
    expect(await page.locator('#bgp-neighbor-error').count()).toBe(0);
    expect(unexpected(problems)).toEqual([]);
    await page.close();

    const customer = await api.createUser('user');
    page = await as(customer.username, customer.password);
    for (const link of ['Users', 'Database instances', 'Sync sessions', 'BGP sessions', 'IPv6 pools', 'WireGuard servers']) expect(await page.getByRole('link', { name: link, exact: true }).count()).toBe(0);
    for (const hash of ['#/users', '#/db-instances', '#/db-sessions', '#/bgp-sessions', '#/ipv6-pools']) {
      await page.evaluate(`location.hash = '${hash}'`);
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      expect(await page.getByRole('form').count()).toBe(0);
    }
    expect(unexpected(problems)).toEqual([]);
    await page.close();
  });

  it('creates a BGP session on a host and follows its operation (no agent there: the failure shown); no host named local: said beside Host', async () => {
    const host = await addHost(api, { use_agent: true }); // no agent runs for it: applying fails fast with SERVICE_UNAVAILABLE
    const page = await as('admin', process.env.IDCFLOW_ADMIN_PASSWORD!);
    await page.getByRole('link', { name: 'BGP sessions', exact: true }).click();
    const form = page.getByRole('form', { name: 'New BGP session' });
    const name = uniq('web-bgp');
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Neighbor').fill('192.0.2.77');
    await form.getByLabel('Remote AS').fill('65001');
    await form.getByLabel('Local AS').fill('65000');
    await form.getByRole('button', { name: 'Create' }).click(); // the host "local", which this stack does not have
    await page.locator('#bgp-host_id-error').filter({ hasText: 'no host named local' }).waitFor();
    await form.getByLabel('Host').selectOption(host.name);
    await form.getByRole('button', { name: 'Create' }).click();
    await page.locator('.operation[data-status="failed"]').filter({ hasText: 'SERVICE_UNAVAILABLE' }).waitFor({ timeout: 60_000 });
    await page.getByRole('row').filter({ hasText: name }).getByText('192.0.2.77').waitFor();
    await shot(page, 'bgp-sessions');
    expect(unexpected(problems)).toEqual([]);
    await page.close();
  });

  describeIfRunnable(networkingUnavailable(), 'an instance\'s networking (real agent, nftables in a namespace)', () => {
    let net: NetworkFabric;
    let agent: Spawned | undefined;
    beforeAll(async () => {
      net = await networkFabric();
    }, 60_000);
    afterAll(async () => {
      await agent?.stop();
      await net?.destroy();
    });

    it('adds and deletes a port forward and an address, each followed live; a quota refusal is shown as such', async () => {
      const host = await addNetworkHost(api);
      agent = await spawnNetworkAgent(api, host, net.host.name);
      const owner = await api.createUser('user');
      const admin = await api.admin();
      expect((await api.call('PUT', `/api/v1/users/${owner.id}/network-quota`, { token: admin, body: { nat_ports: 1, proxies: 0, addresses: 1 } })).status).toBe(200);
      const name = uniq('web-net');
      // An admin places the fabric's addresses for the owner (a tenant cannot choose its instance's addresses).
      const { op } = await createInstance(api, admin, { name, host_id: host.id, owner_id: owner.id, nics: [{ name: 'eth0', ip4: '10.77.0.2', ip6: 'fd77::2' }] });
      expect(op.status).toBe('succeeded');

      const page = await as(owner.username, owner.password);
      await page.getByRole('link', { name: 'Instances', exact: true }).click();
      await page.getByRole('button', { name: `Networking ${name}` }).click();
      const panel = page.getByRole('region', { name: `Networking: ${name}` });
      const forwards = panel.getByRole('region', { name: 'Port forwards' });
      await forwards.getByText('— 0 / 1').waitFor();
      const addForward = forwards.getByRole('form', { name: 'Add: Port forwards' });
      await addForward.getByRole('button', { name: 'Add' }).click();
      await forwards.locator('[id$="-internal_port-error"]').waitFor();
      expect(await addForward.getByLabel('Internal port').getAttribute('aria-invalid')).toBe('true');
      await addForward.getByLabel('External port (empty: any free)').fill('20031');
      await addForward.getByLabel('Internal port').fill('8080');
      await addForward.getByRole('button', { name: 'Add' }).click();
      await forwards.locator('.operation[data-status="succeeded"]').waitFor({ timeout: 60_000 });
      const row = forwards.getByRole('row').filter({ hasText: '10.78.0.1:20031' });
      await row.getByText('active').waitFor();
      await forwards.getByText('— 1 / 1').waitFor();
      await eventually(async () => (await curlFrom(net.client, 'http://10.78.0.1:20031/'))?.includes('hello from the instance'), 15_000, 'the forward to answer');

      await addForward.getByLabel('Internal port').fill('8081');
      await addForward.getByRole('button', { name: 'Add' }).click();
      await forwards.getByRole('alert').filter({ hasText: /CONFLICT.*Quota exceeded: nat_ports \(1 of 1 used\)/ }).waitFor();

      const addresses = panel.getByRole('region', { name: 'Bound addresses' });
      await addresses.getByRole('button', { name: 'Add' }).click();
      await addresses.locator('.operation[data-status="succeeded"]').waitFor({ timeout: 60_000 });
      await addresses.getByRole('row').filter({ hasText: /10\.78\.1\.\d+\/32/ }).getByText('active').waitFor();
      const proxies = panel.getByRole('region', { name: 'Reverse proxies' });
      await proxies.getByLabel('Domain').fill('web.example.test');
      await proxies.getByLabel('Target port').fill('8080');
      await proxies.getByRole('button', { name: 'Add' }).click();
      await proxies.getByRole('alert').filter({ hasText: 'Quota exceeded: proxies' }).waitFor();
      await shot(page, 'instance-networking');

      let asked = answer(page, false);
      await row.getByRole('button', { name: /^Delete Port forwards #\d+$/ }).click();
      await asked;
      expect(await forwards.locator('.operation').filter({ hasText: '.remove' }).count()).toBe(0);
      await row.getByText('active').waitFor();
      asked = answer(page, true);
      await row.getByRole('button', { name: /^Delete Port forwards #\d+$/ }).click();
      await asked;
      await forwards.locator('.operation[data-status="succeeded"]').filter({ hasText: '.remove' }).waitFor({ timeout: 60_000 });
      await eventually(async () => (await row.count()) === 0, 15_000, 'the forward gone from the list');
      await eventually(async () => (await curlFrom(net.client, 'http://10.78.0.1:20031/')) === null, 15_000, 'the forward to stop answering');
      expect(unexpected(problems)).toEqual([]);
      await page.close();
    });
  });
});
