import type { MarketplaceUser } from '../../../src/core/identity';
import { SessionCache, type CachedSession } from '../../../src/sessions/session-cache';

const user = (tenantId: string, userName: string): MarketplaceUser => ({ tenantId, userName });

function entry(tenantId: string, userName: string, over: Partial<Omit<CachedSession, 'cachedAt'>> = {}): Omit<CachedSession, 'cachedAt'> {
  return {
    auth: { user: user(tenantId, userName), grantId: 'g', loginAt: 0, lastSeen: 0 },
    user: user(tenantId, userName),
    dueAt: 10_000,
    touchAt: 10_000,
    endsAt: 10_000,
    ...over,
  };
}

describe('SessionCache', () => {
  let now: number;
  const cache = (ttlMs = 1000, max = 100) => new SessionCache(ttlMs, max, () => now);
  beforeEach(() => {
    now = 0;
  });

  test('answers an entry within its time to live, then drops it', () => {
    const c = cache();
    c.put('s1', entry('t', 'a'));
    now = 999;
    expect(c.get('s1')?.user.userName).toBe('a');
    now = 1000;
    expect(c.get('s1')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  test.each([
    ['the token is due for renewal', { dueAt: 500 }],
    ['the idle window needs extending', { touchAt: 500 }],
    ['the session must end', { endsAt: 500 }],
  ])('an entry is not used once %s', (_why, over) => {
    const c = cache();
    c.put('s1', entry('t', 'a', over));
    now = 499;
    expect(c.get('s1')).toBeDefined();
    now = 500;
    expect(c.get('s1')).toBeUndefined();
  });

  test('a time to live of 0 caches nothing', () => {
    const c = cache(0);
    c.put('s1', entry('t', 'a'));
    expect(c.get('s1')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  test('invalidation: one session, one user of a tenant, or a whole tenant', () => {
    const c = cache();
    c.put('a1', entry('t1', 'a'));
    c.put('a2', entry('t1', 'a'));
    c.put('b1', entry('t1', 'b'));
    c.put('x1', entry('t2', 'a'));
    c.apply({ kind: 'session', sid: 'a1' });
    expect(['a1', 'a2', 'b1', 'x1'].filter((s) => c.get(s))).toEqual(['a2', 'b1', 'x1']);
    c.apply({ kind: 'user', tenantId: 't1', userName: 'a', ended: false });
    expect(['a2', 'b1', 'x1'].filter((s) => c.get(s))).toEqual(['b1', 'x1']);
    c.apply({ kind: 'tenant', tenantId: 't1', ended: true });
    expect(['b1', 'x1'].filter((s) => c.get(s))).toEqual(['x1']);
  });
});

const FAR = Number.MAX_SAFE_INTEGER;
const lruEntry = (userName = 'u', tenantId = 't', over: Partial<CachedSession> = {}): Omit<CachedSession, 'cachedAt'> => ({
  auth: { user: { tenantId, userName }, grantId: 'g', loginAt: 0, lastSeen: 0 },
  user: { tenantId, userName },
  dueAt: FAR,
  touchAt: FAR,
  endsAt: FAR,
  ...over,
});

describe('SessionCache: an LRU bounded by count, with a time limit', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => (now = 1_000_000));

  test('the least recently used entry goes first when full; a read makes an entry recent', () => {
    const cache = new SessionCache(60_000, 3, clock);
    cache.put('a', lruEntry());
    cache.put('b', lruEntry());
    cache.put('c', lruEntry());
    expect(cache.get('a')).toBeDefined();
    cache.put('d', lruEntry());
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
    expect(cache.get('d')).toBeDefined();
  });

  test('never holds more than its bound, whatever is written', () => {
    const cache = new SessionCache(60_000, 1000, clock);
    for (let i = 0; i < 50_000; i++) {
      cache.put(`s${i}`, lruEntry(`u${i}`));
      if (i % 7 === 0) cache.get(`s${i - 3}`);
    }
    expect(cache.size).toBe(1000);
    expect(cache.get('s49999')).toBeDefined();
    expect(cache.get('s0')).toBeUndefined();
  });

  test('an entry is unusable after the time limit, and after its due, touch or end time', () => {
    const cache = new SessionCache(1000, 100, clock);
    cache.put('ttl', lruEntry());
    cache.put('due', lruEntry('u', 't', { dueAt: now + 10 }));
    cache.put('touch', lruEntry('u', 't', { touchAt: now + 10 }));
    cache.put('ends', lruEntry('u', 't', { endsAt: now + 10 }));
    now += 10;
    expect(cache.get('due')).toBeUndefined();
    expect(cache.get('touch')).toBeUndefined();
    expect(cache.get('ends')).toBeUndefined();
    expect(cache.get('ttl')).toBeDefined();
    now += 990;
    expect(cache.get('ttl')).toBeUndefined();
  });

  test('expired entries are evicted even when the cache is far from full and they are never read again', () => {
    const cache = new SessionCache(1000, 100_000, clock);
    for (let i = 0; i < 5000; i++) cache.put(`old${i}`, lruEntry(`u${i}`));
    expect(cache.size).toBe(5000);
    now += 1000;
    cache.put('new', lruEntry());
    expect(cache.size).toBe(1);
    // Reads drop a few expired entries each, from the least recently used end.
    for (let i = 0; i < 10; i++) cache.put(`more${i}`, lruEntry());
    now += 1000;
    for (let i = 0; i < 6; i++) cache.get('absent');
    expect(cache.size).toBe(0);
  });

  test('a read keeps an entry alive in the LRU order but not past its time limit', () => {
    const cache = new SessionCache(1000, 2, clock);
    cache.put('a', lruEntry());
    now += 600;
    cache.put('b', lruEntry());
    expect(cache.get('a')).toBeDefined();
    now += 400;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBeDefined();
  });

});
