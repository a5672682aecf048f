import { UnknownKeyError, type ResealOutcome, type Sealer } from '../crypto/sealed';
import { KoogateError } from '../core/errors';
import type { KeyValueStore, WriteOp } from '../store/store';
import type { UserAccess } from '../core/access';
import type { ChangeOutcome } from '../core/outcome';
import { accessOf } from './access';
import { departmentTree, planDepartmentList, planSingleDepartment, type DepartmentListChange, type DepartmentNode, type DepartmentPlan, type SingleDepartmentChange } from './departments';
import { Instances } from './instances';
import { appKey, departmentKey, departmentsKey, tenantKey, TENANTS, userKey, usersKey } from './keys';
import { pageOfKeys, sortKeys, type Page, type PageRequest } from './page';
import { linkedInstances, subscriptionAccess, type SubscriptionAccess } from './subscription';
import type { AppCredential, AppCredentialRecord, DepartmentRecord, InstanceRecord, TenantId, TenantRecord, UserRecord } from './types';
import { planAuthSync, type AuthSyncChange, type AuthSyncPlan } from './users';

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

/** The directory's answer to an authSync: counts and whose access changed. */
export type AuthSyncOutcome = Omit<AuthSyncPlan, 'ops'>;

/**
 * Tenants, app credentials, users and departments as kit sync leaves them. Every change reads what it
 * needs, computes all of its writes, and applies them in one atomic store write, so a sync applies
 * completely or not at all.
 */
export class Directory {
  /** Instances (orders) as the basic interfaces leave them. */
  readonly instances: Instances;

  constructor(
    private readonly store: KeyValueStore,
    private readonly sealer: Sealer,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.instances = new Instances(store, now);
  }

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
    return { clientId: rec.clientId, clientSecret: openOrKeyMissing(this.sealer, rec.clientSecretSealed, appKey(tenantId, appId), 'client secret') };
  }

  /** Whether the tenant has credentials for the app, without opening the sealed secret. */
  async hasAppCredential(tenantId: TenantId, appId: string): Promise<boolean> {
    return (await this.store.get(appKey(tenantId, appId))) !== null;
  }

  /**
   * Seals a tenant's client secret again under the current key (after a key rotation). Compare-and-set:
   * an applicationSync that wrote meanwhile sealed under the current key already.
   */
  async resealAppCredential(tenantId: TenantId, appId: string): Promise<ResealOutcome> {
    const k = appKey(tenantId, appId);
    const raw = await this.store.get(k);
    if (!raw) return 'gone';
    const rec = JSON.parse(raw) as AppCredentialRecord;
    if (!this.sealer.needsReseal(rec.clientSecretSealed)) return 'current';
    let secret: string;
    try {
      secret = this.sealer.open(rec.clientSecretSealed, k);
    } catch {
      return 'failed';
    }
    const next: AppCredentialRecord = { ...rec, clientSecretSealed: this.sealer.seal(secret, k) };
    return (await this.store.compareAndSet(k, raw, JSON.stringify(next))) ? 'resealed' : 'current';
  }

  async applyTenant(c: TenantChange): Promise<ChangeOutcome> {
    const current = await this.getTenant(c.tenantId);
    if (c.flag === 0) {
      if (!current) {
        // authSync and allOrgSync may have come for a tenant that tenantSync never added.
        const leftovers = await this.membersRemoval(c.tenantId);
        if (leftovers.length > 2) await this.store.atomic(leftovers);
        return 'absent';
      }
      const instances = current.instances.filter((i) => i !== c.instanceId);
      // A delete naming no instance we know (or none at all) removes the tenant: the marketplace says it is gone.
      if (instances.length > 0 && instances.length < current.instances.length) {
        await this.store.atomic([
          { op: 'set', key: tenantKey(c.tenantId), value: JSON.stringify({ ...current, instances }) },
          ...Instances.unlinkOps(c.tenantId, [c.instanceId]),
        ]);
        return 'updated';
      }
      // The buyer is gone: its users and departments go with it (they are personal data, and a new binding
      // brings them again by authSync and allOrgSync).
      await this.store.atomic([
        { op: 'del', key: tenantKey(c.tenantId) },
        { op: 'srem', key: TENANTS, member: c.tenantId },
        ...Instances.unlinkOps(c.tenantId, current.instances),
        ...(await this.membersRemoval(c.tenantId)),
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
    if (current && sameTenant(current, next)) {
      // Records from before instances were linked back get their link on the next repeat.
      await this.store.atomic(Instances.linkOps(c.tenantId, [c.instanceId]));
      return 'unchanged';
    }
    next.updatedAt = this.now().toISOString();
    await this.store.atomic([
      { op: 'set', key: tenantKey(c.tenantId), value: JSON.stringify(next) },
      { op: 'sadd', key: TENANTS, member: c.tenantId },
      ...Instances.linkOps(c.tenantId, [c.instanceId]),
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
    const instances = current ? [...new Set([...current.instances, c.instanceId])] : [c.instanceId];
    if (current) {
      // A secret sealed under a retired key is replaced by the one this call brings.
      const secret = openUnlessKeyUnknown(this.sealer, current.clientSecretSealed, key);
      if (current.clientId === c.clientId && secret === c.clientSecret && instances.length === current.instances.length) {
        await this.store.atomic(Instances.linkOps(c.tenantId, [c.instanceId]));
        return 'unchanged';
      }
    }
    const next: AppCredentialRecord = {
      tenantId: c.tenantId,
      appId: c.appId,
      clientId: c.clientId,
      clientSecretSealed: this.sealer.seal(c.clientSecret, key),
      instances,
      testFlag: c.testFlag,
      updatedAt: this.now().toISOString(),
    };
    await this.store.atomic([{ op: 'set', key, value: JSON.stringify(next) }, ...Instances.linkOps(c.tenantId, [c.instanceId])]);
    return current ? 'updated' : 'created';
  }

  // ── subscriptions (instances linked by tenantSync and applicationSync) ─────────────────────────────

  /** The instances kit sync linked the tenant to, for the app: tenantSync's and applicationSync's. */
  async linkedInstanceIds(tenantId: TenantId, appId: string): Promise<string[]> {
    const [tenantRaw, credRaw] = await this.store.mget([tenantKey(tenantId), appKey(tenantId, appId)]);
    const tenant = tenantRaw ? (JSON.parse(tenantRaw) as TenantRecord) : null;
    const cred = credRaw ? (JSON.parse(credRaw) as AppCredentialRecord) : null;
    return linkedInstances(tenant?.instances, cred?.instances);
  }

  /** The tenant's linked instances, with null for one koogate holds no record of. */
  async instancesOfTenant(tenantId: TenantId, appId: string): Promise<{ instanceId: string; record: InstanceRecord | null }[]> {
    const ids = await this.linkedInstanceIds(tenantId, appId);
    const records = await this.instances.getMany(ids);
    return ids.map((instanceId, i) => ({ instanceId, record: records[i]! }));
  }

  /** Whether the tenant's subscriptions let it in: two store reads, on every full session check. */
  async subscriptionOf(tenantId: TenantId, appId: string): Promise<SubscriptionAccess> {
    const ids = await this.linkedInstanceIds(tenantId, appId);
    if (ids.length === 0) return { allowed: true };
    return subscriptionAccess(ids, await this.instances.getMany(ids));
  }

  /** Users and departments a tenant's removal deletes; also when no tenant record exists (authSync may come first). */
  private async membersRemoval(tenantId: TenantId): Promise<WriteOp[]> {
    const [users, departments] = await Promise.all([this.store.sMembers(usersKey(tenantId)), this.store.sMembers(departmentsKey(tenantId))]);
    return [
      ...users.map((u): WriteOp => ({ op: 'del', key: userKey(tenantId, u) })),
      ...departments.map((d): WriteOp => ({ op: 'del', key: departmentKey(tenantId, d) })),
      { op: 'del', key: usersKey(tenantId) },
      { op: 'del', key: departmentsKey(tenantId) },
    ];
  }

  // ── users (authSync) ────────────────────────────────────────────────────────────────────────────────

  async getUser(tenantId: TenantId, userName: string): Promise<UserRecord | null> {
    const raw = await this.store.get(userKey(tenantId, userName));
    return raw ? (JSON.parse(raw) as UserRecord) : null;
  }

  /**
   * What the directory says of one user: one store read, cheap enough for every request.
   * null when it holds no record of them (never authorized, or deleted).
   */
  async getUserAccess(tenantId: TenantId, userName: string): Promise<UserAccess | null> {
    const rec = await this.getUser(tenantId, userName);
    return rec ? accessOf(rec) : null;
  }

  async listUsers(tenantId: TenantId, page: PageRequest): Promise<Page<UserRecord>> {
    const names = sortKeys(await this.store.sMembers(usersKey(tenantId)));
    const { keys, total, next } = pageOfKeys(names, page);
    const raws = await this.store.mget(keys.map((u) => userKey(tenantId, u)));
    return { items: raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as UserRecord), total, next };
  }

  async applyAuthSync(c: AuthSyncChange): Promise<AuthSyncOutcome> {
    const names = c.users.map((u) => u.userName);
    const raws = await this.store.mget(names.map((u) => userKey(c.tenantId, u)));
    const current = new Map<string, UserRecord>();
    raws.forEach((r, i) => {
      if (r !== null) current.set(names[i]!, JSON.parse(r) as UserRecord);
    });
    const { ops, ...outcome } = planAuthSync(c, current, this.now().toISOString());
    if (ops.length > 0) await this.store.atomic(ops);
    return outcome;
  }

  // ── departments (singleOrgSync, allOrgSync) ─────────────────────────────────────────────────────────

  async listDepartments(tenantId: TenantId): Promise<DepartmentRecord[]> {
    const codes = sortKeys(await this.store.sMembers(departmentsKey(tenantId)));
    const raws = await this.store.mget(codes.map((d) => departmentKey(tenantId, d)));
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as DepartmentRecord);
  }

  async listDepartmentsPage(tenantId: TenantId, page: PageRequest): Promise<Page<DepartmentRecord>> {
    const codes = sortKeys(await this.store.sMembers(departmentsKey(tenantId)));
    const { keys, total, next } = pageOfKeys(codes, page);
    const raws = await this.store.mget(keys.map((d) => departmentKey(tenantId, d)));
    return { items: raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as DepartmentRecord), total, next };
  }

  /** The tenant's department tree; pages run over the top-level departments, each with its whole subtree. */
  async departmentTreePage(tenantId: TenantId, page: PageRequest): Promise<Page<DepartmentNode>> {
    const roots = departmentTree(await this.listDepartments(tenantId));
    const byCode = new Map(roots.map((r) => [r.orgCode, r]));
    const { keys, total, next } = pageOfKeys(roots.map((r) => r.orgCode), page);
    return { items: keys.map((k) => byCode.get(k)!), total, next };
  }

  private async departmentsByCode(tenantId: TenantId): Promise<Map<string, DepartmentRecord>> {
    return new Map((await this.listDepartments(tenantId)).map((d) => [d.orgCode, d]));
  }

  /** singleOrgSync; a refusal (a change that would make a cycle) writes nothing. */
  async applyDepartment(c: SingleDepartmentChange): Promise<DepartmentPlan> {
    const plan = planSingleDepartment(c, await this.departmentsByCode(c.tenantId), this.now().toISOString());
    if (plan.ok && plan.ops.length > 0) await this.store.atomic(plan.ops);
    return plan;
  }

  /** allOrgSync: the list replaces the tenant's departments. */
  async replaceDepartments(c: DepartmentListChange): Promise<DepartmentPlan> {
    const plan = planDepartmentList(c, await this.departmentsByCode(c.tenantId), this.now().toISOString());
    if (plan.ok && plan.ops.length > 0) await this.store.atomic(plan.ops);
    return plan;
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

/** A sealed value the configured keys cannot open is the operator's error (KOOGATE_ENCRYPTION_KEYS), not the user's. */
export function openOrKeyMissing(sealer: Sealer, sealed: string, aad: string, what: string): string {
  try {
    return sealer.open(sealed, aad);
  } catch (e) {
    if (!(e instanceof UnknownKeyError)) throw e;
    throw new KoogateError('KOOGATE_ENCRYPTION_KEY_MISSING', 'This service is being configured.', { what, keyId: e.keyId });
  }
}

function openUnlessKeyUnknown(sealer: Sealer, sealed: string, aad: string): string | undefined {
  try {
    return sealer.open(sealed, aad);
  } catch (e) {
    if (e instanceof UnknownKeyError) return undefined;
    throw e;
  }
}
