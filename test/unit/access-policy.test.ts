import { AccessControl, endRevokedSessions, mayLogIn } from '../../src/access/policy';
import type { AccessChange, AccessPolicy, SubscriptionAccess, UserAccess } from '../../src/core/access';

const T = 't-1';

/** A session layer that records what it was asked to end. */
function recordingSessions() {
  const calls: { tenantId: string; userName?: string }[] = [];
  return {
    calls,
    endSessions: async (f: { tenantId: string; userName?: string }) => {
      calls.push(f);
      return 1;
    },
  };
}

describe('mayLogIn', () => {
  test.each([
    ['authorized', null, false],
    ['authorized', { allowed: true }, true],
    ['authorized', { allowed: false }, false],
    ['tenant', null, true],
    ['tenant', { allowed: true }, true],
    ['tenant', { allowed: false }, false],
  ] as const)('policy %s, directory says %j → may log in: %s', (policy, access, expected) => {
    expect(mayLogIn(policy, access)).toBe(expected);
  });
});

describe('endRevokedSessions', () => {
  test('ends each revoked user, a removed tenant or credentials wholesale, nothing on updates', async () => {
    const sessions = recordingSessions();
    const run = (c: AccessChange) => endRevokedSessions(c, sessions);
    expect(await run({ kind: 'users-revoked', tenantId: T, userNames: ['a', 'b'] })).toBe(2);
    expect(await run({ kind: 'tenant-removed', tenantId: T })).toBe(1);
    expect(await run({ kind: 'credentials-removed', tenantId: 't-2' })).toBe(1);
    expect(await run({ kind: 'users-updated', tenantId: T, userNames: ['a'] })).toBe(0);
    expect(await run({ kind: 'subscription-inactive', tenantId: 't-3' })).toBe(1);
    expect(sessions.calls).toEqual([{ tenantId: T, userName: 'a' }, { tenantId: T, userName: 'b' }, { tenantId: T }, { tenantId: 't-2' }, { tenantId: 't-3' }]);
  });
});

describe('AccessControl', () => {
  const ACTIVE: SubscriptionAccess = { allowed: true };
  const directoryOf = (users: Record<string, UserAccess>, subscription: SubscriptionAccess = ACTIVE) => ({
    reads: [] as string[],
    async getUserAccess(tenantId: string, userName: string) {
      this.reads.push(`${tenantId}/${userName}`);
      return users[userName] ?? null;
    },
    async subscriptionOf(tenantId: string) {
      this.reads.push(`${tenantId} subscription`);
      return subscription;
    },
  });
  const control = (rule: AccessPolicy, users: Record<string, UserAccess> = {}, subscription: SubscriptionAccess = ACTIVE) => {
    const directory = directoryOf(users, subscription);
    const sessions = recordingSessions();
    const notices: unknown[] = [];
    const access = new AccessControl({ rule, directory, sessions, notify: async (msg) => void notices.push(msg) });
    return { access, directory, sessions, notices };
  };

  test('check: the directory decides for users it knows, with their role, whatever the rule', async () => {
    for (const rule of ['authorized', 'tenant'] as const) {
      const { access, directory } = control(rule, { ann: { allowed: true, role: 'admin' }, bob: { allowed: false, role: 'user' } });
      expect(await access.check(T, 'ann')).toEqual({ allowed: true, role: 'admin', known: true, subscription: ACTIVE });
      expect(await access.check(T, 'bob')).toEqual({ allowed: false, role: 'user', known: true, subscription: ACTIVE });
      expect(directory.reads).toEqual([`${T}/ann`, `${T} subscription`, `${T}/bob`, `${T} subscription`]);
    }
  });

  test('check: the rule decides for users the directory does not know', async () => {
    expect(await control('authorized').access.check(T, 'nobody')).toEqual({ allowed: false, role: undefined, known: false, subscription: ACTIVE });
    expect(await control('tenant').access.check(T, 'nobody')).toEqual({ allowed: true, role: undefined, known: false, subscription: ACTIVE });
    expect(control('tenant').access.rule).toBe('tenant');
  });

  test('check: a tenant whose subscriptions are all frozen or released keeps everyone out, whatever the directory says of them', async () => {
    const frozen: SubscriptionAccess = { allowed: false, status: 'frozen' };
    for (const rule of ['authorized', 'tenant'] as const) {
      const { access } = control(rule, { ann: { allowed: true, role: 'admin' } }, frozen);
      expect(await access.check(T, 'ann')).toEqual({ allowed: false, role: 'admin', known: true, subscription: frozen });
      expect(await access.check(T, 'nobody')).toMatchObject({ allowed: false, known: false });
      expect(await access.subscription(T)).toEqual(frozen);
    }
  });

  test('follow: a subscription that became inactive ends every session of the tenant', async () => {
    const { access, sessions, notices } = control('authorized');
    await access.follow({ kind: 'subscription-inactive', tenantId: T });
    expect(sessions.calls).toEqual([{ tenantId: T }]);
    expect(notices).toEqual([]);
  });

  test('follow: a revocation ends sessions and tells nobody of roles', async () => {
    const { access, sessions, notices } = control('authorized');
    await access.follow({ kind: 'users-revoked', tenantId: T, userNames: ['a'] });
    await access.follow({ kind: 'tenant-removed', tenantId: T });
    expect(sessions.calls).toEqual([{ tenantId: T, userName: 'a' }, { tenantId: T }]);
    expect(notices).toEqual([]);
  });

  test('follow: a role change ends nothing and tells every replica of each user', async () => {
    const { access, sessions, notices } = control('authorized');
    await access.follow({ kind: 'users-updated', tenantId: T, userNames: ['a', 'b'] });
    expect(sessions.calls).toEqual([]);
    expect(notices).toEqual([
      { kind: 'user', tenantId: T, userName: 'a', ended: false },
      { kind: 'user', tenantId: T, userName: 'b', ended: false },
    ]);
  });

  test('follow: a failing session store fails the call (the kit answer reports it, the retry finishes it)', async () => {
    const access = new AccessControl({
      rule: 'authorized',
      directory: directoryOf({}),
      sessions: { endSessions: async () => Promise.reject(new Error('store down')) },
      notify: async () => {},
    });
    await expect(access.follow({ kind: 'users-revoked', tenantId: T, userNames: ['a'] })).rejects.toThrow('store down');
  });
});
