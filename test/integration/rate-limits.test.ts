import { createLogger } from '../../src/observability/logger';
import type { Stack } from '../../src/sandbox/stack';
import { Client } from '../support/browserless-client';
import { rawRedis } from '../support/kit';
import { startRedis, type RedisServer } from '../support/redis';
import { startReplicaPair, type ReplicaPair } from '../support/replica';
import { api, syncedStack } from '../support/stack';
import { eventually } from '../support/webhook-receiver';

/**
 * Per-address rate limits shared through Redis: two replicas count together, an address over the limit
 * gets 429 with a Retry-After that matches the store's window, a page or JSON in the client's language;
 * with Redis down requests pass and the log says so.
 */
const nav = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
const API_TOKEN = 'a'.repeat(40);

describe('rate limits across two replicas', () => {
  let pair: ReplicaPair;
  beforeAll(async () => {
    pair = await startReplicaPair({
      env: { KOOGATE_RATE_LIMIT_LOGIN: '5/60', KOOGATE_RATE_LIMIT_API: '4/120', KOOGATE_API_TOKEN: API_TOKEN, KOOGATE_TRUST_PROXY: 'loopback' },
    });
  }, 60_000);
  afterAll(() => pair?.stop());
  const login = (url: string, headers: Record<string, string> = {}) => new Client().request(`${url}/_koogate/login?returnTo=%2F`, { headers: { ...nav, ...headers } });

  test('the login limit is shared: 3 at A and 2 at B, then 429 at either, with the store’s Retry-After', async () => {
    const ip = { 'x-forwarded-for': '198.51.100.7' };
    for (const url of [pair.a.url, pair.b.url, pair.a.url, pair.b.url, pair.a.url]) expect((await login(url, ip)).status).toBe(302);
    const refused = await login(pair.b.url, { ...ip, 'accept-language': 'en;q=0.5' });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    const redis = await rawRedis(pair.redis.url);
    const ttlMs = await redis.pttl('koogate:rl:login:198.51.100.7');
    redis.disconnect();
    // What is left of the store's 60 s window, rounded up: no later, no sooner.
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(Math.abs(retryAfter - Math.ceil(ttlMs / 1000))).toBeLessThanOrEqual(1);
    expect(refused.headers.get('content-type')).toContain('text/html');
    expect(refused.text).toContain('KOOGATE_RATE_LIMITED');
    expect(refused.text).toContain('Too many requests');
    // The callback shares the login bucket: each bogus code would cost a token exchange.
    expect((await new Client().request(`${pair.a.url}/_koogate/callback?code=x&tenant=t-acme`, { headers: { ...nav, ...ip } })).status).toBe(429);
    // Another address is not affected; a forged X-Forwarded-For from an untrusted hop would not be believed.
    expect((await login(pair.a.url, { 'x-forwarded-for': '198.51.100.8' })).status).toBe(302);
  });

  test('IPv6 clients count by their /64: stepping through one block’s addresses meets the limit; the next block does not', async () => {
    const from = (address: string) => ({ 'x-forwarded-for': address });
    const block = ['2001:db8:7:7::1', '2001:db8:7:7::2', '2001:db8:7:7:ffff::3', '2001:db8:0007:0007:0:0:0:4', '2001:DB8:7:7:abcd::5'];
    for (const [i, address] of block.entries()) expect((await login(i % 2 ? pair.b.url : pair.a.url, from(address))).status).toBe(302);
    expect((await login(pair.a.url, from('2001:db8:7:7:1234:5678:9abc:def0'))).status).toBe(429);
    expect((await login(pair.b.url, from('2001:db8:7:8::1'))).status).toBe(302);
    const redis = await rawRedis(pair.redis.url);
    const keys = (await redis.keys('koogate:rl:login:2001:db8:7:*')).sort();
    redis.disconnect();
    expect(keys).toEqual(['koogate:rl:login:2001:db8:7:7::/64', 'koogate:rl:login:2001:db8:7:8::/64']);
  });

  test('a refused request is a page in Chinese by default, JSON for an API client', async () => {
    const ip = { 'x-forwarded-for': '198.51.100.9' };
    for (let i = 0; i < 5; i++) await login(pair.a.url, ip);
    const zh = await login(pair.b.url, { ...ip, 'accept-language': 'en;q=0.1, zh-CN;q=0.9' });
    expect(zh.status).toBe(429);
    expect(zh.text).toContain('请求过于频繁');
    const json = await new Client(api).request(`${pair.a.url}/_koogate/login`, { headers: { ...ip, accept: 'application/json' } });
    expect(json.status).toBe(429);
    expect(JSON.parse(json.text)).toMatchObject({ error: 'rate_limited', code: 'KOOGATE_RATE_LIMITED' });
    expect(Number(json.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  test('the directory API: wrong and right tokens count alike, so guessing is bounded; JSON 429', async () => {
    const ip = { 'x-forwarded-for': '203.0.113.50' };
    const call = (url: string, token: string) => fetch(`${url}/_koogate/api/tenants`, { headers: { ...ip, authorization: `Bearer ${token}` } });
    expect((await call(pair.a.url, 'guess-1')).status).toBe(401);
    expect((await call(pair.b.url, 'guess-2')).status).toBe(401);
    expect((await call(pair.a.url, API_TOKEN)).status).toBe(200);
    expect((await call(pair.b.url, 'guess-3')).status).toBe(401);
    const over = await call(pair.a.url, API_TOKEN);
    expect(over.status).toBe(429);
    expect(await over.json()).toMatchObject({ code: 'KOOGATE_RATE_LIMITED' });
    const retry = Number(over.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(60);
    expect(retry).toBeLessThanOrEqual(120);
  });

  test('the defaults are far above an office behind one address: the kit limit is not even near', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${pair.a.url}/produceAPI/v2/tenantSync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(res.status).toBe(200);
    }
  });
});

describe('rate limits with the store down', () => {
  let redis: RedisServer;
  let stack: Stack;
  const lines: string[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    stack = await syncedStack({ redisUrl: redis.url, log: createLogger('info', (l) => lines.push(l)), env: { KOOGATE_RATE_LIMIT_LOGIN: '2/60' } });
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.dispose();
  });

  test('requests pass (not blocked, not crashed) and the log says so once; limits return with the store', async () => {
    await redis.stop();
    for (let i = 0; i < 5; i++) {
      const res = await new Client().request(`${stack.url}/_koogate/login?returnTo=%2F`);
      expect(res.status).toBe(302);
    }
    const warned = lines.filter((l) => l.includes('rate limits not applied: the store is unreachable; requests pass'));
    expect(warned).toHaveLength(1);
    await redis.start();
    await eventually(() => stack.koogate.store.ping().then(() => true, () => false), 'koogate reconnects to the store');
    let status = 0;
    for (let i = 0; i < 10 && status !== 429; i++) status = (await new Client().request(`${stack.url}/_koogate/login?returnTo=%2F`)).status;
    expect(status).toBe(429);
    expect(lines.some((l) => l.includes('rate limits applied again'))).toBe(true);
  });
});
