import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { describeIfRunnable } from '../support/environment';

/** What every browser test of the console shares: Debian's chromium driven by playwright-core (README, Tests). */
export const CHROMIUM = '/usr/bin/chromium';
/** `describe` when there is a chromium; otherwise skipped with the reason (a failure under CI). */
export function describeBrowser(name: string, body: () => void) {
  describeIfRunnable(fs.existsSync(CHROMIUM) ? null : `no ${CHROMIUM} (apt-get install chromium; .ci/run does)`, name, body);
}

/** IDCFLOW_SCREENSHOTS=1 writes the pages' screenshots into docs/screenshots. */
export const SHOTS = process.env.IDCFLOW_SCREENSHOTS === '1' ? path.join(__dirname, '..', '..', 'docs', 'screenshots') : null;

export async function launchBrowser(): Promise<Browser> {
  if (SHOTS) fs.mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

export const shot = async (page: Page, name: string) => { if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true }); };

/** A page that records console errors and uncaught exceptions into `problems` (tests end by asserting there were none). */
export async function openPage(browser: Browser, url: string, problems: string[]): Promise<Page> {
  problems.length = 0;
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(30_000);
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
  await page.goto(url);
  return page;
}

export async function signIn(page: Page, username: string, password: string) {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
}

/**
 * The browser logs each refused request (the 4xx a test provoked); anything else is a problem, but for
 * ERR_NETWORK_CHANGED: Chromium aborts a request when the machine's interfaces change, which other files' Podman
 * networks do at any moment in the suite (what the page then failed to show, the test's own waits catch).
 */
export const unexpected = (problems: string[]) => problems.filter((p) => !/status of 4\d\d|net::ERR_NETWORK_CHANGED/.test(p));

/** Waits for `locator` to show; on a timeout, says what the page showed instead (its alerts and the URL). */
export async function shown(page: Page, locator: ReturnType<Page['locator']>, timeout = 30_000) {
  await locator.waitFor({ timeout }).catch(async (err: Error) => {
    const alerts = await page.getByRole('alert').allTextContents().catch(() => []);
    throw new Error(`${err.message.split('\n')[0]}; alerts on ${page.url()}: ${JSON.stringify(alerts)}`);
  });
}
