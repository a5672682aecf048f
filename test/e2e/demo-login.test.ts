import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { silentLogger } from '../../src/observability/logger';
import { MARKETPLACE_SESSION_COOKIE } from '../../src/sandbox/marketplace';
import { DEMO_APP_ID, startStack, type Stack } from '../../src/sandbox/stack';
import { launchBrowser, type TestBrowser } from '../support/browser';

jest.setTimeout(60_000);

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The demo of `npm start`, on a free port, logged in through a real Chromium. */
describe('demo login in a real browser', () => {
  let stack: Stack;
  let shots: string;
  const browsers: TestBrowser[] = [];

  async function newBrowser(): Promise<{ browser: TestBrowser; page: Page; problems: string[] }> {
    const browser = await launchBrowser();
    browsers.push(browser);
    const page = await browser.page();
    // Script errors and CSP violations on any page fail the test; a missing favicon does not.
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror at ${page.url()}: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console error at ${page.url()}: ${m.text()}`);
    });
    return { browser, page, problems };
  }

  const isUnifiedLogin = (url: URL): boolean =>
    url.origin === stack.sandbox.url &&
    url.pathname === '/unified-login/' &&
    url.hash === `#/portal-login?ind=UNOP&appId=${DEMO_APP_ID}`;

  /** On the unified login page with the form shown: picks tenant and user and submits. */
  async function submitLoginForm(page: Page, tenantId: string, userName: string): Promise<void> {
    await page.locator('#login-form').waitFor({ state: 'visible' });
    await page.selectOption('#tenant', tenantId);
    await page.selectOption('#user', userName);
    await page.click('#login-submit');
  }

  async function expectIdentity(page: Page, name: string, userName: string, tenantId: string): Promise<void> {
    await page.locator('#user-name').waitFor();
    expect((await page.textContent('#user-name'))?.trim()).toBe(name);
    expect((await page.textContent('#user-id'))?.trim()).toBe(userName);
    expect((await page.textContent('#tenant-id'))?.trim()).toBe(tenantId);
  }

  async function screenshot(page: Page, name: string): Promise<Buffer> {
    const file = join(shots, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    const png = await readFile(file);
    expect(png.length).toBeGreaterThan(PNG_SIGNATURE.length);
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    return png;
  }

  beforeAll(async () => {
    shots = await mkdtemp(join(tmpdir(), 'koogate-e2e-shots-'));
    stack = await startStack({ log: silentLogger });
    await stack.syncTenants();
  });

  afterEach(async () => {
    for (const b of browsers.splice(0)) await b.close().catch(() => undefined);
  });

  afterAll(async () => {
    for (const b of browsers.splice(0)) await b.close().catch(() => undefined);
    await stack?.close();
    // KOOGATE_E2E_KEEP_SCREENSHOTS=1 keeps them for a look; they are never part of the repository.
    if (shots && !process.env.KOOGATE_E2E_KEEP_SCREENSHOTS) await rm(shots, { recursive: true, force: true });
    else if (shots) process.stdout.write(`screenshots kept in ${shots}\n`);
  });

  beforeEach(() => stack.sandbox.resetStats());

  test('landing page → unified login form → /me as 张伟 → logout through the marketplace → logged out everywhere', async () => {
    const { browser, page, problems } = await newBrowser();
    const loggedOutUrl = `${stack.url}/_koogate/logged-out`;

    // 1. The public landing page of the demo app, not logged in.
    await page.goto(`${stack.url}/`);
    await expect(page.locator('#status').getAttribute('data-logged-in')).resolves.toBe('false');
    const loginLink = page.locator('#login');
    await loginLink.waitFor({ state: 'visible' });

    // 2. The link leads through koogate's login to the marketplace's unified login, parameters in the fragment.
    await loginLink.click();
    await page.waitForURL(isUnifiedLogin);
    await page.locator('#login-form').waitFor({ state: 'visible' });
    expect(await page.isHidden('#message')).toBe(true);
    expect(await page.textContent('#app-line')).toContain(DEMO_APP_ID);
    expect(await page.inputValue('#app-id')).toBe(DEMO_APP_ID);
    const tenants = await page.locator('#tenant option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(tenants).toEqual(expect.arrayContaining(['t-acme', 't-globex']));
    await page.selectOption('#tenant', 't-acme');
    await expect(page.locator('#user option[value="zhangwei"]').textContent()).resolves.toContain('张伟');
    await screenshot(page, '1-unified-login');
    await submitLoginForm(page, 't-acme', 'zhangwei');

    // 3. Back at koogate, on the page the link asked for, with the identity the app received from koogate.
    await page.waitForURL(`${stack.url}/me`);
    await expectIdentity(page, '张伟', 'zhangwei', 't-acme');
    expect((await page.textContent('#user-email'))?.trim()).toBe('zhangwei@acme.example');
    await screenshot(page, '2-me');
    expect(stack.sandbox.stats.authorizationCodeGrants).toBe(1);
    const cookies = await browser.context.cookies();
    expect(cookies.find((c) => c.name === MARKETPLACE_SESSION_COOKIE)).toMatchObject({ domain: '127.0.0.1', httpOnly: true });
    // koogate's session cookie is HttpOnly and lives on koogate's host only.
    const koogateCookies = cookies.filter((c) => c.domain === 'localhost');
    expect(koogateCookies.length).toBeGreaterThan(0);
    for (const c of koogateCookies) expect(c.httpOnly).toBe(true);

    // 4. Logout posts to koogate, which sends the browser through the marketplace logout and back.
    await page.click('#logout');
    await page.waitForURL(loggedOutUrl);
    await page.locator('#logged-out').waitFor({ state: 'visible' });
    await screenshot(page, '3-logged-out');
    expect(stack.sandbox.stats.logouts).toBe(1);
    expect((await browser.context.cookies(stack.sandbox.url)).map((c) => c.name)).not.toContain(MARKETPLACE_SESSION_COOKIE);

    // 5. Logged out at both ends: /me goes to the unified login, which shows the form instead of continuing.
    const codesBefore = stack.sandbox.stats.codesIssued;
    await page.goto(`${stack.url}/me`);
    await page.waitForURL(isUnifiedLogin);
    await page.locator('#login-form').waitFor({ state: 'visible' });
    expect(await page.isHidden('#message')).toBe(true);
    expect(stack.sandbox.stats.codesIssued).toBe(codesBefore);
    expect(stack.sandbox.stats.authorizationCodeGrants).toBe(1);

    expect(problems).toEqual([]);
  });

  test('with a live marketplace session, a browser that lost koogate cookies is logged in again without the form', async () => {
    const { browser, page, problems } = await newBrowser();
    await page.goto(`${stack.url}/me`);
    await page.waitForURL(isUnifiedLogin);
    await submitLoginForm(page, 't-acme', 'zhangwei');
    await page.waitForURL(`${stack.url}/me`);
    await expectIdentity(page, '张伟', 'zhangwei', 't-acme');
    expect(stack.sandbox.stats.codesIssued).toBe(1);

    // Forget koogate's session (cookies on koogate's host only); the marketplace's cookie stays.
    await browser.context.clearCookies({ domain: 'localhost' });
    const left = await browser.context.cookies();
    expect(left.map((c) => c.name)).toEqual([MARKETPLACE_SESSION_COOKIE]);

    // The unified login sees the live session and continues at once with a fresh code.
    const submits: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST') submits.push(r.url());
    });
    const visited: string[] = [];
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) visited.push(f.url());
    });
    await page.goto(`${stack.url}/me`);
    await page.waitForURL(`${stack.url}/me`);
    await expectIdentity(page, '张伟', 'zhangwei', 't-acme');
    expect(submits).toEqual([]);
    expect(visited.some((u) => isUnifiedLogin(new URL(u)))).toBe(true);
    expect(stack.sandbox.stats.codesIssued).toBe(2);
    expect(stack.sandbox.stats.authorizationCodeGrants).toBe(2);
    expect((await browser.context.cookies()).some((c) => c.domain === 'localhost')).toBe(true);

    expect(problems).toEqual([]);
  });
});
