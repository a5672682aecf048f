import type { InstanceOrder, InstanceRecord, InstanceStatus } from '../directory/types';
import type { ActivityBody } from './activities';
import { BASIC_RESULT, BasicFailure } from './result';

/*
 * What each activity does to an instance record, as pure functions of the current record (null: koogate
 * has none) and the time. They return null when the record would not change, so a retried call writes
 * nothing. A call about an instance koogate has not seen (it came out of order, or the order is older
 * than koogate) starts a record of its own, so a kit sync that links it later gets the right access.
 */

/** A record for an instance known only from a call about it. */
export function unseenInstance(instanceId: string, testFlag: number, now: string): InstanceRecord {
  return { instanceId, orders: [], status: 'active', expireTime: null, trial: false, testFlag, provisioned: false, createdAt: now, updatedAt: now };
}

export function newInstanceRecord(b: ActivityBody<'newInstance'>, now: string): InstanceRecord {
  return {
    instanceId: b.businessId,
    orders: [{ orderId: b.orderId, orderLineId: b.orderLineId, via: 'newInstance', at: now }],
    status: 'active',
    expireTime: null,
    trial: b.trialFlag === 1,
    testFlag: b.testFlag,
    provisioned: true,
    createdAt: now,
    updatedAt: now,
  };
}

function withOrder(orders: InstanceOrder[], order: InstanceOrder): InstanceOrder[] {
  const same = (o: InstanceOrder) => o.orderId === order.orderId && o.orderLineId === order.orderLineId && o.via === order.via && o.scene === order.scene;
  return orders.some(same) ? orders : [...orders, order];
}

/** The next record, or null when nothing but the time would change. */
function changed(current: InstanceRecord | null, next: InstanceRecord): InstanceRecord | null {
  if (!current) return next;
  const { updatedAt: _a, ...was } = current;
  const { updatedAt: _b, ...is } = next;
  return JSON.stringify(was) === JSON.stringify(is) ? null : next;
}

function notReleased(current: InstanceRecord, what: string): void {
  if (current.status === 'released') throw new BasicFailure(BASIC_RESULT.noInstance, `instance was released; it cannot ${what}`);
}

export const refresh =
  (b: ActivityBody<'refreshInstance'>) =>
  (current: InstanceRecord | null, now: string): InstanceRecord | null => {
    const base = current ?? unseenInstance(b.instanceId, b.testFlag, now);
    notReleased(base, 'be renewed');
    // A renewal and a trial's conversion give the subscription back; the other scenes move its end only.
    const restores = b.scene === 'RENEWAL' || b.scene === 'TRIAL_TO_FORMAL';
    const status: InstanceStatus = restores ? 'active' : base.status;
    return changed(current, {
      ...base,
      orders: withOrder(base.orders, { orderId: b.orderId, orderLineId: b.orderLineId, via: 'refreshInstance', scene: b.scene, at: now }),
      status,
      expireTime: b.expireTime,
      trial: b.scene === 'TRIAL_TO_FORMAL' ? false : base.trial,
      productId: b.productId ?? base.productId,
      updatedAt: now,
    });
  };

export const setStatus =
  (b: ActivityBody<'updateInstanceStatus'>) =>
  (current: InstanceRecord | null, now: string): InstanceRecord | null => {
    const base = current ?? unseenInstance(b.instanceId, b.testFlag, now);
    if (base.status === 'released') {
      // Freezing what is gone changes nothing; bringing it back cannot be done.
      if (b.status === 'FREEZE') return current ? null : { ...base, status: 'released' };
      throw new BasicFailure(BASIC_RESULT.noInstance, 'instance was released; it cannot be unfrozen');
    }
    return changed(current, { ...base, status: b.status === 'FREEZE' ? 'frozen' : 'active', updatedAt: now });
  };

export const release =
  (b: ActivityBody<'releaseInstance'>) =>
  (current: InstanceRecord | null, now: string): InstanceRecord | null => {
    const base = current ?? unseenInstance(b.instanceId, b.testFlag, now);
    const orders = b.orderId ? withOrder(base.orders, { orderId: b.orderId, orderLineId: b.orderLineId ?? '', via: 'releaseInstance', at: now }) : base.orders;
    return changed(current, { ...base, orders, status: 'released', updatedAt: now });
  };

export const upgrade =
  (b: ActivityBody<'upgradeInstance'>) =>
  (current: InstanceRecord | null, now: string): InstanceRecord | null => {
    const base = current ?? unseenInstance(b.instanceId, b.testFlag, now);
    notReleased(base, 'be upgraded');
    return changed(current, { ...base, orders: withOrder(base.orders, { orderId: b.orderId, orderLineId: b.orderLineId, via: 'upgradeInstance', at: now }), updatedAt: now });
  };
