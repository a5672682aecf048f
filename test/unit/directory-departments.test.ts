import { departmentTree, findCycle, planDepartmentList, planSingleDepartment, type DepartmentNode } from '../../src/directory/departments';
import type { DepartmentRecord } from '../../src/directory/types';

const T = 't-1';
const NOW = '2025-01-01T00:00:00.000Z';
const dep = (orgCode: string, parentCode = '', orgName = `Org ${orgCode}`): DepartmentRecord => ({ tenantId: T, orgCode, orgName, parentCode, updatedAt: 'earlier' });
const byCode = (...d: DepartmentRecord[]) => new Map(d.map((x) => [x.orgCode, x]));

/** The tree as nested codes, easy to read in an assertion. */
const shape = (nodes: DepartmentNode[]): unknown => nodes.map((n) => (n.children.length ? { [n.orgCode]: shape(n.children) } : n.orgCode));
const count = (nodes: DepartmentNode[]): number => nodes.reduce((n, x) => n + 1 + count(x.children), 0);

describe('departmentTree', () => {
  test('children hang under their parent by parentCode; siblings and roots in orgCode order', () => {
    const tree = departmentTree([dep('rd', 'hq'), dep('hq'), dep('ops', 'hq'), dep('rd-b', 'rd'), dep('rd-a', 'rd'), dep('branch')]);
    expect(shape(tree)).toEqual(['branch', { hq: ['ops', { rd: ['rd-a', 'rd-b'] }] }]);
    expect(tree[1]).toMatchObject({ orgCode: 'hq', orgName: 'Org hq', parentCode: '' });
  });

  test('a department whose parent is unknown (not synced yet) is a root, not lost', () => {
    expect(shape(departmentTree([dep('a', 'missing'), dep('b', 'a')]))).toEqual([{ a: ['b'] }]);
  });

  test('stored data with a cycle or a self-parent still yields every department exactly once', () => {
    const tree = departmentTree([dep('x', 'y'), dep('y', 'z'), dep('z', 'x'), dep('self', 'self'), dep('leaf', 'y')]);
    expect(count(tree)).toBe(5);
    expect(shape(tree)).toEqual(['self', { x: [{ z: [{ y: ['leaf'] }] }] }]);
    expect(() => JSON.stringify(tree)).not.toThrow();
  });

  test('a chain 20 000 deep does not overflow the stack', () => {
    const chain = Array.from({ length: 20_000 }, (_, i) => dep(`c${String(i).padStart(5, '0')}`, i === 0 ? '' : `c${String(i - 1).padStart(5, '0')}`));
    const tree = departmentTree(chain);
    expect(tree).toHaveLength(1);
    let depth = 0;
    for (let n: DepartmentNode | undefined = tree[0]; n; n = n.children[0]) depth++;
    expect(depth).toBe(20_000);
  });

  test('no departments, no tree', () => {
    expect(departmentTree([])).toEqual([]);
  });
});

describe('findCycle', () => {
  test.each([
    [[['a', ''], ['b', 'a']], undefined],
    [[['a', 'missing']], undefined],
    [[['a', 'a']], 'a'],
    [[['a', 'b'], ['b', 'a']], expect.stringMatching(/^[ab]$/)],
    [[['r', ''], ['a', 'r'], ['b', 'a'], ['c', 'b'], ['a2', 'c2'], ['c2', 'a2']], expect.stringMatching(/^(a2|c2)$/)],
  ] as [string[][], unknown][])('%j → %p', (pairs, expected) => {
    expect(findCycle(new Map(pairs as [string, string][]))).toEqual(expected);
  });
});

describe('planSingleDepartment (singleOrgSync)', () => {
  const current = byCode(dep('hq'), dep('rd', 'hq'), dep('qa', 'rd'));

  test('add writes the record and the set member; the same add again writes nothing', () => {
    const plan = planSingleDepartment({ tenantId: T, orgCode: 'ops', orgName: 'Ops', parentCode: 'hq', flag: 1 }, current, NOW);
    expect(plan).toEqual({
      ok: true,
      outcome: 'created',
      ops: [
        { op: 'set', key: 'dir:org:t-1:ops', value: JSON.stringify({ tenantId: T, orgCode: 'ops', orgName: 'Ops', parentCode: 'hq', updatedAt: NOW }) },
        { op: 'sadd', key: 'dir:orgs:t-1', member: 'ops' },
      ],
    });
    expect(planSingleDepartment({ tenantId: T, orgCode: 'rd', orgName: 'Org rd', parentCode: 'hq', flag: 1 }, current, NOW)).toEqual({ ok: true, ops: [], outcome: 'unchanged' });
  });

  test('a move under its own descendant is refused; a move elsewhere is fine', () => {
    const cyc = planSingleDepartment({ tenantId: T, orgCode: 'hq', orgName: 'HQ', parentCode: 'qa', flag: 2 }, current, NOW);
    expect(cyc).toEqual({ ok: false, reason: expect.stringMatching(/own ancestor/) });
    const ok = planSingleDepartment({ tenantId: T, orgCode: 'qa', orgName: 'QA', parentCode: 'hq', flag: 2 }, current, NOW);
    expect(ok).toMatchObject({ ok: true, outcome: 'updated' });
  });

  test('delete removes record and member; deleting the unknown writes nothing', () => {
    expect(planSingleDepartment({ tenantId: T, orgCode: 'rd', orgName: '', parentCode: '', flag: 0 }, current, NOW)).toEqual({
      ok: true,
      outcome: 'deleted',
      ops: [
        { op: 'del', key: 'dir:org:t-1:rd' },
        { op: 'srem', key: 'dir:orgs:t-1', member: 'rd' },
      ],
    });
    expect(planSingleDepartment({ tenantId: T, orgCode: 'nope', orgName: '', parentCode: '', flag: 0 }, current, NOW)).toEqual({ ok: true, ops: [], outcome: 'absent' });
  });

  test('keys encode their parts, so ":" in a code cannot reach another tenant', () => {
    const plan = planSingleDepartment({ tenantId: 'a:b', orgCode: 'c:d', orgName: 'X', parentCode: '', flag: 1 }, new Map(), NOW);
    expect(plan.ok && plan.ops[0]).toMatchObject({ key: 'dir:org:a%3Ab:c%3Ad' });
  });
});

describe('planDepartmentList (allOrgSync)', () => {
  const current = byCode(dep('hq'), dep('rd', 'hq'), dep('old', 'hq'));

  test('writes what changed, deletes what the list no longer names, leaves the rest', () => {
    const plan = planDepartmentList(
      { tenantId: T, departments: [{ orgCode: 'hq', orgName: 'Org hq', parentCode: '' }, { orgCode: 'rd', orgName: 'Research', parentCode: 'hq' }, { orgCode: 'new', orgName: 'New', parentCode: 'rd' }] },
      current,
      NOW,
    );
    if (!plan.ok) throw new Error(plan.reason);
    expect(plan.counts).toEqual({ created: 1, updated: 1, unchanged: 1, deleted: 1 });
    expect(plan.ops.map((o) => `${o.op} ${o.key}`)).toEqual([
      'set dir:org:t-1:rd',
      'sadd dir:orgs:t-1',
      'set dir:org:t-1:new',
      'sadd dir:orgs:t-1',
      'del dir:org:t-1:old',
      'srem dir:orgs:t-1',
    ]);
  });

  test('the same list again writes nothing', () => {
    const plan = planDepartmentList({ tenantId: T, departments: [...current.values()].map((d) => ({ orgCode: d.orgCode, orgName: d.orgName, parentCode: d.parentCode })) }, current, NOW);
    expect(plan).toMatchObject({ ok: true, ops: [], outcome: 'unchanged' });
  });

  test('a list with a cycle is refused as a whole', () => {
    const plan = planDepartmentList({ tenantId: T, departments: [{ orgCode: 'a', orgName: 'A', parentCode: 'b' }, { orgCode: 'b', orgName: 'B', parentCode: 'a' }] }, current, NOW);
    expect(plan).toEqual({ ok: false, reason: expect.stringMatching(/own ancestor/) });
  });
});
