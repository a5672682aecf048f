import type { WriteOp } from '../store/store';
import { departmentKey, departmentsKey } from './keys';
import type { DepartmentRecord, TenantId } from './types';
import type { ChangeOutcome } from '../core/outcome';

export interface DepartmentEntry {
  orgCode: string;
  orgName: string;
  parentCode: string;
}

export interface SingleDepartmentChange extends DepartmentEntry {
  tenantId: TenantId;
  flag: 0 | 1 | 2;
}

export interface DepartmentListChange {
  tenantId: TenantId;
  departments: DepartmentEntry[];
}

export type DepartmentPlan =
  | { ok: true; ops: WriteOp[]; outcome: ChangeOutcome; counts?: { created: number; updated: number; unchanged: number; deleted: number } }
  | { ok: false; reason: string };

const record = (tenantId: TenantId, e: DepartmentEntry, now: string): DepartmentRecord => ({
  tenantId,
  orgCode: e.orgCode,
  orgName: e.orgName,
  parentCode: e.parentCode,
  updatedAt: now,
});

const same = (a: DepartmentRecord, e: DepartmentEntry) => a.orgName === e.orgName && a.parentCode === e.parentCode;

/**
 * singleOrgSync (docs/protocol.md §3.6), idempotent per tenant + orgCode. A change that would make a
 * department its own ancestor is refused: the tree must stay a tree.
 */
export function planSingleDepartment(change: SingleDepartmentChange, current: ReadonlyMap<string, DepartmentRecord>, now: string): DepartmentPlan {
  const { tenantId, orgCode } = change;
  const before = current.get(orgCode);
  const key = departmentKey(tenantId, orgCode);
  if (change.flag === 0) {
    if (!before) return { ok: true, ops: [], outcome: 'absent' };
    // Its children stay; until the marketplace moves them they show at the top of the tree.
    return { ok: true, ops: [{ op: 'del', key }, { op: 'srem', key: departmentsKey(tenantId), member: orgCode }], outcome: 'deleted' };
  }
  if (before && same(before, change)) return { ok: true, ops: [], outcome: 'unchanged' };
  const parents = new Map([...current].map(([code, d]) => [code, d.parentCode]));
  parents.set(orgCode, change.parentCode);
  if (inCycle(orgCode, parents)) return { ok: false, reason: `parentCode ${change.parentCode} would make department ${orgCode} its own ancestor` };
  return {
    ok: true,
    ops: [
      { op: 'set', key, value: JSON.stringify(record(tenantId, change, now)) },
      { op: 'sadd', key: departmentsKey(tenantId), member: orgCode },
    ],
    outcome: before ? 'updated' : 'created',
  };
}

/** allOrgSync (docs/protocol.md §3.7): the list replaces the tenant's departments; unchanged ones are not rewritten. */
export function planDepartmentList(change: DepartmentListChange, current: ReadonlyMap<string, DepartmentRecord>, now: string): DepartmentPlan {
  const { tenantId } = change;
  const cycle = findCycle(new Map(change.departments.map((d) => [d.orgCode, d.parentCode])));
  if (cycle) return { ok: false, reason: `department ${cycle} is its own ancestor` };
  const counts = { created: 0, updated: 0, unchanged: 0, deleted: 0 };
  const ops: WriteOp[] = [];
  const listed = new Set<string>();
  for (const d of change.departments) {
    listed.add(d.orgCode);
    const before = current.get(d.orgCode);
    if (before && same(before, d)) {
      counts.unchanged++;
      continue;
    }
    ops.push({ op: 'set', key: departmentKey(tenantId, d.orgCode), value: JSON.stringify(record(tenantId, d, now)) });
    ops.push({ op: 'sadd', key: departmentsKey(tenantId), member: d.orgCode });
    if (before) counts.updated++;
    else counts.created++;
  }
  for (const code of current.keys()) {
    if (listed.has(code)) continue;
    ops.push({ op: 'del', key: departmentKey(tenantId, code) }, { op: 'srem', key: departmentsKey(tenantId), member: code });
    counts.deleted++;
  }
  return { ok: true, ops, outcome: ops.length === 0 ? 'unchanged' : current.size === 0 ? 'created' : 'updated', counts };
}

/** True when following parentCode from `code` comes back to it. Unknown parents end the walk (an orphan). */
function inCycle(code: string, parents: ReadonlyMap<string, string>): boolean {
  const seen = new Set<string>();
  let at: string | undefined = parents.get(code);
  while (at !== undefined && at !== '' && !seen.has(at)) {
    if (at === code) return true;
    seen.add(at);
    at = parents.get(at);
  }
  return false;
}

/** Some department that is its own ancestor, or undefined. Linear: each department is walked once. */
export function findCycle(parents: ReadonlyMap<string, string>): string | undefined {
  const state = new Map<string, 'walking' | 'done'>();
  for (const start of parents.keys()) {
    const path: string[] = [];
    let at: string | undefined = start;
    while (at !== undefined && at !== '' && parents.has(at) && state.get(at) !== 'done') {
      if (state.get(at) === 'walking') return at;
      state.set(at, 'walking');
      path.push(at);
      at = parents.get(at);
    }
    for (const p of path) state.set(p, 'done');
  }
  return undefined;
}

export interface DepartmentNode {
  orgCode: string;
  orgName: string;
  parentCode: string;
  children: DepartmentNode[];
}

/**
 * The department tree, derived from parentCode. Departments whose parent is empty, unknown or themselves
 * are roots (a parent may arrive later by singleOrgSync). Should stored data ever hold a cycle, its
 * smallest code becomes a root, so every department appears exactly once and the result is finite.
 * Siblings are ordered by orgCode. Iterative, so a deep chain cannot overflow the stack.
 */
export function departmentTree(departments: readonly DepartmentRecord[]): DepartmentNode[] {
  const byCode = new Map(departments.map((d) => [d.orgCode, d]));
  const children = new Map<string, DepartmentRecord[]>();
  for (const d of departments) {
    if (d.parentCode === '' || d.parentCode === d.orgCode || !byCode.has(d.parentCode)) continue;
    const list = children.get(d.parentCode) ?? [];
    list.push(d);
    children.set(d.parentCode, list);
  }
  const sorted = [...departments].sort((a, b) => (a.orgCode < b.orgCode ? -1 : a.orgCode > b.orgCode ? 1 : 0));
  const placed = new Set<string>();
  const roots: DepartmentNode[] = [];
  const grow = (root: DepartmentRecord) => {
    const node = toNode(root);
    roots.push(node);
    placed.add(root.orgCode);
    const queue: DepartmentNode[] = [node];
    for (let i = 0; i < queue.length; i++) {
      const parent = queue[i]!;
      const kids = (children.get(parent.orgCode) ?? []).filter((k) => !placed.has(k.orgCode));
      kids.sort((a, b) => (a.orgCode < b.orgCode ? -1 : a.orgCode > b.orgCode ? 1 : 0));
      for (const k of kids) {
        placed.add(k.orgCode);
        const child = toNode(k);
        parent.children.push(child);
        queue.push(child);
      }
    }
  };
  for (const d of sorted) if (d.parentCode === '' || d.parentCode === d.orgCode || !byCode.has(d.parentCode)) grow(d);
  // What is left hangs below a cycle: enter each cycle at its smallest code.
  for (const d of sorted) {
    if (placed.has(d.orgCode)) continue;
    const index = new Map<string, number>();
    const path: string[] = [];
    let at = d.orgCode;
    while (!index.has(at)) {
      index.set(at, path.length);
      path.push(at);
      at = byCode.get(at)!.parentCode;
    }
    const cycle = path.slice(index.get(at)).sort();
    grow(byCode.get(cycle[0]!)!);
  }
  roots.sort((a, b) => (a.orgCode < b.orgCode ? -1 : a.orgCode > b.orgCode ? 1 : 0));
  return roots;
}

const toNode = (d: DepartmentRecord): DepartmentNode => ({ orgCode: d.orgCode, orgName: d.orgName, parentCode: d.parentCode, children: [] });
