import { silentLogger } from '../../src/observability/logger';
import { startStack, type Stack } from '../../src/sandbox/stack';
import { Client } from '../support/browserless-client';
import { login } from '../support/login';
import { eventually } from '../support/webhook-receiver';

/**
 * The demo (`npm start`) with koogate's open-API calls at the stand-in: each tenant's newInstance is
 * answered at once, koogate reads the order in the background, and a logged-in user's page shows the
 * organisation's order details as koogate's directory API gives them.
 */
describe('demo: order details', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ log: silentLogger, openApi: true });
    await stack.purchase();
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  test('the /me page shows the organisation\'s order: type, charging mode, buyer', async () => {
    const client = new Client();
    await login(client, stack.url, stack.sandbox);
    let page = '';
    await eventually(async () => {
      page = (await client.request(`${stack.url}/me`)).text;
      return page.includes('data-testid="order-charging">pay-per-use<');
    }, 'the order details on the page', 20_000);
    const order = stack.sandbox.orders.orders.get('t-acme')!;
    expect(page).toContain(`data-testid="order-instance">${order.instanceId}<`);
    expect(page).toContain(`data-testid="order-id">${order.orderId}<`);
    expect(page).toContain('data-testid="order-type">NEW<');
    expect(page).toContain(`data-testid="order-buyer">${stack.sandbox.tenants[0]!.name}<`);
    expect(stack.sandbox.orderQuery.stats).toMatchObject({ refused: 0 });
    expect(stack.sandbox.orderQuery.stats.verified).toBeGreaterThanOrEqual(stack.sandbox.tenants.length);
  });
});
