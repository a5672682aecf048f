import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '../support/browserless-client';
import { login } from '../support/login';
import { startRedis, type RedisServer } from '../support/redis';
import { api, DEMO_APP_ID, syncedStack } from '../support/stack';
import type { Stack } from '../../src/sandbox/stack';

/** The whole login story over real HTTP, once per store backend. */
describe.each(['memory', 'redis'] as const)('login, proxy, renewal and logout (%s store)', (kind) => {
  let redis: RedisServer | undefined;
  let stack: Stack;

  beforeAll(async () => {
    if (kind === 'redis') redis = await startRedis();
    stack = await syncedStack({
      redisUrl: redis?.url,
      env: { KOOGATE_RENEW_SKEW_SECONDS: '120', KOOGATE_MARKETPLACE_TIMEOUT_MS: '1000' },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.dispose();
  });
  beforeEach(() => {
    stack.sandbox.behaviour.expiresIn = 7200;
    stack.sandbox.behaviour.tokenDelayMs = 0;
    delete stack.sandbox.behaviour.failToken;
    stack.sandbox.resetStats();
  });

  test('a page request without a session goes to login and returns to the page with the user known', async () => {
    const client = new Client();
    const hops = await login(client, stack.url, stack.sandbox, { path: '/me?tab=1' });
    expect(hops[0]!.status).toBe(302);
    expect(hops[0]!.location).toBe(`${stack.url}/_koogate/login?returnTo=%2Fme%3Ftab%3D1`);
    expect(hops[1]!.status).toBe(302);
    expect(hops[1]!.location).toBe(`${stack.sandbox.url}/unified-login/#/portal-login?ind=UNOP&appId=${DEMO_APP_ID}`);
    expect(hops[1]!.headers.getSetCookie().join()).toMatch(/koogate\.tx=.*HttpOnly/i);
    const callback = hops.find((h) => h.url.includes('/_koogate/callback'))!;
    expect(callback.url).toMatch(/\?code=[^&]+&tenant=t-acme$/);
    expect(callback.location).toBe(`${stack.url}/me?tab=1`);
    const last = hops[hops.length - 1]!;
    expect(last.status).toBe(200);
    expect(last.text).toContain('张伟');
    expect(stack.sandbox.stats.authorizationCodeGrants).toBe(1);
    expect(stack.sandbox.stats.lastTokenRequest).toMatchObject({ grant_type: 'authorization_code', client_id: 'acme-client' });

    const who = await client.request(`${stack.url}/api/whoami`, { headers: api });
    expect(JSON.parse(who.text)).toMatchObject({ user: 'zhangwei', tenant: 't-acme', email: 'zhangwei@acme.example', name: '张伟' });
  });

  test('the app receives identity headers, never client copies of them, and never koogate cookies', async () => {
    const client = new Client();
    await login(client, stack.url, stack.sandbox, { tenantId: 't-globex', userName: (stack.sandbox.tenants[1]!.users[0]!).userName });
    const echo = await client.request(`${stack.url}/api/echo`, {
      headers: { ...api, 'x-forwarded-user': 'admin', 'X-Forwarded-Tenant': 't-acme', 'x-koogate-anything': '1', cookie: '' },
    });
    const seen = JSON.parse(echo.text) as { headers: Record<string, string> };
    expect(seen.headers['x-forwarded-user']).toBe(stack.sandbox.tenants[1]!.users[0]!.userName);
    expect(seen.headers['x-forwarded-tenant']).toBe('t-globex');
    expect(seen.headers['x-koogate-anything']).toBeUndefined();
    expect(seen.headers.cookie ?? '').not.toMatch(/koogate/);

    // App cookies pass; koogate's are removed.
    const withAppCookie = await fetch(`${stack.url}/api/echo`, { headers: { ...api, cookie: `${client.cookieHeader(stack.url)}; app_pref=dark` } });
    const seen2 = (await withAppCookie.json()) as { headers: Record<string, string> };
    expect(seen2.headers.cookie).toBe('app_pref=dark');
    expect(seen2.headers['x-forwarded-user']).toBeDefined();
  });

  test('public paths are served without login, with spoofed identity headers stripped', async () => {
    const res = await fetch(`${stack.url}/`, { headers: { 'x-forwarded-user': 'admin', 'x-forwarded-tenant': 't-acme', accept: 'text/html' } });
    expect(res.status).toBe(200);
    const who = await fetch(`${stack.url}/api/whoami`, { headers: { ...api, 'x-forwarded-user': 'admin' } });
    expect(who.status).toBe(401);
  });

  test('an API call without a session gets 401 JSON naming the login URL', async () => {
    const res = await fetch(`${stack.url}/api/whoami?x=1`, { headers: api });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'KOOGATE_SESSION_EXPIRED', login_url: '/_koogate/login?returnTo=%2Fapi%2Fwhoami%3Fx%3D1' });
  });

  test('the access token is renewed before it expires, always with the refresh token last returned', async () => {
    stack.sandbox.behaviour.expiresIn = 60; // inside the 120 s skew: every request renews
    const client = new Client();
    await login(client, stack.url, stack.sandbox);
    // Landing on /me after the callback was already a proxied request with a due token.
    expect(stack.sandbox.stats.refreshGrants).toBe(1);
    for (let i = 2; i <= 4; i++) {
      const res = await client.request(`${stack.url}/api/whoami`, { headers: api });
      expect(res.status).toBe(200);
      expect(stack.sandbox.stats.refreshGrants).toBe(i);
    }
    // The sandbox rotates refresh tokens: reusing an old one would have failed with invalid_grant.
    expect(stack.sandbox.stats.failedGrants).toBe(0);
  });

  test('a dead refresh token ends the session: pages go to login, APIs get 401', async () => {
    stack.sandbox.behaviour.expiresIn = 60;
    const client = new Client();
    await login(client, stack.url, stack.sandbox);
    stack.sandbox.revokeRefreshTokens();
    const grantsBefore = stack.sandbox.stats.refreshGrants;
    const page = await client.request(`${stack.url}/me`);
    expect(page.status).toBe(302);
    expect(page.location).toBe(`${stack.url}/_koogate/login?returnTo=%2Fme`);
    const apiCall = await client.request(`${stack.url}/api/whoami`, { headers: api });
    expect(apiCall.status).toBe(401);
    expect(stack.sandbox.stats.refreshGrants).toBe(grantsBefore);
    expect(stack.sandbox.stats.failedGrants).toBe(1);
  });

  test('logout ends the koogate session and sends the browser through the marketplace logout', async () => {
    const client = new Client();
    await login(client, stack.url, stack.sandbox);
    const hops = await client.follow(`${stack.url}/_koogate/logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: stack.url } });
    const loggedOut = `${stack.url}/_koogate/logged-out`;
    expect(hops[0]!.status).toBe(303);
    expect(hops[0]!.location).toBe(`${stack.sandbox.domainOf('t-acme')}/api/v1/logout?redirect_url=${encodeURIComponent(loggedOut)}`);
    expect(hops[1]!.location).toBe(loggedOut);
    expect(hops[2]!.status).toBe(200);
    expect(hops[2]!.text).toContain('logged-out');
    expect(stack.sandbox.stats.logouts).toBe(1);
    const after = await client.request(`${stack.url}/api/whoami`, { headers: api });
    expect(after.status).toBe(401);
  });

  test('GET on the logout route only shows a confirmation page', async () => {
    const client = new Client();
    await login(client, stack.url, stack.sandbox);
    const page = await client.request(`${stack.url}/_koogate/logout`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('method="post"');
    expect((await client.request(`${stack.url}/api/whoami`, { headers: api })).status).toBe(200);
  });

  test('a cross-site logout post is refused', async () => {
    const client = new Client();
    await login(client, stack.url, stack.sandbox);
    const res = await client.request(`${stack.url}/_koogate/logout`, { method: 'POST', headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    expect((await client.request(`${stack.url}/api/whoami`, { headers: api })).status).toBe(200);
  });

  test('a callback without a login transaction is bounced to the unified login and exchanges nothing', async () => {
    const code = stack.sandbox.issueCode(DEMO_APP_ID, 't-acme', 'zhangwei');
    const client = new Client();
    const res = await client.request(`${stack.url}/_koogate/callback?code=${code}&tenant=t-acme`);
    expect(res.status).toBe(302);
    expect(res.location).toContain('/unified-login/#/portal-login');
    expect(client.cookies(stack.url).has('koogate.tx')).toBe(true);
    expect(stack.sandbox.stats.authorizationCodeGrants).toBe(0);
    expect(stack.sandbox.stats.tokenRequests).toBe(0);
  });

  test('an IdP-initiated arrival logs in after the bounce (tenant_id accepted as a synonym)', async () => {
    const client = new Client();
    const first = await client.request(`${stack.url}/_koogate/callback?code=${stack.sandbox.issueCode(DEMO_APP_ID, 't-acme', 'lina')}&tenant_id=t-acme`);
    expect(first.status).toBe(302);
    const second = await client.request(`${stack.url}/_koogate/callback?code=${stack.sandbox.issueCode(DEMO_APP_ID, 't-acme', 'lina')}&tenant_id=t-acme`);
    expect(second.status).toBe(302);
    expect(second.location).toBe(`${stack.url}/`);
    const who = await client.request(`${stack.url}/api/whoami`, { headers: api });
    expect(JSON.parse(who.text)).toMatchObject({ user: 'lina' });
  });

  test('a forged transaction cookie is not accepted', async () => {
    const client = new Client();
    client.cookies(stack.url).set('koogate.tx', 'eyJyZXR1cm5UbyI6Ii8iLCJjcmVhdGVkQXQiOjk5OTk5OTk5OTk5OTl9.AAAA');
    const res = await client.request(`${stack.url}/_koogate/callback?code=x&tenant=t-acme`);
    expect(res.status).toBe(302);
    expect(res.location).toContain('/unified-login/');
    expect(stack.sandbox.stats.tokenRequests).toBe(0);
  });

  test.each([
    ['//evil.example/x'],
    ['/\\evil.example'],
    ['https://evil.example/'],
    ['/%2F%2Fevil.example'],
    ['%09//evil.example'],
    ['javascript:alert(1)'],
    ['/_koogate/logout'],
  ])('returnTo %s cannot send the user off-site', async (returnTo) => {
    const client = new Client();
    await client.request(`${stack.url}/_koogate/login?returnTo=${encodeURIComponent(returnTo)}`);
    const back = await client.follow(`${stack.sandbox.url}/unified-login/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ appId: DEMO_APP_ID, tenantId: 't-acme', userName: 'zhangwei' }).toString(),
    });
    const callback = back.find((h) => h.url.includes('/_koogate/callback'))!;
    expect(callback.location).toBe(`${stack.url}/`);
  });

  test('missing code or tenant on the callback is a clear 400 page', async () => {
    const res = await new Client().request(`${stack.url}/_koogate/callback?code=abc`);
    expect(res.status).toBe(400);
    expect(res.text).toContain('KOOGATE_CALLBACK_INVALID');
  });

  test('an unknown tenant gets a clear page with a stable code and nothing is exchanged', async () => {
    const client = new Client();
    await client.request(`${stack.url}/_koogate/login?returnTo=%2F`);
    const res = await client.request(`${stack.url}/_koogate/callback?code=whatever&tenant=t-unknown`);
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.text).toContain('KOOGATE_TENANT_UNKNOWN');
    expect(stack.sandbox.stats.tokenRequests).toBe(0);
  });

  test('a used code (invalid_grant) shows the sign-in-again page', async () => {
    const client = new Client();
    await client.request(`${stack.url}/_koogate/login?returnTo=%2F`);
    const code = stack.sandbox.issueCode(DEMO_APP_ID, 't-acme', 'zhangwei');
    expect((await client.request(`${stack.url}/_koogate/callback?code=${code}&tenant=t-acme`)).status).toBe(302);
    await client.request(`${stack.url}/_koogate/login?returnTo=%2F`);
    const again = await client.request(`${stack.url}/_koogate/callback?code=${code}&tenant=t-acme`);
    expect(again.status).toBe(401);
    expect(again.text).toContain('KOOGATE_GRANT_INVALID');
    expect(again.text).not.toContain(code);
  });

  test('a slow marketplace gives a bounded 503 page, not a hang', async () => {
    stack.sandbox.behaviour.tokenDelayMs = 5000;
    const client = new Client();
    await client.request(`${stack.url}/_koogate/login?returnTo=%2F`);
    const code = stack.sandbox.issueCode(DEMO_APP_ID, 't-acme', 'zhangwei');
    const res = await client.request(`${stack.url}/_koogate/callback?code=${code}&tenant=t-acme`);
    expect(res.status).toBe(503);
    expect(res.text).toContain('KOOGATE_MARKETPLACE_UNAVAILABLE');
  });

  test('a marketplace that rejects the client is a clear error page', async () => {
    stack.sandbox.behaviour.failToken = { status: 401, body: { error: 'invalid_client', error_description: 'bad client' } };
    const client = new Client();
    await client.request(`${stack.url}/_koogate/login?returnTo=%2F`);
    const res = await client.request(`${stack.url}/_koogate/callback?code=c&tenant=t-acme`);
    expect(res.status).toBe(502);
    expect(res.text).toContain('KOOGATE_CLIENT_REJECTED');
  });

  test('logging in again replaces the session: the old cookie is dead at once', async () => {
    const client = new Client();
    await login(client, stack.url, stack.sandbox, { userName: 'zhangwei' });
    const oldCookie = client.cookieHeader(stack.url);
    expect((await fetch(`${stack.url}/api/whoami`, { headers: { ...api, cookie: oldCookie } })).status).toBe(200);
    expect((await login(client, stack.url, stack.sandbox, { returnTo: '/', userName: 'lina', stopAtCallback: true })).at(-1)!.status).toBe(302);
    expect(client.cookieHeader(stack.url)).not.toBe(oldCookie);
    expect((await fetch(`${stack.url}/api/whoami`, { headers: { ...api, cookie: oldCookie } })).status).toBe(401);
    const who = await client.request(`${stack.url}/api/whoami`, { headers: api });
    expect(JSON.parse(who.text)).toMatchObject({ user: 'lina' });
  });

  test("health answers with koogate's version; readiness names the store", async () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(await (await fetch(`${stack.url}/_koogate/healthz`)).json()).toEqual({ status: 'ok', version });
    const ready = await fetch(`${stack.url}/_koogate/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', store: kind });
  });
});
