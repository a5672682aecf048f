import { randomBytes } from 'node:crypto';
import { loadPublicKey } from '../../src/crypto/rsa-oaep';
import { demoUserEntry, type Stack } from '../../src/sandbox/stack';
import { basicBodies, basicCalls, postBasic } from '../support/basic';
import { Client } from '../support/browserless-client';
import { bodies, kitCalls } from '../support/kit';
import { login } from '../support/login';
import { startRedis, type RedisServer } from '../support/redis';
import { api, syncedStack } from '../support/stack';

/**
 * The basic (instance) interfaces over real HTTP at the production address, signed as KooGallery signs
 * them, against Redis and against the memory store; and the access that follows the subscription.
 */
const API_TOKEN = 'basic-interfaces-test-token-0123456789abcdef';
const auth = { authorization: `Bearer ${API_TOKEN}` };
const uid = () => randomBytes(6).toString('hex');

describe.each(['redis', 'memory'] as const)('basic interfaces (%s store)', (kind) => {
  let redis: RedisServer | undefined;
  let stack: Stack;
  const produce = () => `${stack.koogate.url}/_koogate/produce`;
  const basic = basicCalls(() => ({ url: produce(), accessKey: stack.secrets.basicAccessKey }));
  const kit = kitCalls(() => ({ baseUrl: stack.koogate.url, accessKey: stack.secrets.accessKey }));
  const instance = (id: string) => stack.koogate.directory.instances.get(id);

  beforeAll(async () => {
    if (kind === 'redis') redis = await startRedis();
    stack = await syncedStack({ redisUrl: redis?.url, env: { KOOGATE_API_TOKEN: API_TOKEN } });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await redis?.dispose();
  });

  /** A logged-in scripted browser of t-acme, checked to be in. */
  async function loggedIn(userName = 'zhangwei', tenantId = 't-acme'): Promise<Client> {
    const client = new Client();
    const hops = await login(client, stack.url, stack.sandbox, { tenantId, userName });
    expect(hops[hops.length - 1]!.status).toBe(200);
    expect(await whoami(client)).toBe(200);
    return client;
  }
  const whoami = async (client: Client) => (await client.request(`${stack.url}/api/whoami`, { headers: api })).status;
  const ok = async (p: ReturnType<typeof basic.send>) => {
    const a = await p;
    expect(a.json).toMatchObject({ resultCode: '000000' });
    return a;
  };

  describe('every activity', () => {
    test('answers are HTTP 200 application/json with resultCode and resultMsg', async () => {
      const a = await basic.send('newInstance', basicBodies.newInstance(`o-${uid()}`));
      expect(a.status).toBe(200);
      expect(a.contentType).toMatch(/^application\/json/);
      expect(a.json).toEqual({ resultCode: '000000', resultMsg: 'Success', instanceId: expect.any(String) });
      const refused = await postBasic(basic.raw('{}', { signature: 'ab'.repeat(32) }));
      expect(refused.status).toBe(200);
      expect(refused.contentType).toMatch(/^application\/json/);
      expect(refused.json).toEqual({ resultCode: '000001', resultMsg: expect.any(String) });
    });

    test('newInstance: the same orderId + orderLineId always gets the first call’s businessId; a new instance is active', async () => {
      const order = `o-${uid()}`;
      const first = basicBodies.newInstance(order);
      const a = await ok(basic.send('newInstance', first));
      expect(a.json.instanceId).toBe(first.businessId);
      const retry = await ok(basic.send('newInstance', { ...first, businessId: `biz-${uid()}` }));
      expect(retry.json.instanceId).toBe(first.businessId);
      // Another line of the same order is another instance.
      const other = basicBodies.newInstance(order, { orderLineId: `${order}-line-2` });
      expect((await ok(basic.send('newInstance', other))).json.instanceId).toBe(other.businessId);
      expect(await instance(first.businessId)).toMatchObject({
        instanceId: first.businessId,
        status: 'active',
        provisioned: true,
        trial: false,
        testFlag: 1,
        orders: [{ orderId: order, orderLineId: `${order}-line-1`, via: 'newInstance' }],
      });
    });

    test('newInstance: many retries at once still agree on one instanceId', async () => {
      const order = `o-${uid()}`;
      const calls = Array.from({ length: 12 }, () => basic.send('newInstance', basicBodies.newInstance(order)));
      const ids = new Set((await Promise.all(calls)).map((a) => a.json.instanceId));
      expect(ids.size).toBe(1);
    });

    test('queryInstance: known ids with frontEndUrl, unknown ones left out; none known is 000003; at most 100', async () => {
      const b = basicBodies.newInstance(`o-${uid()}`);
      await ok(basic.send('newInstance', b));
      const a = await ok(basic.send('queryInstance', { instanceId: `${b.businessId}, nobody-${uid()}`, testFlag: '1' }));
      expect(a.json.info).toEqual([{ instanceId: b.businessId, appInfo: { frontEndUrl: stack.url } }]);
      expect((await basic.send('queryInstance', { instanceId: `nobody-${uid()}` })).json.resultCode).toBe('000003');
      const many = Array.from({ length: 101 }, (_, i) => `i-${i}`).join(',');
      expect((await basic.send('queryInstance', { instanceId: many })).json.resultCode).toBe('000002');
      const hundred = [b.businessId, ...Array.from({ length: 99 }, (_, i) => `i-${i}`)].join(',');
      expect((await ok(basic.send('queryInstance', { instanceId: hundred }))).json.info).toHaveLength(1);
    });

    test('refreshInstance: all four scenes, expireTime in 14 or 17 digits; a trial becomes formal', async () => {
      const b = basicBodies.newInstance(`o-${uid()}`, { trialFlag: '1' });
      const id = b.businessId;
      await ok(basic.send('newInstance', b));
      expect((await instance(id))!.trial).toBe(true);
      await ok(basic.send('refreshInstance', basicBodies.refresh(id, 'TRIAL_TO_FORMAL', '20270101000000', { productId: 'prod-1' })));
      expect(await instance(id)).toMatchObject({ trial: false, expireTime: '2027-01-01T00:00:00.000Z', productId: 'prod-1' });
      await ok(basic.send('refreshInstance', basicBodies.refresh(id, 'RENEWAL', '20280101000000123')));
      expect((await instance(id))!.expireTime).toBe('2028-01-01T00:00:00.123Z');
      await ok(basic.send('refreshInstance', basicBodies.refresh(id, 'UNSUBSCRIBE_RENEWAL_PERIOD', '20270601000000')));
      expect((await instance(id))!.expireTime).toBe('2027-06-01T00:00:00.000Z');
      await ok(basic.send('refreshInstance', basicBodies.refresh(id, 'RENEWAL_CHANGE', '20270701120000')));
      const rec = (await instance(id))!;
      expect(rec.expireTime).toBe('2027-07-01T12:00:00.000Z');
      expect(rec.orders.map((o) => o.scene ?? o.via)).toEqual(['newInstance', 'TRIAL_TO_FORMAL', 'RENEWAL', 'UNSUBSCRIBE_RENEWAL_PERIOD', 'RENEWAL_CHANGE']);
    });

    test('updateInstanceStatus FREEZE and UNFREEZE; upgradeInstance records the new order on the same instance', async () => {
      const b = basicBodies.newInstance(`o-${uid()}`);
      await ok(basic.send('newInstance', b));
      await ok(basic.send('updateInstanceStatus', basicBodies.status(b.businessId, 'FREEZE')));
      expect((await instance(b.businessId))!.status).toBe('frozen');
      await ok(basic.send('updateInstanceStatus', basicBodies.status(b.businessId, 'UNFREEZE')));
      expect((await instance(b.businessId))!.status).toBe('active');
      await ok(basic.send('upgradeInstance', { instanceId: b.businessId, orderId: 'upgrade-order', orderLineId: 'upgrade-line', testFlag: '1' }));
      const rec = (await instance(b.businessId))!;
      expect(rec.orders.map((o) => [o.orderId, o.via])).toEqual([
        [b.orderId, 'newInstance'],
        ['upgrade-order', 'upgradeInstance'],
      ]);
    });

    test('releaseInstance is idempotent; a released instance cannot be unfrozen or renewed', async () => {
      const b = basicBodies.newInstance(`o-${uid()}`);
      await ok(basic.send('newInstance', b));
      await ok(basic.send('releaseInstance', { instanceId: b.businessId, orderId: b.orderId, orderLineId: b.orderLineId, testFlag: '1' }));
      await ok(basic.send('releaseInstance', { instanceId: b.businessId, testFlag: '1' }));
      expect((await instance(b.businessId))!.status).toBe('released');
      expect((await basic.send('updateInstanceStatus', basicBodies.status(b.businessId, 'UNFREEZE'))).json.resultCode).toBe('000003');
      expect((await basic.send('refreshInstance', basicBodies.refresh(b.businessId, 'RENEWAL', '20300101000000'))).json.resultCode).toBe('000003');
      await ok(basic.send('updateInstanceStatus', basicBodies.status(b.businessId, 'FREEZE')));
      expect((await instance(b.businessId))!.status).toBe('released');
    });

    test('changeInstanceCheck answers 000000, productInfo as an object or a JSON string', async () => {
      const productInfo = { productId: 'p-2', skuCode: 'sku-2', linearValue: '10', productName: '专业版' };
      await ok(basic.send('changeInstanceCheck', { instanceId: `i-${uid()}`, productInfo, testFlag: '1' }));
      await ok(basic.send('changeInstanceCheck', { instanceId: `i-${uid()}`, productInfo: JSON.stringify(productInfo), testFlag: '1' }));
      expect((await basic.send('changeInstanceCheck', { instanceId: `i-${uid()}`, productInfo: { productName: 'x' } })).json.resultCode).toBe('000002');
    });

    test('a status change for an unseen instance is recorded and answered 000000', async () => {
      const id = `unseen-${uid()}`;
      await ok(basic.send('updateInstanceStatus', basicBodies.status(id, 'FREEZE')));
      expect(await instance(id)).toMatchObject({ instanceId: id, status: 'frozen', provisioned: false, orders: [] });
    });

    test('the directory API lists instances, and each tenant’s', async () => {
      const b = basicBodies.newInstance(`o-${uid()}`);
      await ok(basic.send('newInstance', b));
      const res = await fetch(`${stack.koogate.url}/_koogate/api/instances?limit=500`, { headers: auth });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { items: Record<string, unknown>[]; total: number };
      const item = page.items.find((i) => i.instanceId === b.businessId);
      expect(item).toEqual({
        instanceId: b.businessId,
        orders: [{ orderId: b.orderId, orderLineId: b.orderLineId, via: 'newInstance', at: expect.any(String) }],
        status: 'active',
        expireTime: null,
        trial: false,
        testFlag: 1,
        productId: null,
        provisioned: true,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
        // No AK/SK in this stack: no order is read.
        orderDetails: null,
      });
      const tenant = await fetch(`${stack.koogate.url}/_koogate/api/tenants/t-acme/instances`, { headers: auth });
      expect(tenant.status).toBe(200);
      const linked = (await tenant.json()) as { items: { instanceId: string; status: string }[] };
      expect(linked.items.map((i) => i.instanceId)).toContain('inst-t-acme');
      expect((await fetch(`${stack.koogate.url}/_koogate/api/tenants/nobody/instances`, { headers: auth })).status).toBe(404);
      expect((await fetch(`${stack.koogate.url}/_koogate/api/instances`)).status).toBe(401);
    });
  });

  describe('refusals change nothing', () => {
    const snapshot = async () => JSON.stringify((await stack.koogate.directory.instances.list({ limit: 500 })).items);
    const newBody = () => JSON.stringify({ activity: 'newInstance', ...basicBodies.newInstance(`o-${uid()}`) });
    const cases: [string, () => Promise<unknown>, string][] = [];
    const refused = (what: string, code: string, send: () => Promise<unknown>) => cases.push([what, send, code]);
    refused('a stale timestamp', '000002', () => postBasic(basic.raw(newBody(), { timestamp: String(Date.now() - 61_000) })));
    refused('a timestamp in the future', '000002', () => postBasic(basic.raw(newBody(), { timestamp: String(Date.now() + 61_000) })));
    refused('a tampered body', '000001', async () => {
      const req = basic.raw(newBody());
      return postBasic({ ...req, body: req.body.replace('"testFlag":"1"', '"testFlag":"0"') });
    });
    refused('the kit key instead of the basic key', '000001', () => postBasic(basic.raw(newBody(), { accessKey: stack.secrets.accessKey })));
    refused('no signature', '000001', () => postBasic(basic.raw(newBody(), { signature: null })));
    refused('no timestamp', '000001', () => postBasic(basic.raw(newBody(), { timestamp: null })));
    refused('no nonce', '000001', () => postBasic(basic.raw(newBody(), { nonce: null })));
    refused('a signature given twice', '000001', () => postBasic(basic.raw(newBody(), { extra: `signature=${'0'.repeat(64)}` })));
    refused('a 13-digit expireTime', '000002', () => basic.send('refreshInstance', basicBodies.refresh(`i-${uid()}`, 'RENEWAL', '2027010100000')));
    refused('an expireTime in month 13', '000002', () => basic.send('refreshInstance', basicBodies.refresh(`i-${uid()}`, 'RENEWAL', '20271301000000')));
    refused('an unknown scene', '000002', () => basic.send('refreshInstance', basicBodies.refresh(`i-${uid()}`, 'FOREVER', '20270101000000')));
    refused('an unknown activity', '000002', () => postBasic(basic.raw(JSON.stringify({ activity: '<script>alert(1)</script>', instanceId: 'x' }))));
    refused('no activity', '000002', () => postBasic(basic.raw(JSON.stringify({ instanceId: 'x' }))));
    refused('an inherited activity name', '000002', () => postBasic(basic.raw(JSON.stringify({ activity: 'constructor', instanceId: 'x' }))));
    refused('a number where a string belongs', '000002', () => basic.send('newInstance', { orderId: 12345, orderLineId: 'l', businessId: `b-${uid()}` }));
    refused('an object as instanceId', '000002', () => basic.send('updateInstanceStatus', { instanceId: { $gt: '' }, status: 'FREEZE' }));
    refused('control characters in an id', '000002', () => basic.send('updateInstanceStatus', { instanceId: `a\r\nb-${uid()}`, status: 'FREEZE' }));
    refused('a bad status', '000002', () => basic.send('updateInstanceStatus', { instanceId: `i-${uid()}`, status: 'DELETE' }));
    refused('a body nested 5000 levels deep', '000002', () => postBasic(basic.raw(`{"activity":"newInstance","x":${'['.repeat(5000)}${']'.repeat(5000)}}`)));
    refused('a body over 64 KB', '000002', () => postBasic(basic.raw(JSON.stringify({ activity: 'newInstance', pad: 'x'.repeat(70_000) }))));
    refused('a JSON array', '000002', () => postBasic(basic.raw('[1,2,3]')));
    refused('no JSON at all', '000002', () => postBasic(basic.raw('activity=newInstance')));
    // fetch sends a lone surrogate as U+FFFD, so what arrives is no longer what was signed.
    refused('a lone surrogate', '000001', () => postBasic(basic.raw('{"activity":"newInstance","orderId":"\udc00"}')));

    test.each(cases)('%s', async (_what, send, code) => {
      const before = await snapshot();
      const a = (await send()) as Awaited<ReturnType<typeof postBasic>>;
      expect(a.status).toBe(200);
      expect(a.contentType).toMatch(/^application\/json/);
      expect(a.json.resultCode).toBe(code);
      expect(typeof a.json.resultMsg).toBe('string');
      // Nothing of the request is echoed back.
      expect(a.text).not.toContain('<script>');
      expect(await snapshot()).toBe(before);
    });

    test('a replayed call (same nonce) is refused and changes nothing', async () => {
      const req = basic.build('updateInstanceStatus', basicBodies.status(`replay-${uid()}`, 'FREEZE'));
      expect((await postBasic(req)).json.resultCode).toBe('000000');
      const before = await snapshot();
      expect((await postBasic(req)).json).toMatchObject({ resultCode: '000002', resultMsg: expect.stringContaining('replay') });
      expect(await snapshot()).toBe(before);
    });
  });

  describe('kit calls at the production address', () => {
    test('V2 at <path>/produceAPI/v2/<iface> and V1 at <path>/produceAPI/<iface>; the root keeps working', async () => {
      const atPath = kitCalls(() => ({ baseUrl: produce(), accessKey: stack.secrets.accessKey }));
      expect((await atPath.send('tenantSync', bodies.tenant('t-path', 'https://id.example/t-path'))).resultCode).toBe('000000');
      const v1 = await atPath.send('tenantSync', bodies.tenant('t-path', 'https://id.example/t-path', { name: 'renamed' }), { generation: 'v1' });
      expect(v1.resultCode).toBe('000000');
      expect(v1.bodySign).toBe('valid');
      expect((await stack.koogate.directory.getTenant('t-path'))!.name).toBe('renamed');
      expect((await kit.send('tenantSync', bodies.tenant('t-path', 'https://id.example/t-path', { flag: 0 }))).resultCode).toBe('000000');
      expect(await stack.koogate.directory.getTenant('t-path')).toBeNull();
    });

    test('a kit call signed with the basic key is refused with 000001', async () => {
      const a = await kit.send('tenantSync', bodies.tenant('t-wrongkey', 'https://id.example/x'), { accessKey: stack.secrets.basicAccessKey });
      expect(a.resultCode).toBe('000001');
      expect(await stack.koogate.directory.getTenant('t-wrongkey')).toBeNull();
    });
  });

  describe('access follows the subscription', () => {
    afterEach(async () => {
      await ok(basic.send('updateInstanceStatus', basicBodies.status('inst-t-acme', 'UNFREEZE')));
      await relinkGlobex('inst-t-globex');
      await stack.syncTenants();
    });

    test('a freeze ends the tenant’s sessions and refuses new logins (page zh/en, JSON); UNFREEZE restores; directory data stays', async () => {
      const zhang = await loggedIn('zhangwei');
      const lina = await loggedIn('lina');
      const globex = await loggedIn('wangfang', 't-globex');
      await ok(basic.send('updateInstanceStatus', basicBodies.status('inst-t-acme', 'FREEZE')));
      expect(await whoami(zhang)).toBe(401);
      expect(await whoami(lina)).toBe(401);
      expect(await whoami(globex)).toBe(200);

      const page = await login(new Client(), stack.url, stack.sandbox, { userName: 'zhangwei' });
      const last = page[page.length - 1]!;
      expect(last.status).toBe(403);
      expect(last.text).toContain('KOOGATE_SUBSCRIPTION_INACTIVE');
      expect(last.text).toContain('订阅已冻结或已到期');
      const en = new Client();
      await en.request(`${stack.url}/_koogate/login?returnTo=/`);
      const authorize = await en.request(`${stack.sandbox.url}/unified-login/authorize`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ appId: 'demo-app-0001', tenantId: 't-acme', userName: 'lina' }).toString(),
      });
      const json = await en.request(authorize.location!, { headers: { ...api, 'accept-language': 'en' } });
      expect(json.status).toBe(403);
      expect(JSON.parse(json.text)).toMatchObject({ code: 'KOOGATE_SUBSCRIPTION_INACTIVE', message: expect.stringContaining('frozen or has ended') });

      // Users, departments and credentials stay: an instance's state decides access only.
      expect((await stack.koogate.directory.listUsers('t-acme', { limit: 100 })).total).toBeGreaterThan(0);
      expect(await stack.koogate.directory.hasAppCredential('t-acme', 'demo-app-0001')).toBe(true);

      await ok(basic.send('updateInstanceStatus', basicBodies.status('inst-t-acme', 'UNFREEZE')));
      await loggedIn('zhangwei');
    });

    test('a renewal restores login after a freeze', async () => {
      await ok(basic.send('updateInstanceStatus', basicBodies.status('inst-t-acme', 'FREEZE')));
      const refused = await login(new Client(), stack.url, stack.sandbox, { userName: 'bob' });
      expect(refused[refused.length - 1]!.status).toBe(403);
      await ok(basic.send('refreshInstance', basicBodies.refresh('inst-t-acme', 'RENEWAL', '20991231235959')));
      await loggedIn('bob');
    });

    test('two instances on one tenant: freezing one keeps access, freezing both ends it', async () => {
      const second = `inst-second-${uid()}`;
      expect((await kit.send('tenantSync', bodies.tenant('t-acme', stack.sandbox.domainOf('t-acme'), { instanceId: second }))).resultCode).toBe('000000');
      const zhang = await loggedIn('zhangwei');
      await ok(basic.send('updateInstanceStatus', basicBodies.status(second, 'FREEZE')));
      expect(await whoami(zhang)).toBe(200);
      await loggedIn('lina');
      await ok(basic.send('updateInstanceStatus', basicBodies.status('inst-t-acme', 'FREEZE')));
      expect(await whoami(zhang)).toBe(401);
      const linked = await stack.koogate.directory.instancesOfTenant('t-acme', 'demo-app-0001');
      expect(linked.map((l) => [l.instanceId, l.record?.status])).toEqual(expect.arrayContaining([[second, 'frozen'], ['inst-t-acme', 'frozen']]));
      await ok(basic.send('updateInstanceStatus', basicBodies.status(second, 'UNFREEZE')));
      await loggedIn('zhangwei');
    });

    /** Removes t-globex, then syncs it again linked to `instanceId` only ('' : the seller's own test flow). */
    async function relinkGlobex(instanceId: string): Promise<void> {
      const t = stack.sandbox.tenants.find((x) => x.tenantId === 't-globex')!;
      const withKey = kitCalls(() => ({ baseUrl: stack.koogate.url, accessKey: stack.secrets.accessKey, publicKey: loadPublicKey(stack.secrets.publicKeyPem) }));
      const sent = [
        await withKey.send('tenantSync', bodies.tenant('t-globex', stack.sandbox.domainOf('t-globex'), { instanceId: 'inst-t-globex', flag: 0 })),
        await withKey.send('applicationSync', bodies.app('t-globex', { instanceId: 'inst-t-globex', flag: 0 })),
        await withKey.send('tenantSync', bodies.tenant('t-globex', stack.sandbox.domainOf('t-globex'), { instanceId, orderId: '' })),
        await withKey.send('applicationSync', bodies.app('t-globex', { instanceId, clientId: t.clientId, clientSecret: t.clientSecret })),
        await withKey.send('authSync', bodies.auth('t-globex', t.users.map(demoUserEntry), { instanceId })),
      ];
      expect(sent.map((a) => a.resultCode)).toEqual(['000000', '000000', '000000', '000000', '000000']);
    }

    test('a freeze that comes before the kit sync linking its instance: recorded, and the link takes access away', async () => {
      // The seller's own test flow: no linked instance, login allowed.
      await relinkGlobex('');
      const wang = await loggedIn('wangfang', 't-globex');
      const early = `inst-early-${uid()}`;
      await ok(basic.send('updateInstanceStatus', basicBodies.status(early, 'FREEZE')));
      expect(await whoami(wang)).toBe(200);
      // Now the buyer's order arrives by kit sync, linking the frozen instance: sessions end, logins are refused.
      expect((await kit.send('tenantSync', bodies.tenant('t-globex', stack.sandbox.domainOf('t-globex'), { instanceId: early }))).resultCode).toBe('000000');
      expect(await whoami(wang)).toBe(401);
      await relinkGlobex(early);
      const refused = await login(new Client(), stack.url, stack.sandbox, { tenantId: 't-globex', userName: 'wangfang' });
      expect(refused[refused.length - 1]!.status).toBe(403);
      expect(refused[refused.length - 1]!.text).toContain('KOOGATE_SUBSCRIPTION_INACTIVE');
      await ok(basic.send('updateInstanceStatus', basicBodies.status(early, 'UNFREEZE')));
      await loggedIn('wangfang', 't-globex');
    });

    test('release ends the sessions and refuses logins for good; a repeated release succeeds; the directory keeps its data', async () => {
      const gone = `inst-gone-${uid()}`;
      await relinkGlobex(gone);
      const wang = await loggedIn('wangfang', 't-globex');
      await ok(basic.send('releaseInstance', { instanceId: gone, testFlag: '1' }));
      expect(await whoami(wang)).toBe(401);
      await ok(basic.send('releaseInstance', { instanceId: gone, testFlag: '1' }));
      const refused = await login(new Client(), stack.url, stack.sandbox, { tenantId: 't-globex', userName: 'john' });
      expect(refused[refused.length - 1]!.status).toBe(403);
      expect((await stack.koogate.directory.listUsers('t-globex', { limit: 100 })).total).toBe(2);
      expect(await stack.koogate.directory.subscriptionOf('t-globex', 'demo-app-0001')).toEqual({ allowed: false, status: 'released' });
      // A new order linked to the tenant lets it in again.
      await relinkGlobex(`inst-new-${uid()}`);
      await loggedIn('john', 't-globex');
    });
  });
});
