import Redis from 'ioredis';
import session from 'express-session';
import type { Request } from 'express';
import { Sealer } from '../../src/crypto/sealed';
import { silentLogger } from '../../src/observability/logger';
import type { Stack } from '../../src/sandbox/stack';
import { LocalBus } from '../../src/sessions/invalidation';
import { SessionService } from '../../src/sessions/session-service';
import { MemoryStore } from '../../src/store/memory';
import { GrantStore } from '../../src/tokens/grant-store';
import { Client } from '../support/browserless-client';
import { login } from '../support/login';
import { startRedis, type RedisServer } from '../support/redis';
import { api, syncedStack } from '../support/stack';

const IDLE_S = 3600;

describe('session lifetimes and writes on Redis', () => {
  let redis: RedisServer;
  let stack: Stack;
  let spy: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    stack = await syncedStack({ redisUrl: redis.url, env: { KOOGATE_SESSION_IDLE_SECONDS: String(IDLE_S) } });
    spy = new Redis(redis.url);
  });
  afterAll(async () => {
    spy?.disconnect();
    await stack?.close();
    await redis?.dispose();
  });

  const sid = (client: Client) => decodeURIComponent(client.cookies(stack.url).get('koogate.sid')!).replace(/^s:/, '').replace(/\.[^.]+$/, '');

  async function writes(): Promise<number> {
    const info = await spy.info('commandstats');
    let n = 0;
    for (const m of info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) {
      if (['set', 'setex', 'psetex', 'eval', 'evalsha', 'exec', 'expire', 'pexpire', 'del', 'sadd', 'srem'].includes(m[1]!)) n += Number(m[2]);
    }
    return n;
  }

  test('cookie and Redis TTL follow the idle window', async () => {
    const client = new Client();
    const hops = await login(client, stack.url, stack.sandbox);
    const cb = hops.find((h) => h.url.includes('/_koogate/callback'))!;
    const setCookie = cb.headers.getSetCookie().find((c) => c.startsWith('koogate.sid='))!;
    const expires = Date.parse(/Expires=([^;]+)/i.exec(setCookie)![1]!);
    expect(Math.abs(expires - (Date.now() + IDLE_S * 1000))).toBeLessThan(60_000);
    const ttl = await spy.pttl(`koogate:sess:${sid(client)}`);
    expect(Math.abs(ttl - IDLE_S * 1000)).toBeLessThan(60_000);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
  });

  test('proxied requests of a live session write nothing to Redis', async () => {
    const client = new Client();
    await login(client, stack.url, stack.sandbox);
    const before = await writes();
    for (let i = 0; i < 20; i++) expect((await client.request(`${stack.url}/api/whoami`, { headers: api })).status).toBe(200);
    expect(await writes()).toBe(before);
  });

  test('ending a tenant\'s sessions ends them all, and only theirs', async () => {
    const acme1 = new Client();
    const acme2 = new Client();
    const globex = new Client();
    await login(acme1, stack.url, stack.sandbox, { userName: 'zhangwei' });
    await login(acme2, stack.url, stack.sandbox, { userName: 'lina' });
    await login(globex, stack.url, stack.sandbox, { tenantId: 't-globex', userName: stack.sandbox.tenants[1]!.users[0]!.userName });
    expect(await stack.koogate.sessions.endSessions({ tenantId: 't-acme' })).toBeGreaterThanOrEqual(2);
    expect((await acme1.request(`${stack.url}/api/whoami`, { headers: api })).status).toBe(401);
    expect((await acme2.request(`${stack.url}/api/whoami`, { headers: api })).status).toBe(401);
    expect((await globex.request(`${stack.url}/api/whoami`, { headers: api })).status).toBe(200);
    expect(await spy.exists(`koogate:sess:${sid(acme1)}`)).toBe(0);
  });

  test('ending one user\'s sessions ends every tab of theirs', async () => {
    const tab1 = new Client();
    const tab2 = new Client();
    const other = new Client();
    await login(tab1, stack.url, stack.sandbox, { userName: 'bob' });
    await login(tab2, stack.url, stack.sandbox, { userName: 'bob' });
    await login(other, stack.url, stack.sandbox, { userName: 'lina' });
    expect(await stack.koogate.sessions.endSessions({ tenantId: 't-acme', userName: 'bob' })).toBe(2);
    expect((await tab1.request(`${stack.url}/api/whoami`, { headers: api })).status).toBe(401);
    expect((await tab2.request(`${stack.url}/api/whoami`, { headers: api })).status).toBe(401);
    expect((await other.request(`${stack.url}/api/whoami`, { headers: api })).status).toBe(200);
  });
});

describe('SessionService lifetimes on a moving clock', () => {
  let clock = 1_800_000_000_000;
  const now = () => clock;
  const store = new MemoryStore(now);
  const grants = new GrantStore(store, Sealer.fromSecrets(['lifetimes-test-secret-0123456789abcdef']), { absoluteMs: 10 * 3600_000, refreshTokenMs: 30 * 86_400_000, now });
  const sessions = new SessionService(store, new session.MemoryStore(), grants, { idleMs: 3600_000, absoluteMs: 10 * 3600_000, now }, silentLogger, new LocalBus());
  const user = { tenantId: 't', userName: 'u' };

  function fakeReq(): Request {
    return { sessionID: 'sid-1', session: { cookie: { maxAge: 0 } } } as unknown as Request;
  }

  test('idle timeout, sparse idle extension and the absolute cap', async () => {
    const grant = await grants.create('t', { accessToken: 'a', refreshToken: 'r', expiresAt: clock + 7200_000 });
    const req = fakeReq();
    await sessions.start(req, user, grant);
    const auth = req.session.auth!;
    expect(req.session.cookie.maxAge).toBe(3600_000);
    expect(sessions.idleEnded(auth)).toBeNull();

    clock += 60_000; // under a tenth of the idle window: nothing to write
    expect(sessions.extend(auth, grant)).toBeNull();
    expect(auth.lastSeen).toBe(clock - 60_000);
    expect(sessions.touchAt(auth)).toBe(clock - 60_000 + 300_000); // a tenth of the window, at most 5 minutes

    clock += 300_000; // past the threshold: the window moves, the cookie with it
    expect(sessions.extend(auth, grant)).toBe(3600_000);
    expect(auth.lastSeen).toBe(clock);

    clock += 3600_001;
    expect(sessions.idleEnded(auth)).toBe('idle timeout');

    // Near the absolute end the cookie gets only what is left.
    clock = grant.createdAt + 10 * 3600_000 - 1000;
    auth.lastSeen = clock - 400_000;
    expect(sessions.extend(auth, grant)).toBe(1000);
    expect(sessions.lifetimeEnded(grant)).toBeNull();
    clock += 1000;
    expect(sessions.lifetimeEnded(grant)).toBe('session lifetime reached');
  });
});
