import type { Stack } from '../../src/sandbox/stack';
import { Client } from '../support/browserless-client';
import { login } from '../support/login';
import { startRedis, type RedisServer } from '../support/redis';
import { api, syncedStack } from '../support/stack';

/** "Sign out on all devices": the logout confirmation's second button ends every session of that user. */
describe('sign out on all devices (Redis)', () => {
  let redis: RedisServer;
  let stack: Stack;
  beforeAll(async () => {
    redis = await startRedis();
    stack = await syncedStack({ redisUrl: redis.url });
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.dispose();
  });
  const whoami = async (c: Client) => (await c.request(`${stack.url}/api/whoami`, { headers: api })).status;
  const logout = (c: Client, scope?: string) =>
    c.follow(`${stack.url}/_koogate/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: stack.url },
      body: scope === undefined ? '' : new URLSearchParams({ scope }).toString(),
    });

  test('the confirmation page offers both: this browser, or all devices', async () => {
    const c = new Client();
    await login(c, stack.url, stack.sandbox);
    const page = await c.request(`${stack.url}/_koogate/logout`, { headers: { 'accept-language': 'en' } });
    expect(page.text).toContain('name="scope" value="this"');
    expect(page.text).toContain('name="scope" value="all"');
    expect(page.text).toContain('Sign out on all devices');
  });

  test('scope=all ends the user’s other sessions too, then the marketplace session; other users keep theirs', async () => {
    const [laptop, phone, tablet, colleague] = [new Client(), new Client(), new Client(), new Client()];
    for (const c of [laptop, phone, tablet]) await login(c, stack.url, stack.sandbox);
    await login(colleague, stack.url, stack.sandbox, { userName: 'lina' });
    const logoutsBefore = stack.sandbox.stats.logouts;
    const hops = await logout(laptop, 'all');
    expect(hops[0]!.status).toBe(303);
    expect(hops[0]!.location).toContain(`${stack.sandbox.domainOf('t-acme')}/api/v1/logout?redirect_url=`);
    expect(stack.sandbox.stats.logouts).toBe(logoutsBefore + 1);
    for (const c of [laptop, phone, tablet]) expect(await whoami(c)).toBe(401);
    expect(await whoami(colleague)).toBe(200);
    expect(await stack.koogate.sessions.list({ tenantId: 't-acme', userName: 'zhangwei' })).toEqual([]);
  });

  test('scope=this (and no scope, as before) ends only this browser’s session', async () => {
    const [a, b, c] = [new Client(), new Client(), new Client()];
    for (const x of [a, b, c]) await login(x, stack.url, stack.sandbox);
    await logout(a, 'this');
    expect([await whoami(a), await whoami(b), await whoami(c)]).toEqual([401, 200, 200]);
    await logout(b);
    expect([await whoami(b), await whoami(c)]).toEqual([401, 200]);
  });

  test('an unknown scope, or a cross-site post, ends nothing', async () => {
    const [a, b] = [new Client(), new Client()];
    for (const x of [a, b]) await login(x, stack.url, stack.sandbox);
    for (const scope of ['everything', 'all\r\n', 'ALL']) {
      const res = await a.request(`${stack.url}/_koogate/logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: stack.url },
        body: new URLSearchParams({ scope }).toString(),
      });
      expect(res.status).toBe(400);
    }
    const cross = await a.request(`${stack.url}/_koogate/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: 'scope=all',
    });
    expect(cross.status).toBe(403);
    expect([await whoami(a), await whoami(b)]).toEqual([200, 200]);
  });
});
