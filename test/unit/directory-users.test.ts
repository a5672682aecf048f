import { accessOf } from '../../src/directory/access';
import type { UserRecord } from '../../src/directory/types';
import { planAuthSync, type AuthSyncChange, type UserEntry } from '../../src/directory/users';

const T = 't-1';
const NOW = '2025-01-01T00:00:00.000Z';

const change = (flag: AuthSyncChange['flag'], users: UserEntry[]): AuthSyncChange => ({ instanceId: 'i-1', tenantId: T, appId: 'app-1', flag, testFlag: 0, users });
const known = (userName: string, over: Partial<UserRecord> = {}): UserRecord => ({
  tenantId: T,
  userName,
  name: `Name ${userName}`,
  orgCode: 'o',
  role: 'user',
  enabled: true,
  authorized: true,
  appId: 'app-1',
  instanceId: 'i-1',
  testFlag: 0,
  updatedAt: 'earlier',
  ...over,
});
const entry = (userName: string, over: Partial<UserEntry> = {}): UserEntry => ({ userName, name: `Name ${userName}`, orgCode: 'o', role: 'user', enabled: true, ...over });
const current = (...users: UserRecord[]) => new Map(users.map((u) => [u.userName, u]));

describe('planAuthSync', () => {
  test('add creates authorized users; an add that changes nothing writes nothing', () => {
    const plan = planAuthSync(change(1, [entry('new'), entry('same')]), current(known('same')), NOW);
    expect(plan.counts).toEqual({ created: 1, updated: 0, unchanged: 1, deleted: 0, absent: 0 });
    expect(plan.ops).toEqual([
      { op: 'set', key: 'dir:user:t-1:new', value: JSON.stringify({ ...known('new'), updatedAt: NOW }) },
      { op: 'sadd', key: 'dir:users:t-1', member: 'new' },
    ]);
    expect(plan.revoked).toEqual([]);
    expect(plan.updated).toEqual([]);
  });

  test('a role change of a known user is an update; a disable is a revocation, even when already disabled', () => {
    const plan = planAuthSync(
      change(2, [entry('promoted', { role: 'admin' }), entry('disabled', { enabled: false }), entry('still-off', { enabled: false })]),
      current(known('promoted'), known('disabled'), known('still-off', { enabled: false })),
      NOW,
    );
    expect(plan.updated).toEqual(['promoted']);
    expect(plan.revoked).toEqual(['disabled', 'still-off']);
    expect(plan.counts).toMatchObject({ updated: 2, unchanged: 1 });
  });

  test('cancel keeps the user unauthorized with their fields; delete removes them; both revoke every name', () => {
    const cancel = planAuthSync(change(3, [{ userName: 'a' }, { userName: 'unknown' }]), current(known('a', { role: 'admin', email: 'a@x' })), NOW);
    expect(cancel.revoked).toEqual(['a', 'unknown']);
    const stored = JSON.parse((cancel.ops[0] as { value: string }).value) as UserRecord;
    expect(stored).toMatchObject({ userName: 'a', role: 'admin', email: 'a@x', authorized: false, enabled: true });
    expect(cancel.counts).toMatchObject({ updated: 1, created: 1 });

    const del = planAuthSync(change(0, [{ userName: 'a' }, { userName: 'unknown' }]), current(known('a')), NOW);
    expect(del.revoked).toEqual(['a', 'unknown']);
    expect(del.ops).toEqual([
      { op: 'del', key: 'dir:user:t-1:a' },
      { op: 'srem', key: 'dir:users:t-1', member: 'a' },
    ]);
    expect(del.counts).toMatchObject({ deleted: 1, absent: 1 });
  });

  test('modify keeps a cancelled user cancelled; add authorizes them again', () => {
    const cancelled = current(known('c', { authorized: false }));
    const mod = planAuthSync(change(2, [entry('c', { role: 'admin' })]), cancelled, NOW);
    expect(JSON.parse((mod.ops[0] as { value: string }).value)).toMatchObject({ authorized: false, role: 'admin' });
    expect(mod.revoked).toEqual(['c']);
    const add = planAuthSync(change(1, [entry('c')]), cancelled, NOW);
    expect(JSON.parse((add.ops[0] as { value: string }).value)).toMatchObject({ authorized: true });
    expect(add.revoked).toEqual([]);
    // Authorized again is a change of access for a known user.
    expect(add.updated).toEqual(['c']);
  });

  test('modify replaces optional fields: one the entry leaves out is gone', () => {
    const plan = planAuthSync(change(2, [entry('m')]), current(known('m', { email: 'm@x', mobile: '1' })), NOW);
    const stored = JSON.parse((plan.ops[0] as { value: string }).value) as UserRecord;
    expect(stored).not.toHaveProperty('email');
    expect(stored).not.toHaveProperty('mobile');
  });

  test('a record stored with its fields in another order is still "unchanged"', () => {
    const rec = known('o');
    const shuffled = Object.fromEntries(Object.entries(rec).reverse()) as unknown as UserRecord;
    expect(planAuthSync(change(1, [entry('o')]), current(shuffled), NOW).ops).toEqual([]);
  });
});

describe('accessOf', () => {
  test('allowed only when authorized and enabled', () => {
    expect(accessOf(known('a'))).toEqual({ allowed: true, role: 'user' });
    expect(accessOf(known('a', { enabled: false }))).toEqual({ allowed: false, role: 'user' });
    expect(accessOf(known('a', { authorized: false, role: 'admin' }))).toEqual({ allowed: false, role: 'admin' });
  });
});
