import type { Stack } from '../../src/sandbox/stack';
import { Client } from '../support/browserless-client';
import { hostileTargets } from '../support/hostile-targets';
import { login, loginCookie } from '../support/login';
import { getHead, rawRequest } from '../support/raw-http';
import { syncedStack } from '../support/stack';

/** Where a browser at `base` goes for a Location or href written as `value`. */
const origin = (value: string, base: string) => new URL(value, base).origin;
const scheme = /^[a-z][a-z0-9+.-]*:/i;

/** A redirect or link koogate wrote, in the form it was sent: on koogate's origin and no trick a browser reads otherwise. */
function expectOwnPath(value: string, base: string): void {
  expect({ value, ok: value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/\\') && !scheme.test(value) && origin(value, base) === new URL(base).origin }).toEqual({ value, ok: true });
}

/** Every redirect koogate sends, checked in its final, resolved form, over real logins. */
describe('redirects and links', () => {
  let stack: Stack;
  let dead: Stack;

  beforeAll(async () => {
    stack = await syncedStack({});
    // An app that never answers: every proxied navigation gets koogate's error page.
    dead = await syncedStack({ upstreamUrl: 'http://127.0.0.1:1' });
  });
  afterAll(async () => {
    await stack?.close();
    await dead?.close();
  });

  const returnTos = [
    '/.//evil.example',
    '/a/..//evil.example',
    '/%2e//evil.example',
    '/%2E%2E//evil.example',
    '/a/b/../..//evil.example/x?y=1',
    '/./%2e/.//evil.example',
    '/.\\/evil.example',
    '/./\\evil.example',
    '/a/%2e%2e/%2e%2e//evil.example',
    '/..//..//evil.example',
    ...hostileTargets().filter((_t, i) => i % 23 === 0),
  ];

  test.each(returnTos)('after login, returnTo %j lands on koogate', async (returnTo) => {
    const cb = (await login(new Client(), stack.url, stack.sandbox, { returnTo, stopAtCallback: true })).at(-1)!;
    expect(cb.status).toBe(302);
    expectOwnPath(cb.headers.get('location')!, stack.url);
  });

  test('an ordinary returnTo is kept', async () => {
    const cb = (await login(new Client(), stack.url, stack.sandbox, { returnTo: '/reports/2026?q=a%20b#top', stopAtCallback: true })).at(-1)!;
    expect(cb.headers.get('location')).toBe('/reports/2026?q=a%20b#top');
  });

  test('the login bounce (callback without a transaction) goes to the unified login only', async () => {
    const res = await new Client().request(`${stack.url}/_koogate/callback?code=x&tenant=t-acme`);
    expect(res.status).toBe(302);
    expect(res.location!.startsWith(`${stack.sandbox.url}/unified-login/`)).toBe(true);
  });

  test('the login redirect for a hostile path keeps it inside returnTo, on koogate', async () => {
    for (const t of ['//evil.example/x', '/\\evil.example', '//%09/example.com']) {
      const a = await rawRequest(stack.url, getHead(stack.url, t, { Accept: 'text/html' }));
      expect(a.status).toBe(302);
      expect(a.headers.location!.startsWith('/_koogate/login?returnTo=')).toBe(true);
    }
  });

  test('logout sends the browser to the tenant marketplace logout, and on to koogate only', async () => {
    const client = new Client();
    await login(client, stack.url, stack.sandbox, { returnTo: '/', stopAtCallback: true });
    const res = await client.request(`${stack.url}/_koogate/logout`, { method: 'POST', headers: { origin: new URL(stack.url).origin, 'sec-fetch-site': 'same-origin' } });
    expect(res.status).toBe(303);
    const target = new URL(res.location!);
    expect(target.origin).toBe(stack.sandbox.url);
    expect(new URL(target.searchParams.get('redirect_url')!).origin).toBe(new URL(stack.url).origin);
  });

  test('error pages link back on koogate only, whatever the request path', async () => {
    const cookie = await loginCookie(dead.url, dead.sandbox);
    const paths = ['//evil.example/x', '/\\evil.example/x', '//evil.example', ...hostileTargets().filter((_t, i) => i % 41 === 0)];
    let pages = 0;
    for (const t of paths) {
      const a = await rawRequest(dead.url, getHead(dead.url, t, { Accept: 'text/html', 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'document', Cookie: cookie }));
      if (a.status !== 502) continue;
      pages++;
      const hrefs = [...a.body.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!.replaceAll('&amp;', '&'));
      expect(hrefs.length).toBeGreaterThan(0);
      for (const h of hrefs) expectOwnPath(h, dead.url);
    }
    expect(pages).toBeGreaterThan(paths.length / 2);
  });
});
