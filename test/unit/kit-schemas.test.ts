import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { authSyncSchema } from '../../src/kit/auth-sync';
import { describeIssues, withoutNulls } from '../../src/kit/fields';
import { allOrgSyncSchema, singleOrgSyncSchema } from '../../src/kit/org-sync';
import { kitTimeStamp, parseKitTimeStamp } from '../../src/kit/time-stamp';

const user = (over: Record<string, unknown> = {}) => ({ userName: 'u1', name: 'U', orgCode: 'o', role: 'user', enable: 'true', ...over });
const auth = (over: Record<string, unknown> = {}) => ({ tenantId: 't', appId: 'a', userList: [user()], flag: 1, ...over });

const problem = (r: { success: boolean; error?: Parameters<typeof describeIssues>[0] }) => (r.success ? 'accepted' : describeIssues(r.error!));

describe('authSync schema', () => {
  test('a full body parses to typed values (enable stays a checked string, employeeType a number)', () => {
    const r = authSyncSchema.parse(auth({ userList: [user({ employeeType: '2', position: null })], testFlag: '1', currentSyncTime: 1700000000000 }));
    expect(r).toMatchObject({ tenantId: 't', appId: 'a', flag: 1, testFlag: 1, instanceId: '' });
    expect(r.userList[0]).toMatchObject({ userName: 'u1', enable: 'true', employeeType: 2 });
    expect(r.userList[0]!.position).toBeUndefined();
  });

  test('userList as a JSON string is the same as the array', () => {
    expect(authSyncSchema.parse(auth({ userList: JSON.stringify([user()]) }))).toEqual(authSyncSchema.parse(auth()));
  });

  test.each([
    ['enable boolean', auth({ userList: [user({ enable: true })] }), /userList\.0\.enable: must be the string "true" or "false"/],
    ['role', auth({ userList: [user({ role: 'owner' })] }), /userList\.0\.role/],
    ['flag 3 is cancel, 4 is nothing', auth({ flag: 4 }), /flag: must be one of 0, 1, 2, 3/],
    ['501 users', auth({ userList: Array.from({ length: 501 }, (_, i) => user({ userName: `u${i}` })) }), /at most 500 users/],
    ['no users', auth({ userList: [] }), /at least one user/],
    ['duplicate user', auth({ userList: [user(), user()] }), /userList\.1\.userName: appears more than once/],
    ['enable missing on add', auth({ userList: [user({ enable: undefined })] }), /enable: is required when adding/],
    ['userList not JSON', auth({ userList: '[{' }), /userList: must be an array of users/],
  ])('refuses %s', (_n, body, message) => {
    expect(problem(authSyncSchema.safeParse(body))).toMatch(message);
  });

  test('cancel and delete need only the user name', () => {
    for (const flag of [0, 3]) expect(problem(authSyncSchema.safeParse(auth({ flag, userList: [{ userName: 'u1' }] })))).toBe('accepted');
  });
});

describe('department schemas', () => {
  test('singleOrgSync takes `name` for orgName, and refuses a conflicting pair', () => {
    expect(singleOrgSyncSchema.parse({ tenantId: 't', orgCode: 'o', name: 'N', flag: 1 })).toMatchObject({ name: 'N' });
    expect(problem(singleOrgSyncSchema.safeParse({ tenantId: 't', orgCode: 'o', name: 'N', orgName: 'M', flag: 1 }))).toMatch(/differ/);
    expect(problem(singleOrgSyncSchema.safeParse({ tenantId: 't', orgCode: 'o', flag: 1 }))).toMatch(/orgName: is required/);
    expect(problem(singleOrgSyncSchema.safeParse({ tenantId: 't', orgCode: 'o', flag: 0 }))).toBe('accepted');
  });

  test('allOrgSync: orgInfoList or orgInfo, array or JSON string, orgName or name', () => {
    const expected = [{ orgCode: 'a', orgName: 'A', parentCode: '' }, { orgCode: 'b', orgName: 'B', parentCode: 'a' }];
    const forms = [
      { orgInfoList: [{ orgCode: 'a', orgName: 'A' }, { orgCode: 'b', orgName: 'B', parentCode: 'a' }] },
      { orgInfo: JSON.stringify([{ orgCode: 'a', name: 'A', parentCode: null }, { orgCode: 'b', name: 'B', parentCode: 'a' }]) },
      { orgInfoList: JSON.stringify([{ orgCode: 'a', name: 'A' }, { orgCode: 'b', orgName: 'B', parentCode: 'a' }]) },
    ];
    for (const f of forms) expect(allOrgSyncSchema.parse({ tenantId: 't', ...f }).departments).toEqual(expected);
  });
});

describe('withoutNulls', () => {
  test('drops top-level nulls only, as the signed payload does', () => {
    expect(withoutNulls({ a: null, b: 0, c: '', d: [null], e: { f: null } })).toEqual({ b: 0, c: '', d: [null], e: { f: null } });
  });

  test('a key named __proto__ stays data', () => {
    const out = withoutNulls(JSON.parse('{"__proto__":{"polluted":1},"x":1}') as Record<string, unknown>);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('kit timeStamp (UTC+8 yyyyMMddHHmmssSSS)', () => {
  test('round-trips', () => {
    for (const ms of [0, 1_700_000_000_123, Date.UTC(2024, 1, 29, 15, 59, 59, 999)]) expect(parseKitTimeStamp(kitTimeStamp(ms))).toBe(ms);
    expect(parseKitTimeStamp('20231115061320123')).toBe(1_700_000_000_123);
  });

  test.each(['2023111506132012', '202311150613201234', '20231315061320123', '20230230061320123', '20231115246000000', 'yyyyMMddHHmmssSSS', ''])('refuses %j', (s) => {
    expect(parseKitTimeStamp(s)).toBeNull();
  });
});

describe('examples/kit', () => {
  test('every sample body passes its interface schema', () => {
    const dir = join(__dirname, '..', '..', 'examples', 'kit');
    const read = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>;
    expect(problem(authSyncSchema.safeParse(read('authSync.json')))).toBe('accepted');
    expect(problem(singleOrgSyncSchema.safeParse(read('singleOrgSync.json')))).toBe('accepted');
    expect(problem(allOrgSyncSchema.safeParse(read('allOrgSync.json')))).toBe('accepted');
  });
});
