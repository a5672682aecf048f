import type Redis from 'ioredis';
import type { KeyObject } from 'node:crypto';
import { loadPublicKey } from '../../src/crypto/rsa-oaep';
import { kitTimeStamp, type KitInterface } from '../../src/kit/client';
import type { Stack } from '../../src/sandbox/stack';
import { createLogger } from '../../src/observability/logger';
import { v1AuthToken } from '../../src/crypto/kit-signature';
import { startRedis, type RedisServer } from '../support/redis';
import { DEMO_APP_ID, syncedStack } from '../support/stack';
import { bodies, directorySnapshot, kitCalls, kitChecks, post, rawRedis, type Generation } from '../support/kit';

/**
 * The five kit interfaces (docs/protocol.md §3.3–3.8), V2 and V1, over real HTTP into a koogate on a private
 * Redis: accepted, duplicated, reordered, stale, replayed, tampered, malformed, oversize and wrongly typed
 * calls. Every refused call is checked to leave every directory key in Redis exactly as it was, and every
 * V1 answer to carry a Body-Sign over its exact bytes.
 */
describe.each(['v2', 'v1'] as const)('kit interfaces over HTTP (%s)', (generation: Generation) => {
  let redisServer: RedisServer;
  let redis: Redis;
  let stack: Stack;
  let publicKey: KeyObject;
  const kit = kitCalls(() => ({ baseUrl: stack.koogate.url, accessKey: stack.secrets.accessKey, publicKey }));
  const g = generation;
  /** Tenant ids unique to this generation, so the two runs never meet. */
  const T = (name: string) => `t-${g}-${name}`;
  const domain = (tenantId: string) => stack.sandbox.domainOf(tenantId);
  const dir = () => stack.koogate.directory;
  /** Every line koogate logged, as JSON objects. */
  const logLines: string[] = [];
  const logged = () => logLines.map((l) => JSON.parse(l) as { level: string; msg: string; resultCode?: string; reason?: string });

  const send = (iface: KitInterface, body: Record<string, unknown>, opts: Parameters<typeof kit.build>[2] = {}) => kit.send(iface, body, { generation: g, ...opts });
  const build = (iface: KitInterface, body: Record<string, unknown>, opts: Parameters<typeof kit.build>[2] = {}) => kit.build(iface, body, { generation: g, ...opts });

  /** Every answer well-formed (a Body-Sign on V1 ones); every refusal leaves every directory key in Redis as it was. */
  const { expectWellFormed, expectOk, expectRefused } = kitChecks({ generation: g, accessKey: () => stack.secrets.accessKey, snapshot: () => directorySnapshot(redis) });

  beforeAll(async () => {
    redisServer = await startRedis();
    redis = await rawRedis(redisServer.url);
    stack = await syncedStack({ redisUrl: redisServer.url, log: createLogger('info', (l) => void logLines.push(l)) });
    publicKey = loadPublicKey(stack.secrets.publicKeyPem);
    // A tenant with users and departments that hostile calls aim at: a wrongly accepted one would show.
    await expectOk(send('tenantSync', bodies.tenant(T('base'), domain(T('base')))));
    await expectOk(send('authSync', bodies.auth(T('base'), [bodies.user('alice', { role: 'admin' }), bodies.user('bob')])));
    await expectOk(send('allOrgSync', bodies.orgs(T('base'), [{ orgCode: 'hq', orgName: 'HQ', parentCode: '' }, { orgCode: 'rd', orgName: 'R&D', parentCode: 'hq' }])));
  });
  afterAll(async () => {
    await stack?.close();
    redis?.disconnect();
    await redisServer?.dispose();
  });

  describe('accepted', () => {
    test('tenantSync and applicationSync add a tenant and its credentials', async () => {
      await expectOk(send('tenantSync', bodies.tenant(T('new'), domain(T('new')))));
      expect(await dir().getTenant(T('new'))).toMatchObject({ tenantId: T('new'), tenantCode: `code-${T('new')}`, domainName: domain(T('new')) });
      await expectOk(send('applicationSync', bodies.app(T('new'), { clientSecret: `s3cret-${g}` })));
      expect(await dir().getAppCredential(T('new'), DEMO_APP_ID)).toEqual({ clientId: `client-${T('new')}`, clientSecret: `s3cret-${g}` });
    });

    test('authSync add stores each user, field by field', async () => {
      const full = bodies.user('carol', {
        name: '陈静',
        orgCode: 'rd',
        role: 'admin',
        enable: 'true',
        position: '经理',
        employeeCode: 'E-7',
        employeeType: 2,
        mobile: '13800000009',
        email: 'carol@example.com',
        workPlace: 'Shenzhen',
        entryDate: '2024-03-01',
      });
      await expectOk(send('authSync', bodies.auth(T('base'), [full, bodies.user('dave', { enable: 'false', position: null })])));
      expect(await dir().getUser(T('base'), 'carol')).toMatchObject({
        tenantId: T('base'),
        userName: 'carol',
        name: '陈静',
        orgCode: 'rd',
        role: 'admin',
        enabled: true,
        authorized: true,
        position: '经理',
        employeeCode: 'E-7',
        employeeType: 2,
        mobile: '13800000009',
        email: 'carol@example.com',
        workPlace: 'Shenzhen',
        entryDate: '2024-03-01',
        appId: DEMO_APP_ID,
      });
      const dave = await dir().getUser(T('base'), 'dave');
      expect(dave).toMatchObject({ enabled: false, authorized: true, role: 'user' });
      expect(dave).not.toHaveProperty('position');
      expect(await dir().getUserAccess(T('base'), 'carol')).toEqual({ allowed: true, role: 'admin' });
      expect(await dir().getUserAccess(T('base'), 'dave')).toEqual({ allowed: false, role: 'user' });
      expect(await dir().getUserAccess(T('base'), 'nobody')).toBeNull();
    });

    test('authSync accepts userList as a JSON string (older senders)', async () => {
      const body = bodies.auth(T('base'), [], { userList: JSON.stringify([bodies.user('erin')]) });
      await expectOk(send('authSync', body));
      expect(await dir().getUser(T('base'), 'erin')).toMatchObject({ userName: 'erin', authorized: true, enabled: true });
    });

    test('authSync modify (2) replaces fields, cancel (3) withdraws, add (1) restores, delete (0) removes', async () => {
      const t = T('life');
      await expectOk(send('authSync', bodies.auth(t, [bodies.user('u1', { role: 'admin', email: 'u1@x' })])));
      await expectOk(send('authSync', bodies.auth(t, [bodies.user('u1', { role: 'user', name: 'Renamed' })], { flag: 2 })));
      const modified = await dir().getUser(t, 'u1');
      expect(modified).toMatchObject({ role: 'user', name: 'Renamed', authorized: true });
      expect(modified).not.toHaveProperty('email');

      // Cancel needs only the name, and keeps the user known.
      await expectOk(send('authSync', bodies.auth(t, [{ userName: 'u1' }], { flag: 3 })));
      expect(await dir().getUser(t, 'u1')).toMatchObject({ authorized: false, name: 'Renamed', role: 'user' });
      expect(await dir().getUserAccess(t, 'u1')).toEqual({ allowed: false, role: 'user' });
      // A modify does not re-authorize a cancelled user; an add does.
      await expectOk(send('authSync', bodies.auth(t, [bodies.user('u1', { role: 'admin' })], { flag: 2 })));
      expect(await dir().getUserAccess(t, 'u1')).toEqual({ allowed: false, role: 'admin' });
      await expectOk(send('authSync', bodies.auth(t, [bodies.user('u1', { role: 'admin' })], { flag: 1 })));
      expect(await dir().getUserAccess(t, 'u1')).toEqual({ allowed: true, role: 'admin' });

      await expectOk(send('authSync', bodies.auth(t, [{ userName: 'u1' }], { flag: 0 })));
      expect(await dir().getUser(t, 'u1')).toBeNull();
      expect((await dir().listUsers(t, { limit: 10 })).items).toEqual([]);
    });

    test('authSync delete and cancel of users never seen succeed', async () => {
      const t = T('ghost');
      await expectOk(send('authSync', bodies.auth(t, [{ userName: 'ghost' }], { flag: 0 })));
      expect(await dir().getUser(t, 'ghost')).toBeNull();
      await expectOk(send('authSync', bodies.auth(t, [{ userName: 'ghost2' }], { flag: 3 })));
      expect(await dir().getUserAccess(t, 'ghost2')).toEqual({ allowed: false, role: 'user' });
    });

    test('authSync with exactly 500 users is applied in one piece, well within 5 s', async () => {
      const users = Array.from({ length: 500 }, (_, i) => bodies.user(`bulk-${String(i).padStart(3, '0')}`, { email: `bulk${i}@example.com`, position: 'p'.repeat(100) }));
      const started = Date.now();
      await expectOk(send('authSync', bodies.auth(T('bulk'), users)));
      expect(Date.now() - started).toBeLessThan(5000);
      const page = await dir().listUsers(T('bulk'), { limit: 500 });
      expect(page.total).toBe(500);
      expect(page.items.every((u) => u.authorized && u.enabled)).toBe(true);
    });

    test('singleOrgSync adds, moves (parentCode changes), renames with `name`, and deletes a department', async () => {
      const t = T('org');
      await expectOk(send('singleOrgSync', bodies.org(t, 'root')));
      await expectOk(send('singleOrgSync', bodies.org(t, 'a', { parentCode: 'root' })));
      await expectOk(send('singleOrgSync', bodies.org(t, 'b', { parentCode: 'a' })));
      expect(await dir().listDepartments(t)).toEqual([
        expect.objectContaining({ orgCode: 'a', parentCode: 'root' }),
        expect.objectContaining({ orgCode: 'b', parentCode: 'a' }),
        expect.objectContaining({ orgCode: 'root', parentCode: '' }),
      ]);
      await expectOk(send('singleOrgSync', bodies.org(t, 'b', { flag: 2, parentCode: 'root', orgName: undefined, name: 'Bee' })));
      expect((await dir().listDepartments(t)).find((d) => d.orgCode === 'b')).toMatchObject({ parentCode: 'root', orgName: 'Bee' });
      await expectOk(send('singleOrgSync', { instanceId: `inst-${t}`, tenantId: t, orgCode: 'a', flag: 0, timeStamp: kitTimeStamp(Date.now()) }));
      expect((await dir().listDepartments(t)).map((d) => d.orgCode)).toEqual(['b', 'root']);
      // Deleting it again, or something never seen, succeeds.
      await expectOk(send('singleOrgSync', { tenantId: t, orgCode: 'a', flag: 0, timeStamp: kitTimeStamp(Date.now() - 1) }));
    });

    test('allOrgSync replaces the department set; a later list drops what it no longer names', async () => {
      const t = T('all');
      await expectOk(send('allOrgSync', bodies.orgs(t, [
        { orgCode: 'hq', orgName: 'HQ', parentCode: '' },
        { orgCode: 'rd', orgName: 'R&D', parentCode: 'hq' },
        { orgCode: 'ops', orgName: 'Ops', parentCode: 'hq' },
      ])));
      expect((await dir().listDepartments(t)).map((d) => d.orgCode)).toEqual(['hq', 'ops', 'rd']);
      const untouched = await redis.get(`koogate:dir:org:${encodeURIComponent(t)}:hq`);
      await expectOk(send('allOrgSync', bodies.orgs(t, [
        { orgCode: 'hq', orgName: 'HQ', parentCode: '' },
        { orgCode: 'rd', orgName: 'Research', parentCode: 'hq' },
        { orgCode: 'qa', orgName: 'QA', parentCode: 'rd' },
      ])));
      expect(await dir().listDepartments(t)).toEqual([
        expect.objectContaining({ orgCode: 'hq', orgName: 'HQ' }),
        expect.objectContaining({ orgCode: 'qa', parentCode: 'rd' }),
        expect.objectContaining({ orgCode: 'rd', orgName: 'Research' }),
      ]);
      // An unchanged department is not rewritten.
      expect(await redis.get(`koogate:dir:org:${encodeURIComponent(t)}:hq`)).toBe(untouched);
      // An empty list empties the set.
      await expectOk(send('allOrgSync', bodies.orgs(t, [])));
      expect(await dir().listDepartments(t)).toEqual([]);
    });

    test('allOrgSync as V1 sends it: `orgInfo` as a JSON string, entries with `name`', async () => {
      const t = T('orginfo');
      const body = { instanceId: `inst-${t}`, tenantId: t, orgInfo: JSON.stringify([{ orgCode: 'x', name: 'Ex', parentCode: '' }, { orgCode: 'y', name: 'Why', parentCode: 'x' }]), testFlag: 1, timeStamp: kitTimeStamp(Date.now()) };
      await expectOk(send('allOrgSync', body));
      expect(await dir().listDepartments(t)).toEqual([
        expect.objectContaining({ orgCode: 'x', orgName: 'Ex', parentCode: '' }),
        expect.objectContaining({ orgCode: 'y', orgName: 'Why', parentCode: 'x' }),
      ]);
    });

    test('numbers as numeric strings ("flag":"1", "testFlag":"0", "employeeType":"3")', async () => {
      await expectOk(send('authSync', bodies.auth(T('str'), [bodies.user('s1', { employeeType: '3' })], { flag: '1', testFlag: '0' })));
      expect(await dir().getUser(T('str'), 's1')).toMatchObject({ employeeType: 3, testFlag: 0 });
      await expectOk(send('tenantSync', bodies.tenant(T('str'), domain(T('str')), { flag: '1', testFlag: '0' })));
      expect(await dir().getTenant(T('str'))).toMatchObject({ testFlag: 0 });
    });

    test('a tenantSync delete removes the tenant with its users and departments', async () => {
      const t = T('gone');
      await expectOk(send('tenantSync', bodies.tenant(t, domain(t))));
      await expectOk(send('authSync', bodies.auth(t, [bodies.user('g1'), bodies.user('g2')])));
      await expectOk(send('allOrgSync', bodies.orgs(t, [{ orgCode: 'o1', orgName: 'O1', parentCode: '' }])));
      await expectOk(send('tenantSync', { instanceId: `inst-${t}`, tenantId: t, flag: 0, timeStamp: kitTimeStamp(Date.now()) }));
      const left = Object.keys(await directorySnapshot(redis)).filter((k) => k.includes(encodeURIComponent(t)) || k.endsWith(`:${t}`));
      expect(left).toEqual([]);
    });
  });

  describe('duplicated deliveries change nothing (idempotent by the protocol keys)', () => {
    const cases: [string, KitInterface, () => Record<string, unknown>][] = [
      ['tenantSync add', 'tenantSync', () => bodies.tenant(T('dup'), domain(T('dup')))],
      ['applicationSync add (fresh OAEP randomness, same secret)', 'applicationSync', () => bodies.app(T('dup'))],
      ['authSync add', 'authSync', () => bodies.auth(T('dup'), [bodies.user('d1'), bodies.user('d2', { role: 'admin' })])],
      ['authSync cancel', 'authSync', () => bodies.auth(T('dup'), [{ userName: 'd1' }], { flag: 3 })],
      ['authSync delete', 'authSync', () => bodies.auth(T('dup'), [{ userName: 'd2' }], { flag: 0 })],
      ['singleOrgSync add', 'singleOrgSync', () => bodies.org(T('dup'), 'o1')],
      ['allOrgSync', 'allOrgSync', () => bodies.orgs(T('dup'), [{ orgCode: 'o1', orgName: 'Org o1', parentCode: '' }, { orgCode: 'o2', orgName: 'O2', parentCode: 'o1' }])],
    ];
    test.each(cases)('%s', async (_name, iface, body) => {
      await expectOk(send(iface, { ...body(), timeStamp: kitTimeStamp(Date.now() - 2000) }));
      const after = await directorySnapshot(redis);
      // A genuine second delivery: fresh nonce (V2) and timeStamp (V1), same content.
      await expectOk(send(iface, { ...body(), timeStamp: kitTimeStamp(Date.now()) }));
      expect(await directorySnapshot(redis)).toEqual(after);
    });
  });

  describe('reordered keys are the same call', () => {
    const reversed = (o: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(o).reverse());
    test.each([
      ['tenantSync', 'tenantSync', () => bodies.tenant(T('rev'), domain(T('rev')))],
      ['applicationSync', 'applicationSync', () => bodies.app(T('rev'))],
      ['authSync (nested users reordered too)', 'authSync', () => bodies.auth(T('rev'), [reversed(bodies.user('r1')), bodies.user('r2')])],
      ['singleOrgSync', 'singleOrgSync', () => bodies.org(T('rev'), 'r')],
      ['allOrgSync', 'allOrgSync', () => bodies.orgs(T('rev'), [reversed({ orgCode: 'r', orgName: 'Org r', parentCode: '' })])],
    ] as [string, KitInterface, () => Record<string, unknown>][])('%s', async (_name, iface, body) => {
      const b = body();
      expect(Object.keys(reversed(b))).not.toEqual(Object.keys(b));
      await expectOk(send(iface, reversed({ ...b, timeStamp: kitTimeStamp(Date.now() - 2000) })));
      const after = await directorySnapshot(redis);
      // The same content in the usual order is a duplicate: nothing changes.
      await expectOk(send(iface, { ...b, timeStamp: kitTimeStamp(Date.now()) }));
      expect(await directorySnapshot(redis)).toEqual(after);
    });
  });

  describe('stale and replayed calls are refused (000002)', () => {
    const hostile: [KitInterface, () => Record<string, unknown>][] = [
      ['tenantSync', () => ({ instanceId: `inst-${T('base')}`, tenantId: T('base'), flag: 0 })],
      ['applicationSync', () => ({ instanceId: `inst-${T('base')}`, tenantId: T('base'), appId: DEMO_APP_ID, flag: 0 })],
      ['authSync', () => bodies.auth(T('base'), [{ userName: 'alice' }], { flag: 0 })],
      ['singleOrgSync', () => ({ tenantId: T('base'), orgCode: 'hq', flag: 0 })],
      ['allOrgSync', () => bodies.orgs(T('base'), [])],
    ];

    test.each(hostile)('%s more than 60 s old or ahead', async (iface, body) => {
      for (const shift of [-61_000, 61_000, -3_600_000]) {
        const when = Date.now() + shift;
        // V2 judges x-timestamp, V1 the body's timeStamp: both are shifted.
        const a = await expectRefused(build(iface, { ...body(), timeStamp: kitTimeStamp(when) }, { now: () => when }), '000002');
        expect(a.resultMsg).toMatch(/window/);
      }
    });

    test.each(hostile)('%s replayed after the state moved on', async (iface, body) => {
      // The call applies (it deletes or empties something), the state is put back, then the call is replayed:
      // a replay that got through would delete it again.
      const req = build(iface, { ...body(), timeStamp: kitTimeStamp(Date.now()) });
      const before = await directorySnapshot(redis);
      const first = await post(req, stack.secrets.accessKey);
      expectWellFormed(first);
      expect(first.resultCode).toBe('000000');
      expect(await directorySnapshot(redis)).not.toEqual(before);
      await restoreBase();
      const a = await expectRefused(req, '000002');
      expect(a.resultMsg).toMatch(/replay/);
    });

    async function restoreBase() {
      await expectOk(send('tenantSync', bodies.tenant(T('base'), domain(T('base')), { timeStamp: kitTimeStamp(Date.now() - 5) })));
      const snap = await directorySnapshot(redis);
      if (!Object.keys(snap).some((k) => k.endsWith(`:${T('base')}:${DEMO_APP_ID}`))) {
        await expectOk(send('applicationSync', bodies.app(T('base'), { timeStamp: kitTimeStamp(Date.now() - 6) })));
      }
      await expectOk(send('authSync', bodies.auth(T('base'), [bodies.user('alice', { role: 'admin' })], { timeStamp: kitTimeStamp(Date.now() - 7) })));
      await expectOk(send('allOrgSync', bodies.orgs(T('base'), [{ orgCode: 'hq', orgName: 'HQ', parentCode: '' }, { orgCode: 'rd', orgName: 'R&D', parentCode: 'hq' }], { timeStamp: kitTimeStamp(Date.now() - 8) })));
    }

    beforeAll(async () => {
      // The replay tests restore this exact state; make it the state now.
      await restoreBase();
    });
  });

  describe('tampered calls are refused (000001)', () => {
    const aimed: [KitInterface, () => Record<string, unknown>, Record<string, unknown>][] = [
      ['tenantSync', () => bodies.tenant(T('evil'), 'https://evil.example'), { tenantId: T('base'), flag: 0 }],
      ['applicationSync', () => bodies.app(T('evil')), { tenantId: T('base'), flag: 2 }],
      ['authSync', () => bodies.auth(T('base'), [bodies.user('alice', { role: 'admin' })]), { flag: 0 }],
      ['singleOrgSync', () => bodies.org(T('base'), 'hq'), { flag: 0 }],
      ['allOrgSync', () => bodies.orgs(T('base'), [{ orgCode: 'hq', orgName: 'HQ', parentCode: '' }, { orgCode: 'rd', orgName: 'R&D', parentCode: 'hq' }]), { orgInfoList: [] }],
    ];

    test.each(aimed)('%s with a field changed after signing', async (iface, body, change) => {
      const req = build(iface, body());
      const sent = JSON.parse(req.body) as Record<string, unknown>;
      const tampered = { ...sent, ...change };
      if (g === 'v1' && Array.isArray(tampered.orgInfoList)) tampered.orgInfoList = JSON.stringify(tampered.orgInfoList);
      await expectRefused({ ...req, body: JSON.stringify(tampered) }, '000001');
    });

    test.each(aimed)('%s signed with another access key', async (iface, body) => {
      await expectRefused(build(iface, body(), { accessKey: `${stack.secrets.accessKey}-not` }), '000001');
    });

    test.each(aimed)('%s without its signature header', async (iface, body) => {
      const req = build(iface, body());
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['x-sign', 'authToken'].includes(k)));
      await expectRefused({ ...req, headers }, '000001');
    });

    test('a parameter named __proto__ is covered like any other: added unsigned it is refused, signed it is accepted', async () => {
      const req = build('tenantSync', bodies.tenant(T('proto'), domain(T('proto'))));
      const withProto = `${req.body.slice(0, -1)},"__proto__":"x"}`;
      await expectRefused({ ...req, body: withProto }, '000001');
      const sent = JSON.parse(withProto) as Record<string, unknown>;
      if (g === 'v2') {
        await expectOk(post(kit.rawV2('tenantSync', withProto), stack.secrets.accessKey));
      } else {
        const params = Object.create(null) as Record<string, string>;
        for (const [k, v] of Object.entries(sent)) params[k] = typeof v === 'string' ? v : JSON.stringify(v);
        const token = v1AuthToken(stack.secrets.accessKey, String(sent.timeStamp), params);
        await expectOk(post({ ...req, body: withProto, headers: { ...req.headers, authToken: token } }, stack.secrets.accessKey));
      }
    });

    test('a user list entry flipped from "true" to "false" after signing', async () => {
      const req = build('authSync', bodies.auth(T('base'), [bodies.user('alice', { role: 'admin' })]));
      await expectRefused({ ...req, body: req.body.replace(/"true"|\\"true\\"/, (m) => m.replace('true', 'false')) }, '000001');
    });
  });

  describe('malformed bodies are refused (000002)', () => {
    const raw = (iface: string, text: string) => (g === 'v2' ? kit.rawV2(iface, text) : kit.rawV1(iface, text, { params: {}, timeStamp: kitTimeStamp(Date.now()) }));
    test.each([
      ['truncated JSON', '{"tenantId":"x","flag":1,'],
      ['empty body', ''],
      ['not JSON', 'tenantId=x&flag=1&'],
      ['JSON with a trailing comma', '{"tenantId":"x","flag":1,}'],
      ['a JSON array', '[{"tenantId":"x"}]'],
      ['JSON null', 'null'],
      ['a JSON string', '"authSync"'],
      ['a JSON number', '42'],
      ['JSON true', 'true'],
    ])('%s', async (_name, text) => {
      for (const iface of ['tenantSync', 'authSync', 'allOrgSync']) {
        await expectRefused(raw(iface, text), '000002');
      }
    });

    test('an unknown interface', async () => {
      const req = build('tenantSync', bodies.tenant(T('base'), domain(T('base'))));
      for (const name of ['fooSync', 'authSync-x', 'AUTHSYNC', 'TENANTSYNC', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
        await expectRefused({ ...req, url: req.url.replace(/tenantSync$/, name) }, '000002');
      }
    });
  });

  describe('hostile input never comes back, and cannot make koogate fail', () => {
    const raw = (iface: string, text: string) => (g === 'v2' ? kit.rawV2(iface, text) : kit.rawV1(iface, text, { params: {}, timeStamp: kitTimeStamp(Date.now()) }));
    const MARK = '<script>alert(1)</script>';

    test('an unknown interface named with markup: not echoed, nosniff', async () => {
      const req = build('tenantSync', bodies.tenant(T('base'), domain(T('base'))));
      const res = await fetch(req.url.replace(/tenantSync$/, encodeURIComponent(MARK)), { method: 'POST', headers: req.headers, body: req.body });
      const text = await res.text();
      expect(JSON.parse(text)).toMatchObject({ resultCode: '000002' });
      expect(text).not.toContain('script');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    });

    test('a signed call whose values and keys hold markup: refused without echoing them', async () => {
      const users = [bodies.user(MARK), bodies.user(MARK)];
      const a = await expectRefused(build('authSync', bodies.auth(T('base'), users)), '000002');
      expect(a.text).not.toContain('script');
      const b = await expectRefused(build('tenantSync', bodies.tenant(T('base'), domain(T('base')), { appId: MARK, [MARK]: 1, flag: MARK })), '000002');
      expect(b.text).not.toContain('script');
    });

    test('every answer carries nosniff, refusals and body-parser failures too', async () => {
      const ok = build('tenantSync', bodies.tenant(T('nosniff'), domain(T('nosniff'))));
      for (const req of [ok, raw('tenantSync', '{'), { ...ok, body: 'x'.repeat(3 * 1024 * 1024) }]) {
        const res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body });
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        await res.arrayBuffer();
      }
    });

    test.each([5000, 100_000])('JSON nested %i levels deep, unsigned or signed: 000002 before any signature work, logged at warn', async (depth) => {
      const deep = `{"tenantId":"x","a":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const unsigned = { ...raw('tenantSync', deep), headers: { ...raw('tenantSync', deep).headers, 'x-sign': '0'.repeat(64), authToken: 'x' } };
      for (const req of [unsigned, raw('tenantSync', deep)]) {
        const before = logLines.length;
        const a = await expectRefused(req, '000002');
        expect(a.resultMsg).toMatch(/nested deeper/);
        const lines = logged().slice(before);
        expect(lines.some((l) => l.level === 'warn' && l.resultCode === '000002')).toBe(true);
        expect(lines.some((l) => l.level === 'error')).toBe(false);
      }
    });

    test('brackets inside strings are no nesting', async () => {
      const body = bodies.tenant(T('brackets'), domain(T('brackets')), { name: '[{'.repeat(100) });
      await expectOk(send('tenantSync', body));
    });
  });

  describe('oversize calls are refused (000002)', () => {
    test('authSync with 501 users', async () => {
      const users = Array.from({ length: 501 }, (_, i) => bodies.user(`over-${i}`));
      const a = await expectRefused(build('authSync', bodies.auth(T('base'), users)), '000002');
      expect(a.resultMsg).toMatch(/500/);
      expect(await dir().getUser(T('base'), 'over-0')).toBeNull();
    });

    test('a body over the size limit (3 MB), answered without reading it all into the directory', async () => {
      const users = Array.from({ length: 400 }, (_, i) => bodies.user(`huge-${i}`, { position: 'x'.repeat(8000) }));
      const req = build('authSync', bodies.auth(T('base'), users));
      expect(Buffer.byteLength(req.body)).toBeGreaterThan(3_000_000);
      const a = await expectRefused(req, '000002');
      expect(a.resultMsg).toMatch(/larger/);
    });

    test('an allOrgSync list beyond the limit (signed, within the body size)', async () => {
      const list = Array.from({ length: 20_001 }, (_, i) => ({ orgCode: `c${i}`, orgName: 'n' }));
      await expectRefused(build('allOrgSync', bodies.orgs(T('base'), list)), '000002');
    });
  });

  describe('wrong types and values are refused field by field (000002)', () => {
    const authCases: [string, Record<string, unknown>][] = [
      ['enable a JSON boolean', { userList: [bodies.user('alice', { enable: true })] }],
      ['enable "yes"', { userList: [bodies.user('alice', { enable: 'yes' })] }],
      ['enable missing on add', { userList: [bodies.user('alice', { enable: undefined })] }],
      ['role "root"', { userList: [bodies.user('alice', { role: 'root' })] }],
      ['role missing on modify', { flag: 2, userList: [bodies.user('alice', { role: undefined })] }],
      ['userName a number', { userList: [bodies.user('alice', { userName: 42 })] }],
      ['userName blank', { userList: [bodies.user('alice', { userName: '  ' })] }],
      ['userName too long', { userList: [bodies.user('a'.repeat(129))] }],
      ['name an object', { userList: [bodies.user('alice', { name: { zh: '爱丽丝' } })] }],
      ['email too long', { userList: [bodies.user('alice', { email: `${'e'.repeat(300)}@x` })] }],
      ['employeeType 5', { userList: [bodies.user('alice', { employeeType: 5 })] }],
      ['a user that is a string', { userList: ['alice'] }],
      ['the same user twice', { userList: [bodies.user('alice'), bodies.user('alice', { role: 'admin' })] }],
      ['an empty userList', { userList: [] }],
      ['userList an object', { userList: { alice: bodies.user('alice') } }],
      ['userList a string that is not JSON', { userList: '[{"userName":"alice"' }],
      ['userList missing', { userList: undefined }],
      ['flag 4', { flag: 4 }],
      ['flag "3x"', { flag: '3x' }],
      ['flag missing', { flag: undefined }],
      ['tenantId a number', { tenantId: 7 }],
      ['tenantId missing', { tenantId: undefined }],
      ['appId of another app', { appId: 'other-app-0002' }],
      // V1 sends structured values as JSON text, so its wrong currentSyncTime is one too long.
      ['currentSyncTime of the wrong shape', g === 'v2' ? { currentSyncTime: { t: 1 } } : { currentSyncTime: '9'.repeat(40) }],
      // V1 checks its timeStamp before anything else: a date that does not exist is a bad parameter there.
      ['timeStamp not a yyyyMMddHHmmssSSS date', g === 'v2' ? { timeStamp: '2024-01-01' } : { timeStamp: '20241301000000000' }],
    ];
    test.each(authCases)('authSync with %s', async (_name, over) => {
      // Aimed at alice (an admin) with a delete-free change: a wrongly accepted call would rewrite her.
      const body = bodies.auth(T('base'), [bodies.user('alice', { role: 'user', enable: 'false' }), bodies.user('bob', { role: 'admin' })], over);
      await expectRefused(build('authSync', body), '000002');
    });

    const singleCases: [string, Record<string, unknown>][] = [
      ['orgCode a number', { orgCode: 12 }],
      ['orgCode missing', { orgCode: undefined }],
      ['orgName missing on add', { orgName: undefined }],
      ['orgName and name differ', { name: 'Other' }],
      ['parentCode the department itself', { parentCode: 'hq' }],
      ['parentCode that makes a cycle (hq under its own child rd)', { parentCode: 'rd', flag: 2 }],
      ['flag 3', { flag: 3 }],
      ['orgName too long', { orgName: 'n'.repeat(257) }],
    ];
    test.each(singleCases)('singleOrgSync with %s', async (_name, over) => {
      await expectRefused(build('singleOrgSync', bodies.org(T('base'), 'hq', { orgName: 'Renamed HQ', ...over })), '000002');
    });

    const allCases: [string, Record<string, unknown>][] = [
      ['an entry without orgCode', { orgInfoList: [{ orgName: 'x', parentCode: '' }] }],
      ['an entry without a name', { orgInfoList: [{ orgCode: 'x', parentCode: '' }] }],
      ['an entry that is a number', { orgInfoList: [1] }],
      ['the same orgCode twice', { orgInfoList: [{ orgCode: 'x', orgName: 'X' }, { orgCode: 'x', orgName: 'Y' }] }],
      ['a cycle', { orgInfoList: [{ orgCode: 'x', orgName: 'X', parentCode: 'y' }, { orgCode: 'y', orgName: 'Y', parentCode: 'x' }] }],
      ['orgInfoList and orgInfo both', { orgInfo: [{ orgCode: 'x', orgName: 'X' }] }],
      ['no list at all', { orgInfoList: undefined }],
      ['orgInfoList a number', { orgInfoList: 3 }],
    ];
    test.each(allCases)('allOrgSync with %s', async (_name, over) => {
      await expectRefused(build('allOrgSync', bodies.orgs(T('base'), [{ orgCode: 'only', orgName: 'Only' }], over)), '000002');
    });

    test.each([
      ['tenantSync flag 3', 'tenantSync', () => bodies.tenant(T('base'), 'https://evil.example', { flag: 3 })],
      ['tenantSync domainName a number', 'tenantSync', () => bodies.tenant(T('base'), 'x', { flag: 2, domainName: 443 })],
      ['applicationSync flag 3', 'applicationSync', () => bodies.app(T('base'), { flag: 3 })],
      ['applicationSync appId of another app', 'applicationSync', () => bodies.app(T('base'), { appId: 'other-app-0002' })],
    ] as [string, KitInterface, () => Record<string, unknown>][])('%s', async (_name, iface, body) => {
      await expectRefused(build(iface, body()), '000002');
    });
  });

  describe('V1 only', () => {
    if (g !== 'v1') {
      test('V2 answers carry no Body-Sign', async () => {
        const a = await send('tenantSync', bodies.tenant(T('nosign'), domain(T('nosign'))));
        expect(a.bodySign).toBe('missing');
      });
      return;
    }

    test('a form-encoded body (URL-decoded parameters) is accepted', async () => {
      const t = T('form');
      const params: Record<string, string> = {
        instanceId: `inst-${t}`,
        tenantId: t,
        appId: DEMO_APP_ID,
        flag: '1',
        testFlag: '1',
        timeStamp: kitTimeStamp(Date.now()),
        userList: JSON.stringify([bodies.user('f1', { name: '冯 & 一' })]),
      };
      const req = kit.rawV1('authSync', new URLSearchParams(params).toString(), { params });
      req.headers['content-type'] = 'application/x-www-form-urlencoded';
      const a = await post(req, stack.secrets.accessKey);
      expectWellFormed(a);
      expect(a.resultCode).toBe('000000');
      expect(await dir().getUser(t, 'f1')).toMatchObject({ name: '冯 & 一' });
    });

    test('a call without timeStamp is refused: the authToken key needs it', async () => {
      const body = bodies.tenant(T('nots'), domain(T('nots')));
      delete body.timeStamp;
      const text = JSON.stringify(body);
      await expectRefused(kit.rawV1('tenantSync', text, { timeStamp: kitTimeStamp(Date.now()) }), '000002');
    });

    test('the same body with a new timeStamp is a new call, not a replay', async () => {
      const body = bodies.tenant(T('again'), domain(T('again')));
      await expectOk(send('tenantSync', { ...body, timeStamp: kitTimeStamp(Date.now() - 10) }));
      await expectOk(send('tenantSync', { ...body, timeStamp: kitTimeStamp(Date.now()) }));
    });

    test('an authToken of another timeStamp is refused', async () => {
      const body = bodies.tenant(T('base'), 'https://evil.example', { flag: 2 });
      const text = JSON.stringify(body);
      await expectRefused(kit.rawV1('tenantSync', text, { timeStamp: kitTimeStamp(Date.now() - 1000) }), '000001');
    });
  });
});
