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

  test('full: the oldest tenth goes to make room', () => {
    const c = cache(1000, 20);
    for (let i = 0; i < 20; i++) c.put(`s${i}`, entry('t', `u${i}`));
    c.put('new', entry('t', 'new'));
    expect(c.size).toBe(19);
    expect(c.get('s0')).toBeUndefined();
    expect(c.get('s1')).toBeUndefined();
    expect(c.get('s2')).toBeDefined();
    expect(c.get('new')).toBeDefined();
  });
});
