import type { Sealer } from '../crypto/sealed';
import type { KeyValueStore, WriteOp } from '../store/store';
import type { AppCredential, AppCredentialRecord, TenantId, TenantRecord } from './types';

const tenantKey = (t: TenantId) => `dir:tenant:${t}`;
const appKey = (t: TenantId, appId: string) => `dir:app:${t}:${appId}`;
const TENANTS = 'dir:tenants';

export type SyncFlag = 0 | 1 | 2;

export interface TenantChange {
  instanceId: string;
  tenantId: TenantId;
  tenantCode: string;
  name: string;
  domainName: string;
  flag: SyncFlag;
  testFlag: number;
}

export interface AppCredentialChange {
  instanceId: string;
  tenantId: TenantId;
  appId: string;
  clientId: string;
  clientSecret: string;
  flag: SyncFlag;
  testFlag: number;
}

/** The outcome of a sync, so callers can act on it (end sessions of a deleted tenant, log what happened). */
export type ChangeOutcome = 'created' | 'updated' | 'unchanged' | 'deleted' | 'absent';

/**
 * Tenants and app credentials as kit sync leaves them. Every change is one atomic store write, so a sync
 * applies completely or not at all.
 */
export class Directory {
  constructor(
    private readonly store: KeyValueStore,
    private readonly sealer: Sealer,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async getTenant(tenantId: TenantId): Promise<TenantRecord | null> {
    const raw = await this.store.get(tenantKey(tenantId));
    return raw ? (JSON.parse(raw) as TenantRecord) : null;
  }

  async listTenants(): Promise<TenantRecord[]> {
    const ids = (await this.store.sMembers(TENANTS)).sort();
    const raws = await this.store.mget(ids.map(tenantKey));
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as TenantRecord);
  }

  async getAppCredential(tenantId: TenantId, appId: string): Promise<AppCredential | null> {
    const raw = await this.store.get(appKey(tenantId, appId));
    if (!raw) return null;
    const rec = JSON.parse(raw) as AppCredentialRecord;
    return { clientId: rec.clientId, clientSecret: this.sealer.open(rec.clientSecretSealed, appKey(tenantId, appId)) };
  }

  async applyTenant(c: TenantChange): Promise<ChangeOutcome> {
    const current = await this.getTenant(c.tenantId);
    if (c.flag === 0) {
      if (!current) return 'absent';
      const instances = current.instances.filter((i) => i !== c.instanceId);
      // A delete naming no instance we know (or none at all) removes the tenant: the marketplace says it is gone.
      if (instances.length > 0 && instances.length < current.instances.length) {
        await this.store.set(tenantKey(c.tenantId), JSON.stringify({ ...current, instances }));
        return 'updated';
      }
      await this.store.atomic([
        { op: 'del', key: tenantKey(c.tenantId) },
        { op: 'srem', key: TENANTS, member: c.tenantId },
      ]);
      return 'deleted';
    }
    const instances = current ? [...new Set([...current.instances, c.instanceId])] : [c.instanceId];
    const next: TenantRecord = {
      tenantId: c.tenantId,
      tenantCode: c.tenantCode || current?.tenantCode || '',
      name: c.name || current?.name || '',
      domainName: c.domainName.replace(/\/+$/, ''),
      instances,
      testFlag: c.testFlag,
      updatedAt: current?.updatedAt ?? '',
    };
    if (current && sameTenant(current, next)) return 'unchanged';
    next.updatedAt = this.now().toISOString();
    await this.store.atomic([
      { op: 'set', key: tenantKey(c.tenantId), value: JSON.stringify(next) },
      { op: 'sadd', key: TENANTS, member: c.tenantId },
    ]);
    return current ? 'updated' : 'created';
  }

  async applyAppCredential(c: AppCredentialChange): Promise<ChangeOutcome> {
    const key = appKey(c.tenantId, c.appId);
    const raw = await this.store.get(key);
    const current = raw ? (JSON.parse(raw) as AppCredentialRecord) : null;
    if (c.flag === 0) {
      if (!current) return 'absent';
      await this.store.del(key);
      return 'deleted';
    }
    if (current) {
      const secret = this.sealer.open(current.clientSecretSealed, key);
      const instances = [...new Set([...current.instances, c.instanceId])];
      if (current.clientId === c.clientId && secret === c.clientSecret && instances.length === current.instances.length) {
        return 'unchanged';
      }
    }
    const next: AppCredentialRecord = {
      tenantId: c.tenantId,
      appId: c.appId,
      clientId: c.clientId,
      clientSecretSealed: this.sealer.seal(c.clientSecret, key),
      instances: current ? [...new Set([...current.instances, c.instanceId])] : [c.instanceId],
      testFlag: c.testFlag,
      updatedAt: this.now().toISOString(),
    };
    const ops: WriteOp[] = [{ op: 'set', key, value: JSON.stringify(next) }];
    await this.store.atomic(ops);
    return current ? 'updated' : 'created';
  }
}

function sameTenant(a: TenantRecord, b: TenantRecord): boolean {
  return (
    a.tenantCode === b.tenantCode &&
    a.name === b.name &&
    a.domainName === b.domainName &&
    a.testFlag === b.testFlag &&
    a.instances.length === b.instances.length
  );
}
