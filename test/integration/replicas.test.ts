import type { Sandbox } from '../../src/sandbox/marketplace';
import { Client } from '../support/browserless-client';
import { login } from '../support/login';
import type { RedisServer } from '../support/redis';
import { startReplicaPair, type Replica, type ReplicaPair } from '../support/replica';
import { api } from '../support/stack';

/**
 * Two koogate processes on one Redis in front of one marketplace, as operators run it.
 * Redis keeps an append-only file here so that a restart loses nothing.
 */
describe('two replicas on one Redis', () => {
  let pair: ReplicaPair;
  let redis: RedisServer;
  let sandbox: Sandbox;
  let a: Replica;
  let b: Replica;
  const LEASE_MS = 300;

  beforeAll(async () => {
    pair = await startReplicaPair({
      redisArgs: ['--appendonly', 'yes', '--appendfsync', 'always'],
      env: { KOOGATE_RENEW_SKEW_SECONDS: '120', KOOGATE_RENEW_LOCK_LEASE_MS: String(LEASE_MS) },
    });
    ({ redis, sandbox, a, b } = pair);
  }, 60_000);

  afterAll(() => pair?.stop());

  beforeEach(() => {
    sandbox.behaviour.expiresIn = 7200;
    sandbox.behaviour.tokenDelayMs = 0;
    sandbox.resetStats();
  });

  /** Logs in through replica A and stops at the callback's redirect: no proxied request renews yet. */
  async function loginWithTokenDue(): Promise<Client> {
    sandbox.behaviour.expiresIn = 60; // inside the 120 s skew: due at once
    const client = new Client();
    const cb = (await login(client, a.url, sandbox, { returnTo: '/api/whoami', stopAtCallback: true })).at(-1)!;
    expect(cb.status).toBe(302);
    expect(cb.location).toBe(`${a.url}/api/whoami`);
    sandbox.behaviour.expiresIn = 7200; // the renewed token will not be due again
    sandbox.resetStats();
    return client;
  }

  async function storm(client: Client, n: number): Promise<number[]> {
    const cookie = client.cookieHeader(a.url);
    return Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const res = await fetch(`${i % 2 === 0 ? a.url : b.url}/api/whoami`, { headers: { ...api, cookie } });
        const body = (await res.json()) as { user?: string };
        return res.status === 200 && body.user === 'zhangwei' ? 200 : res.status;
      }),
    );
  }

  test('200 parallel requests across both replicas on a due session cause exactly one refresh grant', async () => {
    const client = await loginWithTokenDue();
    const statuses = await storm(client, 200);
    expect(statuses.filter((s) => s === 200)).toHaveLength(200);
    expect(sandbox.stats.refreshGrants).toBe(1);
    expect(sandbox.stats.failedGrants).toBe(0);
  });

  test('still exactly one grant when the marketplace takes longer than the lock lease', async () => {
    const client = await loginWithTokenDue();
    sandbox.behaviour.tokenDelayMs = LEASE_MS * 4;
    const statuses = await storm(client, 200);
    expect(statuses.filter((s) => s === 200)).toHaveLength(200);
    expect(sandbox.stats.refreshGrants).toBe(1);
    expect(sandbox.stats.tokenRequests).toBe(1);
  });

  test('with rotation, a used refresh token is never sent again', async () => {
    const client = await loginWithTokenDue();
    sandbox.behaviour.expiresIn = 60; // every renewal stays due
    for (let i = 0; i < 6; i++) {
      const res = await client.request(`${i % 2 === 0 ? a.url : b.url}/api/whoami`, { headers: api });
      expect(res.status).toBe(200);
    }
    expect(sandbox.stats.refreshGrants).toBe(6);
    // The sandbox kills each refresh token on use: any reuse would have been a failed grant.
    expect(sandbox.stats.failedGrants).toBe(0);
  });

  test('logout on replica A is seen by replica B on the next request', async () => {
    const client = await loginWithTokenDue();
    expect((await client.request(`${b.url}/api/whoami`, { headers: api })).status).toBe(200);
    const out = await client.request(`${a.url}/_koogate/logout`, { method: 'POST' });
    expect(out.status).toBe(303);
    // The browser dropped its cookie; a copy of it (another tab's) must be dead too.
    const res = await fetch(`${b.url}/api/whoami`, { headers: { ...api, cookie: `koogate.sid=${client.cookies(a.url).get('koogate.sid') ?? ''}` } });
    expect(res.status).toBe(401);
  });

  test('a copy of the session cookie (another tab) dies with the logout on any replica', async () => {
    const client = await loginWithTokenDue();
    const cookie = client.cookieHeader(a.url);
    await client.request(`${b.url}/_koogate/logout`, { method: 'POST' });
    for (const r of [a, b]) {
      const res = await fetch(`${r.url}/api/whoami`, { headers: { ...api, cookie } });
      expect(res.status).toBe(401);
    }
  });

  test('Redis down: 503 at once, never a crash or a hang; served again when Redis is back', async () => {
    // Logged in, but no proxied request yet: nothing of this session is cached on either replica.
    const client = await loginWithTokenDue();
    await redis.stop();
    for (const r of [a, b]) {
      const res = await client.request(`${r.url}/api/whoami`, { headers: api });
      expect(res.status).toBe(503);
      expect(JSON.parse(res.text)).toMatchObject({ code: 'KOOGATE_STORE_UNAVAILABLE' });
      expect((await fetch(`${r.url}/_koogate/readyz`)).status).toBe(503);
      expect((await fetch(`${r.url}/_koogate/healthz`)).status).toBe(200);
    }
    const page = await client.request(`${a.url}/me`);
    expect(page.status).toBe(503);
    expect(page.text).toContain('KOOGATE_STORE_UNAVAILABLE');
    await redis.start();
    for (const r of [a, b]) {
      // ioredis reconnects on its own schedule (at most 2 s apart): wait for readiness, bounded.
      let ready = false;
      for (let i = 0; i < 100 && !ready; i++) {
        ready = (await fetch(`${r.url}/_koogate/readyz`)).status === 200;
        if (!ready) await new Promise((t) => setTimeout(t, 100));
      }
      expect(ready).toBe(true);
      const res = await client.request(`${r.url}/api/whoami`, { headers: api });
      expect(res.status).toBe(200);
    }
  }, 60_000);
});
