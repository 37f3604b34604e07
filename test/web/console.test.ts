import fs from 'node:fs';
import Docker from 'dockerode';
import type { Browser, Page } from 'playwright-core';
import { freePort } from '../../workers/embedded-services';
import { startTestApi, type TestApi } from '../support/api';
import { addHost, createInstance, uniq } from '../support/compute';
import { podmanForTests, podmanMissing } from '../support/podman';
import { itIfRunnable } from '../support/environment';
import { spawnWorker, type Spawned } from '../support/processes';
import { describeBrowser, launchBrowser, openPage, signIn, shot } from './support';

/** The web console in a real browser: Debian's chromium driven by playwright-core (README, Tests). */
const podman = podmanForTests();

describeBrowser('the web console in chromium', () => {
  const queue = uniq('web');
  let api: TestApi;
  let worker: Spawned | undefined;
  let browser: Browser;
  const problems: string[] = [];

  beforeAll(async () => {
    const gateway = 'skip' in podman ? {} : { IDCFLOW_CONSOLE_PORT: String(await freePort()) };
    api = await startTestApi({ IDCFLOW_TASK_QUEUE: queue });
    worker = await spawnWorker(queue, gateway);
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await api?.close();
  });

  const open = (): Promise<Page> => openPage(browser, api.url, problems);

  it('signs in, creates an instance on a simulator host while following its operation, and finds it in the list', async () => {
    const host = await addHost(api, {});
    const page = await open();
    await shot(page, 'sign-in');
    await page.getByLabel('Password').fill('wrong');
    await page.getByLabel('Username').fill('admin');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'INVALID_CREDENTIALS' }).waitFor();
    problems.length = 0; // the refused sign-in's 401, logged by the browser, was the point
    await signIn(page, 'admin', process.env.IDCFLOW_ADMIN_PASSWORD!);

    await page.getByRole('link', { name: 'Instances', exact: true }).click();
    const name = uniq('web-box');
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Host').selectOption(host.name);
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('.operation[data-status="succeeded"]').waitFor({ timeout: 60_000 });
    await page.getByRole('cell', { name, exact: true }).waitFor();
    await page.getByLabel('Search').fill(name);
    await shot(page, 'instances');
    expect(await page.locator('tbody tr').count()).toBe(1);
    expect(await page.getByRole('row').filter({ hasText: name }).getByText('running').count()).toBe(1);

    await page.getByRole('link', { name: 'Operations', exact: true }).click();
    await page.getByRole('cell', { name: 'instance.create' }).first().waitFor();
    await shot(page, 'operations');
    await page.getByRole('button', { name: '中文' }).click();
    await page.getByRole('link', { name: '实例', exact: true }).waitFor();
    await page.getByRole('button', { name: 'English' }).click();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows a customer only their own instances, and none of the admin pages', async () => {
    const host = await addHost(api, {});
    const admin = await api.admin();
    const theirs = uniq('not-yours');
    await createInstance(api, admin, { name: theirs, host_id: host.id });
    const user = await api.createUser('user');
    const mine = uniq('mine');
    await createInstance(api, user.token, { name: mine, host_id: host.id });

    const page = await open();
    await signIn(page, user.username, user.password);
    expect(await page.getByRole('link', { name: 'Hosts', exact: true }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Users', exact: true }).count()).toBe(0);
    await page.getByRole('link', { name: 'Instances', exact: true }).click();
    await page.getByRole('cell', { name: mine, exact: true }).waitFor();
    expect(await page.getByRole('cell', { name: theirs, exact: true }).count()).toBe(0);
    await page.evaluate("location.hash = '#/users'");
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();

    await page.getByRole('link', { name: 'Relay rentals', exact: true }).click();
    await page.getByLabel('Code').fill('NOT-A-REAL-CODE');
    await page.getByRole('button', { name: 'Redeem' }).click();
    await page.getByRole('alert').waitFor();
    problems.splice(0, problems.length, ...problems.filter((p) => !/status of 4\d\d/.test(p))); // the refused code's answer, logged by the browser
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download derpMap' }).click();
    const file = await (await download).path();
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ derpMap: { OmitDefaultRegions: true, Regions: {} } });
    await page.getByRole('link', { name: 'WireGuard clients', exact: true }).click();
    await page.getByText('Nothing here yet.').waitFor();
    expect(problems).toEqual([]);
    await page.close();
  });

  itIfRunnable(podmanMissing(), 'opens a container\'s terminal from its row', async () => {
    const { socketPath, image } = podman as { socketPath: string; image: string };
    const host = await addHost(api, { engine_type: 'docker', address: `unix://${socketPath}` });
    const uuid = uniq('web-tty');
    try {
      const { op } = await createInstance(api, await api.admin(), { uuid, name: uuid, host_id: host.id, image, command: ['sleep', '3600'] });
      expect(op.status).toBe('succeeded');
      const page = await open();
      await signIn(page, 'admin', process.env.IDCFLOW_ADMIN_PASSWORD!);
      await page.getByRole('link', { name: 'Instances', exact: true }).click();
      const popup = page.waitForEvent('popup');
      await page.getByRole('row').filter({ hasText: uuid }).getByRole('button', { name: 'Terminal' }).click();
      const terminal = await popup;
      await terminal.locator('.xterm-rows').filter({ hasText: /[#$]/ }).waitFor({ timeout: 30_000 });
      await shot(terminal, 'terminal');
      await terminal.close();
      await page.close();
      expect(problems).toEqual([]);
    } finally {
      const docker = new Docker({ socketPath });
      for (const c of await docker.listContainers({ all: true, filters: { label: [`io.idcflow.uuid=${uuid}`] } })) await docker.getContainer(c.Id).remove({ force: true });
    }
  });
});
