import type { Page } from 'playwright-core';
import { silentLogger } from '../../src/observability/logger';
import { startStack, type Stack } from '../../src/sandbox/stack';
import { launchBrowser, type TestBrowser } from '../support/browser';

jest.setTimeout(60_000);

/**
 * The demo's whole purchase, then the stand-in marketplace's order console freezing and unfreezing the
 * demo tenant's instance, as a demo user sees it in a real Chromium.
 */
describe('demo subscription in a real browser', () => {
  let stack: Stack;
  let browser: TestBrowser;

  beforeAll(async () => {
    stack = await startStack({ log: silentLogger });
    await stack.purchase();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await stack?.close();
  });

  async function loggedInAs(page: Page, userName: string): Promise<void> {
    await page.locator('#user-id').waitFor();
    expect((await page.textContent('#user-id'))?.trim()).toBe(userName);
  }

  async function act(page: Page, action: 'freeze' | 'unfreeze', expected: string): Promise<void> {
    await page.goto(stack.ordersUrl);
    await page.click(`#${action}-t-acme`);
    await page.waitForURL(stack.ordersUrl);
    expect(await page.getAttribute('#status-t-acme', 'data-status')).toBe(expected);
  }

  test('the purchase linked the instance koogate answered; freeze ends the session and refuses login; unfreeze restores it', async () => {
    const page = await browser.page();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror at ${page.url()}: ${e.message}`));

    // The purchase: newInstance answered an instanceId, which the kit syncs carried to the tenant.
    const order = stack.sandbox.orders.orders.get('t-acme')!;
    expect(await stack.koogate.directory.instances.get(order.instanceId)).toMatchObject({ status: 'active', provisioned: true });
    expect((await stack.koogate.directory.getTenant('t-acme'))!.instances).toEqual([order.instanceId]);

    await page.goto(`${stack.url}/me`);
    await page.locator('#login-form').waitFor({ state: 'visible' });
    await page.selectOption('#tenant', 't-acme');
    await page.selectOption('#user', 'zhangwei');
    await page.click('#login-submit');
    await page.waitForURL(`${stack.url}/me`);
    await loggedInAs(page, 'zhangwei');

    // The marketplace freezes the order: the next page of the app is a login, which koogate refuses.
    const orders = await browser.page();
    await act(orders, 'freeze', 'frozen');
    await page.goto(`${stack.url}/me`);
    await page.locator('#error-code').waitFor();
    expect((await page.textContent('#error-code'))?.trim()).toBe('KOOGATE_SUBSCRIPTION_INACTIVE');
    expect(await page.textContent('#error-title')).toMatch(/订阅已冻结或已到期|Subscription frozen or ended/);
    expect(await stack.koogate.directory.listUsers('t-acme', { limit: 10 }).then((p) => p.total)).toBe(3);

    // Unfrozen: the same browser is let in again (its marketplace session is still live).
    await act(orders, 'unfreeze', 'active');
    await page.goto(`${stack.url}/me`);
    await page.waitForURL(`${stack.url}/me`);
    await loggedInAs(page, 'zhangwei');
    expect(problems).toEqual([]);
  });

  test('the order console refuses a cross-site post, an unknown action and an unknown tenant, and changes nothing', async () => {
    const post = (path: string, origin?: string) =>
      fetch(`${stack.sandbox.url}/console/orders/${path}`, { method: 'POST', redirect: 'manual', headers: origin ? { origin } : {} });
    expect((await post('t-acme/freeze', 'https://evil.example')).status).toBe(403);
    expect((await post('t-acme/delete')).status).toBe(400);
    expect((await post('t-nobody/freeze')).status).toBe(404);
    expect((await post('%3Cscript%3E/freeze')).status).toBe(404);
    expect(stack.sandbox.orders.orders.get('t-acme')!.status).toBe('active');
    const id = stack.sandbox.orders.orders.get('t-acme')!.instanceId;
    expect((await stack.koogate.directory.instances.get(id))!.status).toBe('active');
  });
});
