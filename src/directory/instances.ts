import type { KeyValueStore, WriteOp } from '../store/store';
import { INSTANCES, instanceKey, instanceTenantsKey, orderKey } from './keys';
import { pageOfKeys, sortKeys, type Page, type PageRequest } from './page';
import type { InstanceRecord, TenantId } from './types';

/** A change a caller computes from the current record; `null` changes nothing. */
export type InstanceUpdate = (current: InstanceRecord | null, now: string) => InstanceRecord | null;

/** What update did: the record as it now stands (null when there is none) and whether it was written. */
export interface InstanceUpdated {
  record: InstanceRecord | null;
  written: boolean;
}

/** How often a compare-and-set update is tried again when another writer got there first. */
const MAX_ATTEMPTS = 8;

/**
 * Instance records (basic interfaces) in the store. Every write is one guarded step (store.atomicIf): a
 * newInstance claims its order once however many replicas get the retries at once, and an update replaces
 * the record only while it is still the one it was computed from, so concurrent writers never lose one
 * another's change.
 */
export class Instances {
  constructor(
    private readonly store: KeyValueStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(instanceId: string): Promise<InstanceRecord | null> {
    return parse(await this.store.get(instanceKey(instanceId)));
  }

  async getMany(instanceIds: readonly string[]): Promise<(InstanceRecord | null)[]> {
    return (await this.store.mget(instanceIds.map(instanceKey))).map(parse);
  }

  async list(page: PageRequest): Promise<Page<InstanceRecord>> {
    const ids = sortKeys(await this.store.sMembers(INSTANCES));
    const { keys, total, next } = pageOfKeys(ids, page);
    const records = await this.getMany(keys);
    return { items: records.filter((r): r is InstanceRecord => r !== null), total, next };
  }

  /** The instanceId an order was given, or null when newInstance never claimed it. */
  async instanceOfOrder(orderId: string, orderLineId: string): Promise<string | null> {
    return this.store.get(orderKey(orderId, orderLineId));
  }

  /**
   * newInstance: the order gets `record` under `record.instanceId`, unless an earlier call claimed it, in
   * which case nothing is written and the earlier instance is returned. One step on the store, so two
   * replicas getting retries of one order at once still agree on one instanceId.
   */
  async claimOrder(orderId: string, orderLineId: string, record: InstanceRecord): Promise<{ record: InstanceRecord; created: boolean }> {
    const key = orderKey(orderId, orderLineId);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const claimed = await this.store.atomicIf({ key, expected: null }, [
        { op: 'set', key, value: record.instanceId },
        ...this.recordOps(record),
      ]);
      if (claimed) return { record, created: true };
      const instanceId = await this.store.get(key);
      // Gone between the two reads (a deleted store key): claim it again.
      if (instanceId === null) continue;
      const existing = await this.get(instanceId);
      return { record: existing ?? { ...record, instanceId }, created: false };
    }
    throw new Error('order claim did not settle; please retry');
  }

  /**
   * Applies `change` to the instance's current record (null when there is none yet) and stores the result,
   * compare-and-set: when another writer changed the record in between, the change is computed again on
   * what that writer left.
   */
  async update(instanceId: string, change: InstanceUpdate): Promise<InstanceUpdated> {
    const key = instanceKey(instanceId);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const raw = await this.store.get(key);
      const current = parse(raw);
      const next = change(current, this.now().toISOString());
      if (next === null) return { record: current, written: false };
      if (await this.store.atomicIf({ key, expected: raw }, this.recordOps(next))) return { record: next, written: true };
    }
    throw new Error('instance update did not settle; please retry');
  }

  /** Tenants kit sync linked to the instance (possibly more than still link it: callers check each). */
  async tenantsOf(instanceId: string): Promise<TenantId[]> {
    return sortKeys(await this.store.sMembers(instanceTenantsKey(instanceId)));
  }

  /** Ops that link a tenant to an instance, for the kit sync's own write. */
  static linkOps(tenantId: TenantId, instanceIds: readonly string[]): WriteOp[] {
    return instanceIds.filter((i) => i !== '').map((i): WriteOp => ({ op: 'sadd', key: instanceTenantsKey(i), member: tenantId }));
  }

  static unlinkOps(tenantId: TenantId, instanceIds: readonly string[]): WriteOp[] {
    return instanceIds.filter((i) => i !== '').map((i): WriteOp => ({ op: 'srem', key: instanceTenantsKey(i), member: tenantId }));
  }

  private recordOps(record: InstanceRecord): WriteOp[] {
    return [
      { op: 'set', key: instanceKey(record.instanceId), value: JSON.stringify(record) },
      { op: 'sadd', key: INSTANCES, member: record.instanceId },
    ];
  }
}

function parse(raw: string | null): InstanceRecord | null {
  return raw === null ? null : (JSON.parse(raw) as InstanceRecord);
}
