import type { WriteOp } from '../store/store';
import { accessOf } from './access';
import { userKey, usersKey } from './keys';
import type { Role, TenantId, UserProfile, UserRecord } from './types';

/** authSync flags (docs/protocol.md §3.5). */
export type AuthSyncFlag = 0 | 1 | 2 | 3;

/** One entry of authSync's userList, already validated. Delete and cancel entries may carry only userName. */
export interface UserEntry extends UserProfile {
  userName: string;
  name?: string;
  orgCode?: string;
  role?: Role;
  enabled?: boolean;
}

export interface AuthSyncChange {
  instanceId: string;
  tenantId: TenantId;
  appId: string;
  flag: AuthSyncFlag;
  testFlag: number;
  users: UserEntry[];
}

export interface AuthSyncPlan {
  ops: WriteOp[];
  counts: { created: number; updated: number; unchanged: number; deleted: number; absent: number };
  /** Users that may not log in after this call (deleted, cancelled, disabled): their sessions must end. */
  revoked: string[];
  /** Users already known whose access or role changed and who may still log in. */
  updated: string[];
}

const OPTIONAL = ['position', 'employeeCode', 'employeeType', 'mobile', 'email', 'workPlace', 'entryDate'] as const;

/**
 * The writes one authSync call makes, computed from the current records, so that the call is applied in
 * one atomic write or not at all. Idempotent per tenant + app + userName: an entry that changes nothing
 * writes nothing (updatedAt included).
 *
 * - add (1): the user is authorized, with the entry's fields;
 * - modify (2): the entry's fields replace the user's; authorization stays as it was (a modify of a user
 *   never seen counts as authorized: the marketplace only modifies users it authorized);
 * - cancel (3): the user stays known but unauthorized;
 * - delete (0): the record goes.
 */
export function planAuthSync(change: AuthSyncChange, current: ReadonlyMap<string, UserRecord>, now: string): AuthSyncPlan {
  const plan: AuthSyncPlan = { ops: [], counts: { created: 0, updated: 0, unchanged: 0, deleted: 0, absent: 0 }, revoked: [], updated: [] };
  const { tenantId } = change;
  for (const entry of change.users) {
    const before = current.get(entry.userName);
    const key = userKey(tenantId, entry.userName);
    if (change.flag === 0) {
      plan.revoked.push(entry.userName);
      if (!before) {
        plan.counts.absent++;
        continue;
      }
      plan.ops.push({ op: 'del', key }, { op: 'srem', key: usersKey(tenantId), member: entry.userName });
      plan.counts.deleted++;
      continue;
    }
    const next = nextRecord(change, entry, before, now);
    const allowed = accessOf(next).allowed;
    if (!allowed) plan.revoked.push(entry.userName);
    if (before && sameUser(before, next)) {
      plan.counts.unchanged++;
      continue;
    }
    if (before && allowed && accessChanged(before, next)) plan.updated.push(entry.userName);
    plan.ops.push({ op: 'set', key, value: JSON.stringify(next) }, { op: 'sadd', key: usersKey(tenantId), member: entry.userName });
    if (before) plan.counts.updated++;
    else plan.counts.created++;
  }
  return plan;
}

function nextRecord(change: AuthSyncChange, entry: UserEntry, before: UserRecord | undefined, now: string): UserRecord {
  const base = change.flag === 3 && before ? before : undefined;
  const rec: UserRecord = {
    tenantId: change.tenantId,
    userName: entry.userName,
    name: entry.name ?? base?.name ?? '',
    orgCode: entry.orgCode ?? base?.orgCode ?? '',
    role: entry.role ?? base?.role ?? 'user',
    enabled: entry.enabled ?? base?.enabled ?? true,
    authorized: change.flag === 1 ? true : change.flag === 3 ? false : (before?.authorized ?? true),
    appId: change.appId,
    instanceId: change.instanceId,
    testFlag: change.testFlag,
    updatedAt: now,
  };
  for (const k of OPTIONAL) {
    const v = entry[k] ?? base?.[k];
    if (v !== undefined) (rec as unknown as Record<string, unknown>)[k] = v;
  }
  return rec;
}

/** Equal in every field but updatedAt, whatever order the stored record's fields came in. */
function sameUser(a: UserRecord, b: UserRecord): boolean {
  const x = a as unknown as Record<string, unknown>;
  const y = b as unknown as Record<string, unknown>;
  const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
  keys.delete('updatedAt');
  return [...keys].every((k) => x[k] === y[k]);
}

function accessChanged(a: UserRecord, b: UserRecord): boolean {
  return a.role !== b.role || a.enabled !== b.enabled || a.authorized !== b.authorized;
}
