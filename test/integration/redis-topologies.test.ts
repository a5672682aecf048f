import type { Stack } from '../../src/sandbox/stack';
import { Client } from '../support/browserless-client';
import { login } from '../support/login';
import { startCluster, startSentinel, type HaRedis } from '../support/redis-ha';
import { api, syncedStack } from '../support/stack';

/** koogate on the Redis topologies operators run besides a single server: Sentinel and Cluster. */
describe.each([
  ['Sentinel', startSentinel],
  ['Cluster', startCluster],
] as const)('koogate on Redis %s', (_name, start) => {
  let redis: HaRedis;
  let stack: Stack;

  beforeAll(async () => {
    redis = await start();
    stack = await syncedStack({ env: redis.env });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
  });

  test('kit sync, login, renewal and logout work, and readiness names Redis', async () => {
    expect(await (await fetch(`${stack.url}/_koogate/readyz`)).json()).toEqual({ status: 'ready', store: 'redis' });
    expect(await stack.koogate.directory.getTenant('t-acme')).toMatchObject({ tenantId: 't-acme' });
    stack.sandbox.behaviour.expiresIn = 60; // renewed on every request (default skew is 120 s)
    const client = new Client();
    await login(client, stack.url, stack.sandbox);
    const who = await client.request(`${stack.url}/api/whoami`, { headers: api });
    expect(JSON.parse(who.text)).toMatchObject({ user: 'zhangwei', tenant: 't-acme' });
    expect(stack.sandbox.stats.refreshGrants).toBeGreaterThanOrEqual(2);
    expect(stack.sandbox.stats.failedGrants).toBe(0);
    expect(await stack.koogate.sessions.endSessions({ tenantId: 't-acme', userName: 'zhangwei' })).toBe(1);
    expect((await client.request(`${stack.url}/api/whoami`, { headers: api })).status).toBe(401);
  });
});
