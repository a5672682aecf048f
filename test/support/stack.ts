import { silentLogger } from '../../src/observability/logger';
import { DEMO_APP_ID, startStack, type Stack, type StackOptions } from '../../src/sandbox/stack';
import { Client, type Hop } from './browserless-client';

export { DEMO_APP_ID };

export async function syncedStack(opts: Partial<StackOptions> = {}): Promise<Stack> {
  const stack = await startStack({ log: silentLogger, ...opts });
  await stack.syncTenants();
  return stack;
}

/**
 * Logs a scripted browser in: the app page, koogate's login, the unified login (whose form the person
 * submits), the callback, and back. Returns every hop for assertions.
 */
export async function login(stack: Stack, client: Client, opts: { path?: string; tenantId?: string; userName?: string } = {}): Promise<Hop[]> {
  const path = opts.path ?? '/me';
  const first = await client.follow(`${stack.url}${path}`);
  const atLogin = first[first.length - 1]!;
  if (!atLogin.url.startsWith(stack.sandbox.url)) throw new Error(`expected to reach the unified login, got ${atLogin.status} ${atLogin.url}`);
  const form = new URLSearchParams({ appId: DEMO_APP_ID, tenantId: opts.tenantId ?? 't-acme', userName: opts.userName ?? 'zhangwei' });
  const back = await client.follow(`${stack.sandbox.url}/unified-login/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  return [...first, ...back];
}

export const api = { accept: 'application/json', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' };
