import { parseExpireTime } from '../../../src/basic/activities';
import { newInstanceRecord, refresh, release, setStatus, unseenInstance, upgrade } from '../../../src/basic/lifecycle';
import { BasicFailure } from '../../../src/basic/result';
import { subscriptionAccess } from '../../../src/directory/subscription';
import type { InstanceRecord } from '../../../src/directory/types';

const T0 = '2026-12-01T00:00:00.000Z';
const T1 = '2026-12-02T00:00:00.000Z';
const fresh = (): InstanceRecord => newInstanceRecord({ orderId: 'o', orderLineId: 'l', businessId: 'i-1', testFlag: 0 }, T0);

describe('parseExpireTime', () => {
  test.each([
    ['20271231235959', '2027-12-31T23:59:59.000Z'],
    ['20271231235959999', '2027-12-31T23:59:59.999Z'],
    ['20280229000000', '2028-02-29T00:00:00.000Z'],
  ])('%s → %s (UTC)', (s, iso) => expect(parseExpireTime(s)).toBe(iso));
  test.each(['2027123123595', '202712312359591', '20271301000000', '20270230000000', '20271231246000', '2027-12-31', '２０２７１２３１２３５９５９', ''])('%s is no time', (s) =>
    expect(parseExpireTime(s)).toBeNull(),
  );
});

describe('instance lifecycle', () => {
  test('a new instance is active and provisioned, a trial when trialFlag says so', () => {
    expect(fresh()).toMatchObject({ status: 'active', provisioned: true, trial: false, orders: [{ orderId: 'o', orderLineId: 'l', via: 'newInstance', at: T0 }] });
    expect(newInstanceRecord({ orderId: 'o', orderLineId: 'l', businessId: 'i', trialFlag: 1, testFlag: 1 }, T0).trial).toBe(true);
  });

  test('refresh: renewal and trial-to-formal restore a frozen instance; the other scenes move the end only; a repeat changes nothing', () => {
    const frozen = { ...fresh(), status: 'frozen' as const, trial: true };
    const body = (scene: 'RENEWAL' | 'TRIAL_TO_FORMAL' | 'UNSUBSCRIBE_RENEWAL_PERIOD' | 'RENEWAL_CHANGE') => ({ scene, orderId: 'r', orderLineId: 'rl', instanceId: 'i-1', expireTime: '2027-01-01T00:00:00.000Z', testFlag: 0 as const });
    expect(refresh(body('RENEWAL'))(frozen, T1)).toMatchObject({ status: 'active', trial: true, expireTime: '2027-01-01T00:00:00.000Z', updatedAt: T1 });
    expect(refresh(body('TRIAL_TO_FORMAL'))(frozen, T1)).toMatchObject({ status: 'active', trial: false });
    expect(refresh(body('UNSUBSCRIBE_RENEWAL_PERIOD'))(frozen, T1)).toMatchObject({ status: 'frozen' });
    expect(refresh(body('RENEWAL_CHANGE'))(frozen, T1)).toMatchObject({ status: 'frozen' });
    const once = refresh(body('RENEWAL'))(fresh(), T1)!;
    expect(refresh(body('RENEWAL'))(once, '2026-12-03T00:00:00.000Z')).toBeNull();
  });

  test('status: freeze and unfreeze, no change when already so; a released instance stays released', () => {
    const frozen = setStatus({ instanceId: 'i-1', status: 'FREEZE', testFlag: 0 })(fresh(), T1)!;
    expect(frozen.status).toBe('frozen');
    expect(setStatus({ instanceId: 'i-1', status: 'FREEZE', testFlag: 0 })(frozen, T1)).toBeNull();
    expect(setStatus({ instanceId: 'i-1', status: 'UNFREEZE', testFlag: 0 })(frozen, T1)!.status).toBe('active');
    const gone = release({ instanceId: 'i-1', testFlag: 0 })(fresh(), T1)!;
    expect(setStatus({ instanceId: 'i-1', status: 'FREEZE', testFlag: 0 })(gone, T1)).toBeNull();
    expect(() => setStatus({ instanceId: 'i-1', status: 'UNFREEZE', testFlag: 0 })(gone, T1)).toThrow(BasicFailure);
    expect(() => upgrade({ instanceId: 'i-1', orderId: 'u', orderLineId: 'ul', testFlag: 0 })(gone, T1)).toThrow(BasicFailure);
  });

  test('calls about an unseen instance start a record of their own, not provisioned', () => {
    expect(setStatus({ instanceId: 'x', status: 'FREEZE', testFlag: 1 })(null, T0)).toMatchObject({ instanceId: 'x', status: 'frozen', provisioned: false, testFlag: 1, orders: [] });
    expect(release({ instanceId: 'x', orderId: 'o', testFlag: 0 })(null, T0)).toMatchObject({ status: 'released', orders: [{ orderId: 'o', orderLineId: '', via: 'releaseInstance' }] });
    expect(unseenInstance('x', 0, T0)).toMatchObject({ status: 'active', expireTime: null });
  });

  test('upgrade records the new order once on the same instance', () => {
    const up = upgrade({ instanceId: 'i-1', orderId: 'u', orderLineId: 'ul', testFlag: 0 });
    const once = up(fresh(), T1)!;
    expect(once.orders.map((o) => o.via)).toEqual(['newInstance', 'upgradeInstance']);
    expect(up(once, T1)).toBeNull();
  });
});

describe('subscriptionAccess', () => {
  const rec = (status: InstanceRecord['status']) => ({ ...fresh(), status });
  test('no linked instance, an active one, or one without a record: in', () => {
    expect(subscriptionAccess([], [])).toEqual({ allowed: true });
    expect(subscriptionAccess(['a', 'b'], [rec('frozen'), rec('active')])).toEqual({ allowed: true });
    expect(subscriptionAccess(['a', 'b'], [rec('frozen'), null])).toEqual({ allowed: true });
  });
  test('all frozen or released: out, released only when every one is', () => {
    expect(subscriptionAccess(['a', 'b'], [rec('frozen'), rec('released')])).toEqual({ allowed: false, status: 'frozen' });
    expect(subscriptionAccess(['a'], [rec('released')])).toEqual({ allowed: false, status: 'released' });
  });
});
