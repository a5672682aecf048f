import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import Redis from 'ioredis';
import { canonicalPayload, signKitV2 } from '../../src/crypto/kit-signature';
import { encryptOaep, loadPublicKey, type OaepVariant } from '../../src/crypto/rsa-oaep';
import { kitTimeStamp, type KitRequest } from '../../src/kit/client';
import { createLogger } from '../../src/observability/logger';
import type { RedisStore } from '../../src/store/redis';
import { startStack, type Stack } from '../../src/sandbox/stack';
import type { SandboxTenant } from '../../src/sandbox/marketplace';
import { Client } from '../support/browserless-client';
import { bodies, directoryView, kitCalls, kitChecks, post, result, type Answer } from '../support/kit';
import { login } from '../support/login';
import { startRedis, type RedisServer } from '../support/redis';
import { DEMO_APP_ID, syncedStack } from '../support/stack';

/**
 * Kit sync (docs/protocol.md §3.1–3.4) against a running stack: real HTTP into koogate, signed the way
 * KooGallery signs (src/kit/client.ts). Every refused call is checked to have changed nothing.
 */

/** Every plain client secret these tests ever send; none may appear in a log line or a stored value. */
const PLAIN_SECRETS = new Set<string>();
const secret = (label: string): string => {
  const s = `plain-${label}-${randomBytes(6).toString('hex')}`;
  PLAIN_SECRETS.add(s);
  return s;
};

/** Tenants these tests aim hostile calls at; a wrongly accepted call would show in one of them. */
const WATCHED = ['t-acme', 't-globex', 't-evil', 't-absent'];

/**
 * The shared kit harness (test/support/kit.ts) aimed at `get().stack`, V2 calls, with the directory as its
 * API reads it for the snapshot (these tests run on the memory store too), and bodies whose plain secrets
 * are remembered for the leak checks.
 */
function kitHarness(get: () => { stack: Stack; publicKey: KeyObject }) {
  const accessKey = () => get().stack.secrets.accessKey;
  const calls = kitCalls(() => ({ baseUrl: get().stack.koogate.url, accessKey: accessKey(), publicKey: get().publicKey }));
  const snapshot = () => directoryView(get().stack.koogate.directory, WATCHED, [DEMO_APP_ID, 'other-app-0002']);
  return {
    ...calls,
    ...kitChecks({ generation: 'v2', accessKey, snapshot }),
    snapshot,
    post: (req: KitRequest): Promise<Answer> => post(req, accessKey()),
    tenantBody: (tenantId: string, over: Record<string, unknown> = {}) => bodies.tenant(tenantId, get().stack.sandbox.domainOf(tenantId), over),
    appBody: (tenantId: string, over: Record<string, unknown> = {}) => bodies.app(tenantId, { clientSecret: secret(tenantId), ...over }),
  };
}

describe.each(['memory', 'redis'] as const)('kit sync over HTTP (%s store)', (kind) => {
  let redis: RedisServer | undefined;
  let stack: Stack;
  let publicKey: KeyObject;
  const logLines: string[] = [];
  const k = kitHarness(() => ({ stack, publicKey }));

  beforeAll(async () => {
    if (kind === 'redis') redis = await startRedis();
    stack = await syncedStack({ redisUrl: redis?.url, log: createLogger('debug', (l) => void logLines.push(l)) });
    publicKey = loadPublicKey(stack.secrets.publicKeyPem);
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.dispose();
  });

  describe('accepted calls', () => {
    test('the stack came up with both sandbox tenants synced', async () => {
      const ids = (await stack.koogate.directory.listTenants()).map((t) => t.tenantId);
      expect(ids).toEqual(['t-acme', 't-globex']);
      expect(await stack.koogate.directory.getAppCredential('t-acme', DEMO_APP_ID)).toEqual({ clientId: 'acme-client', clientSecret: 'sandbox-secret-acme-0c1d9f4e' });
    });

    test('tenantSync + applicationSync add a tenant whose decrypted secret logs a user in', async () => {
      const kitSecret = secret('t-kit');
      const tenant: SandboxTenant = {
        tenantId: 't-kit',
        tenantCode: 'kit',
        name: 'Kit 有限公司',
        clientId: 'kit-client',
        clientSecret: kitSecret,
        users: [{ userName: 'kuser', name: 'Kit User', email: 'kuser@kit.example', role: 'user', id: 'u-kit-1' }],
      };
      stack.sandbox.tenants.push(tenant);

      const t = await k.send('tenantSync', k.tenantBody('t-kit', { tenantCode: 'kit', name: 'Kit 有限公司' }));
      expect(result(t)).toEqual({ status: 200, resultCode: '000000', resultMsg: 'Success' });
      const rec = await stack.koogate.directory.getTenant('t-kit');
      expect(rec).toMatchObject({
        tenantId: 't-kit',
        tenantCode: 'kit',
        name: 'Kit 有限公司',
        domainName: stack.sandbox.domainOf('t-kit'),
        instances: ['inst-t-kit'],
        testFlag: 1,
      });
      expect(Date.parse(rec!.updatedAt)).not.toBeNaN();
      expect((await stack.koogate.directory.listTenants()).map((x) => x.tenantId)).toEqual(['t-acme', 't-globex', 't-kit']);

      const a = await k.send('applicationSync', k.appBody('t-kit', { clientId: 'kit-client', clientSecret: kitSecret }));
      expect(result(a)).toEqual({ status: 200, resultCode: '000000', resultMsg: 'Success' });
      expect(await stack.koogate.directory.getAppCredential('t-kit', DEMO_APP_ID)).toEqual({ clientId: 'kit-client', clientSecret: kitSecret });

      // Usable: the marketplace's token endpoint accepts it in a real login (of a user the tenant authorized).
      const auth = await k.send('authSync', {
        instanceId: 'inst-t-kit',
        tenantId: 't-kit',
        appId: DEMO_APP_ID,
        flag: 1,
        testFlag: 1,
        timeStamp: kitTimeStamp(Date.now()),
        userList: [{ userName: 'kuser', name: 'Kit User', orgCode: '', role: 'user', enable: 'true' }],
      });
      expect(auth.resultCode).toBe('000000');
      stack.sandbox.resetStats();
      const hops = await login(new Client(), stack.url, stack.sandbox, { tenantId: 't-kit', userName: 'kuser' });
      const last = hops[hops.length - 1]!;
      expect(last.status).toBe(200);
      expect(last.text).toContain('Kit User');
      expect(stack.sandbox.stats.lastTokenRequest).toMatchObject({ client_id: 'kit-client' });
    });

    test('a credential the marketplace does not know makes the login fail (the synced secret is what is used)', async () => {
      const wrong = secret('wrong');
      expect((await k.send('applicationSync', k.appBody('t-kit', { flag: 2, clientId: 'kit-client', clientSecret: wrong }))).resultCode).toBe('000000');
      expect(await stack.koogate.directory.getAppCredential('t-kit', DEMO_APP_ID)).toEqual({ clientId: 'kit-client', clientSecret: wrong });
      const hops = await login(new Client(), stack.url, stack.sandbox, { tenantId: 't-kit', userName: 'kuser' });
      const last = hops[hops.length - 1]!;
      expect(last.status).not.toBe(200);
      // Put the right one back.
      const right = stack.sandbox.tenants.find((x) => x.tenantId === 't-kit')!.clientSecret;
      expect((await k.send('applicationSync', k.appBody('t-kit', { flag: 2, clientId: 'kit-client', clientSecret: right }))).resultCode).toBe('000000');
      expect((await stack.koogate.directory.getAppCredential('t-kit', DEMO_APP_ID))?.clientSecret).toBe(right);
    });

    test.each(['sha256-mgf1sha1', 'sha1', 'sha256'] as OaepVariant[])('clientSecret encrypted with OAEP variant %s is decrypted (auto)', async (variant) => {
      const s = secret(`oaep-${variant}`);
      const answer = await k.send('applicationSync', k.appBody('t-oaep', { clientSecret: s }), { oaepVariant: variant });
      expect(answer.resultCode).toBe('000000');
      expect(await stack.koogate.directory.getAppCredential('t-oaep', DEMO_APP_ID)).toEqual({ clientId: 'client-t-oaep', clientSecret: s });
    });

    test('flag 2 modifies domainName (trailing slash dropped) and name; an empty name keeps the old one', async () => {
      expect((await k.send('tenantSync', k.tenantBody('t-mod'))).resultCode).toBe('000000');
      const before = await stack.koogate.directory.getTenant('t-mod');
      expect((await k.send('tenantSync', k.tenantBody('t-mod', { flag: 2, domainName: 'https://idaas.new.example/t-mod/', name: 'Renamed' }))).resultCode).toBe('000000');
      const after = await stack.koogate.directory.getTenant('t-mod');
      expect(after).toMatchObject({ domainName: 'https://idaas.new.example/t-mod', name: 'Renamed', tenantCode: before!.tenantCode, instances: before!.instances });
      expect((await k.send('tenantSync', k.tenantBody('t-mod', { flag: 2, domainName: 'https://idaas.third.example', name: '' }))).resultCode).toBe('000000');
      expect(await stack.koogate.directory.getTenant('t-mod')).toMatchObject({ domainName: 'https://idaas.third.example', name: 'Renamed' });
    });

    test('flag 0 deletes a tenant and an app credential; deleting unknown ones succeeds and changes nothing', async () => {
      expect((await k.send('tenantSync', k.tenantBody('t-del'))).resultCode).toBe('000000');
      expect((await k.send('applicationSync', k.appBody('t-del'))).resultCode).toBe('000000');

      expect((await k.send('applicationSync', { instanceId: 'inst-t-del', tenantId: 't-del', appId: DEMO_APP_ID, flag: 0, testFlag: 1 })).resultCode).toBe('000000');
      expect(await stack.koogate.directory.getAppCredential('t-del', DEMO_APP_ID)).toBeNull();
      expect((await k.send('tenantSync', { instanceId: 'inst-t-del', tenantId: 't-del', flag: 0, testFlag: 1 })).resultCode).toBe('000000');
      expect(await stack.koogate.directory.getTenant('t-del')).toBeNull();
      expect((await stack.koogate.directory.listTenants()).map((t) => t.tenantId)).not.toContain('t-del');

      const before = await k.snapshot();
      await k.expectOk(k.send('tenantSync', { instanceId: 'inst-x', tenantId: 't-absent', flag: 0 }));
      await k.expectOk(k.send('applicationSync', { instanceId: 'inst-x', tenantId: 't-absent', appId: DEMO_APP_ID, flag: 0 }));
      // And a second delete of what was just deleted.
      expect((await k.send('tenantSync', { instanceId: 'inst-t-del', tenantId: 't-del', flag: 0 })).resultCode).toBe('000000');
      expect(await k.snapshot()).toEqual(before);
    });

    test('a tenant held by two instances survives the delete of one and goes with the last', async () => {
      expect((await k.send('tenantSync', k.tenantBody('t-two', { instanceId: 'inst-a' }))).resultCode).toBe('000000');
      expect((await k.send('tenantSync', k.tenantBody('t-two', { instanceId: 'inst-b' }))).resultCode).toBe('000000');
      expect((await stack.koogate.directory.getTenant('t-two'))?.instances).toEqual(['inst-a', 'inst-b']);
      expect((await k.send('tenantSync', { instanceId: 'inst-a', tenantId: 't-two', flag: 0 })).resultCode).toBe('000000');
      expect((await stack.koogate.directory.getTenant('t-two'))?.instances).toEqual(['inst-b']);
      expect((await k.send('tenantSync', { instanceId: 'inst-b', tenantId: 't-two', flag: 0 })).resultCode).toBe('000000');
      expect(await stack.koogate.directory.getTenant('t-two')).toBeNull();
    });

    test('x-sign is compared case-insensitively', async () => {
      const req = k.build('tenantSync', k.tenantBody('t-upper'));
      req.headers['x-sign'] = req.headers['x-sign']!.toUpperCase();
      expect((await k.post(req)).resultCode).toBe('000000');
      expect(await stack.koogate.directory.getTenant('t-upper')).not.toBeNull();
    });

    test('a timestamp inside the window (55 s old, 55 s ahead) is accepted', async () => {
      expect((await k.post(k.build('tenantSync', k.tenantBody('t-win-past'), { now: () => Date.now() - 55_000 }))).resultCode).toBe('000000');
      expect((await k.post(k.build('tenantSync', k.tenantBody('t-win-future'), { now: () => Date.now() + 55_000 }))).resultCode).toBe('000000');
    });

    // §3.1 drops top-level nulls from the signed payload because senders send them (Jackson writes
    // `"orderId":null`); the schemas must read them as absent, not refuse them.
    test('top-level null fields (dropped from the signature by §3.1) are treated as absent', async () => {
      const body = k.tenantBody('t-nulls', { orderId: null, instanceId: null, tenantCode: null });
      const answer = await k.send('tenantSync', body);
      expect(result(answer)).toEqual({ status: 200, resultCode: '000000', resultMsg: 'Success' });
      expect(await stack.koogate.directory.getTenant('t-nulls')).toMatchObject({ tenantId: 't-nulls', tenantCode: '' });
    });
  });

  describe('raw-body signature fallback', () => {
    test('a body with spaces, signed over its raw text, is accepted', async () => {
      const text = `{ "tenantId" : "t-raw-space", "instanceId": "i-raw",  "domainName": "${stack.sandbox.domainOf('t-raw-space')}", "flag": 1, "testFlag": 1 }`;
      await k.expectOk(k.post(k.rawV2('tenantSync', text)));
      expect(await stack.koogate.directory.getTenant('t-raw-space')).toMatchObject({ tenantId: 't-raw-space', instances: ['i-raw'] });
    });

    test('a body with 1.0, whose canonical form says 1, signed over its raw text, is accepted', async () => {
      const text = `{"domainName":"${stack.sandbox.domainOf('t-raw-num')}","flag":1.0,"instanceId":"i-raw","tenantId":"t-raw-num","testFlag":1.0}`;
      expect(canonicalPayload(JSON.parse(text))).not.toBe(text);
      expect((await k.post(k.rawV2('tenantSync', text))).resultCode).toBe('000000');
      expect(await stack.koogate.directory.getTenant('t-raw-num')).toMatchObject({ tenantId: 't-raw-num', testFlag: 1 });
    });

    test('the same spaced body signed over its canonical form is accepted too', async () => {
      const text = `{ "tenantId": "t-raw-canon", "flag": 1, "domainName": "${stack.sandbox.domainOf('t-raw-canon')}" }`;
      const nonce = randomBytes(8).toString('hex');
      const ts = String(Date.now());
      const req: KitRequest = {
        url: `${stack.koogate.url}/produceAPI/v2/tenantSync`,
        headers: { 'content-type': 'application/json', 'x-nonce': nonce, 'x-timestamp': ts, 'x-sign': signKitV2(stack.secrets.accessKey, nonce, ts, canonicalPayload(JSON.parse(text))) },
        body: text,
      };
      expect((await k.post(req)).resultCode).toBe('000000');
      expect(await stack.koogate.directory.getTenant('t-raw-canon')).not.toBeNull();
    });

    test('a signature over a differently spaced text of the same JSON is refused', async () => {
      const signed = `{"tenantId":"t-evil", "flag":1, "domainName":"https://evil.example"}`;
      const sent = `{"tenantId":"t-evil",  "flag":1, "domainName":"https://evil.example"}`;
      const req = k.rawV2('tenantSync', signed);
      await k.expectRefused({ ...req, body: sent }, '000001');
    });
  });

  describe('refused: signature (000001), nothing changes', () => {
    const hostile = () => k.tenantBody('t-acme', { flag: 0 });

    test.each(['x-sign', 'x-timestamp', 'x-nonce'])('missing %s header', async (name) => {
      const req = k.build('tenantSync', hostile());
      delete req.headers[name];
      await k.expectRefused(req, '000001');
    });

    test('all three headers missing', async () => {
      const req = k.build('tenantSync', hostile());
      await k.expectRefused({ ...req, headers: { 'content-type': 'application/json' } }, '000001');
    });

    test('empty header values', async () => {
      const req = k.build('tenantSync', hostile());
      await k.expectRefused({ ...req, headers: { ...req.headers, 'x-sign': '' } }, '000001');
      await k.expectRefused({ ...req, headers: { ...req.headers, 'x-nonce': '' } }, '000001');
    });

    test('tampered applicationSync secret (attacker swaps in their own ciphertext)', async () => {
      const req = k.build('applicationSync', k.appBody('t-acme', { clientId: 'acme-client' }));
      const own = encryptOaep(publicKey, Buffer.from(secret('attacker')), 'sha256-mgf1sha1').toString('base64');
      const tampered = { ...(JSON.parse(req.body) as Record<string, unknown>), clientSecret: own };
      await k.expectRefused({ ...req, body: JSON.stringify(tampered) }, '000001');
    });

    test('tampered timestamp header', async () => {
      const req = k.build('tenantSync', hostile());
      await k.expectRefused({ ...req, headers: { ...req.headers, 'x-timestamp': String(Number(req.headers['x-timestamp']) + 1) } }, '000001');
    });

    test('one flipped hex digit, a truncated and a non-hex signature', async () => {
      const req = k.build('tenantSync', hostile());
      const sig = req.headers['x-sign']!;
      const flipped = (sig[0] === '0' ? '1' : '0') + sig.slice(1);
      await k.expectRefused({ ...req, headers: { ...req.headers, 'x-sign': flipped } }, '000001');
      await k.expectRefused({ ...req, headers: { ...req.headers, 'x-sign': sig.slice(0, 62) } }, '000001');
      await k.expectRefused({ ...req, headers: { ...req.headers, 'x-sign': `${sig.slice(0, 62)}zz` } }, '000001');
    });

    test('a refused signature does not burn the nonce: the genuine call with it still succeeds', async () => {
      const nonce = randomBytes(16).toString('hex');
      const forged = k.build('tenantSync', hostile(), { nonce, accessKey: 'AK_attacker' });
      await k.expectRefused(forged, '000001');
      expect((await k.post(k.build('tenantSync', k.tenantBody('t-nonce-ok'), { nonce }))).resultCode).toBe('000000');
      expect(await stack.koogate.directory.getTenant('t-nonce-ok')).not.toBeNull();
    });
  });

  describe('refused: freshness and replay (000002), nothing changes', () => {
    test('timestamp in seconds instead of milliseconds, and a non-numeric one', async () => {
      await k.expectRefused(k.build('tenantSync', k.tenantBody('t-evil'), { now: () => Math.floor(Date.now() / 1000) }), '000002');
      const req = k.build('tenantSync', k.tenantBody('t-evil'));
      await k.expectRefused({ ...req, headers: { ...req.headers, 'x-timestamp': 'yesterday' } }, '000002');
    });

    test('a used nonce with a different, validly signed body is refused (a delete that would remove the tenant)', async () => {
      const nonce = randomBytes(16).toString('hex');
      expect((await k.post(k.build('tenantSync', k.tenantBody('t-replay2'), { nonce }))).resultCode).toBe('000000');
      const before = await stack.koogate.directory.getTenant('t-replay2');
      const answer = await k.post(k.build('tenantSync', { instanceId: 'inst-t-replay2', tenantId: 't-replay2', flag: 0 }, { nonce }));
      expect(answer.resultCode).toBe('000002');
      expect(answer.resultMsg).toMatch(/nonce|replay/i);
      expect(await stack.koogate.directory.getTenant('t-replay2')).toEqual(before);
    });

    test('a nonce used on one interface cannot be reused on the other', async () => {
      const nonce = randomBytes(16).toString('hex');
      expect((await k.post(k.build('tenantSync', k.tenantBody('t-replay3'), { nonce }))).resultCode).toBe('000000');
      await k.expectRefused(k.build('applicationSync', k.appBody('t-acme', { clientId: 'acme-client' }), { nonce }), '000002');
    });
  });

  describe('refused: malformed bodies and parameters (000002), nothing changes', () => {
    const badTenant: [string, Record<string, unknown>][] = [
      ['tenantId a number', { tenantId: 12345 }],
      ['tenantId missing', { tenantId: undefined }],
      ['tenantId blank', { tenantId: '   ' }],
      ['tenantId too long', { tenantId: 't'.repeat(65) }],
      ['flag 7', { flag: 7 }],
      ['flag -1', { flag: -1 }],
      ['flag 1.5', { flag: 1.5 }],
      ['flag "add"', { flag: 'add' }],
      ['flag missing', { flag: undefined }],
      ['flag an array', { flag: [1] }],
      ['testFlag 3', { testFlag: 3 }],
      ['name an object', { name: { zh: 'x' } }],
      ['name too long', { name: 'n'.repeat(257) }],
      ['timeStamp not yyyyMMddHHmmssSSS', { timeStamp: '2024-01-01T00:00:00Z' }],
      ['domainName ftp://', { domainName: 'ftp://evil.example' }],
      ['domainName not a URL', { domainName: 'evil.example' }],
      ['domainName javascript:', { domainName: 'javascript:alert(1)' }],
      ['domainName with a query', { domainName: 'https://evil.example/?next=1' }],
      ['domainName with a fragment', { domainName: 'https://evil.example/#x' }],
      ['domainName with user info', { domainName: 'https://user:pw@evil.example' }],
      ['domainName empty on add', { domainName: '' }],
      ['domainName missing on add', { domainName: undefined }],
    ];
    test.each(badTenant)('tenantSync with %s', async (_name, over) => {
      // Aimed at an existing tenant as a modify, so a wrongly accepted call would change t-acme.
      const body = k.tenantBody('t-acme', { flag: 2, domainName: 'https://evil.example', ...over });
      await k.expectRefused(k.build('tenantSync', body), '000002');
    });

    test('tenantSync add of a new tenant with a non-https domain is refused', async () => {
      await k.expectRefused(k.build('tenantSync', k.tenantBody('t-evil', { domainName: 'ftp://evil.example/idaas' })), '000002');
    });

    test('a delete still needs a valid tenantId and flag', async () => {
      await k.expectRefused(k.build('tenantSync', { instanceId: 'inst-t-acme', flag: 0 }), '000002');
      await k.expectRefused(k.build('tenantSync', { instanceId: 'inst-t-acme', tenantId: 't-acme', flag: '0x0' }), '000002');
    });

    const badApp: [string, Record<string, unknown>][] = [
      ['appId missing', { appId: undefined }],
      ['tenantId missing', { tenantId: undefined }],
      ['clientId missing on add', { clientId: undefined }],
      ['clientSecret missing on add', { clientSecret: undefined }],
      ['clientSecret a number', { clientSecret: 42 }],
    ];
    test.each(badApp)('applicationSync with %s', async (_name, over) => {
      await k.expectRefused(k.build('applicationSync', k.appBody('t-acme', { clientId: 'acme-client', ...over })), '000002');
    });

    test('applicationSync with a clientSecret that is not Base64', async () => {
      const body = k.appBody('t-acme', { clientId: 'acme-client' });
      // Sent as is: no publicKey, so the client does not encrypt it.
      await k.expectRefused(k.build('applicationSync', { ...body, clientSecret: 'not*base64!' }, { publicKey: undefined }), '000002');
      await k.expectRefused(k.build('applicationSync', { ...body, clientSecret: '' }, { publicKey: undefined }), '000002');
    });

    test('appId of another app is refused even with an undecryptable secret (checked first), and its delete too', async () => {
      await k.expectRefused(k.build('applicationSync', { ...k.appBody('t-acme'), appId: 'other-app-0002', clientSecret: randomBytes(384).toString('base64') }, { publicKey: undefined }), '000002');
      await k.expectRefused(k.build('applicationSync', { tenantId: 't-acme', appId: 'other-app-0002', flag: 0 }), '000002');
    });
  });

  describe('refused: clientSecret not decryptable (000101), nothing changes', () => {
    test('random bytes of the key size', async () => {
      const body = { ...k.appBody('t-acme', { clientId: 'acme-client', flag: 2 }), clientSecret: randomBytes(384).toString('base64') };
      const answer = await k.expectRefused(k.build('applicationSync', body, { publicKey: undefined }), '000101');
      expect(answer.resultMsg).not.toMatch(/plain-/);
    });

    test('encrypted under another merchant key', async () => {
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
      await k.expectRefused(k.build('applicationSync', k.appBody('t-acme', { clientId: 'acme-client', flag: 2 }), { publicKey: other }), '000101');
    });

    // A valid ciphertext of an empty secret must not replace the tenant's working credential: every login
    // and renewal of the tenant would then fail at the token endpoint.
    test('a clientSecret that decrypts to an empty string is refused and the credential kept', async () => {
      const before = await k.snapshot();
      const answer = await k.send('applicationSync', k.appBody('t-acme', { clientId: 'acme-client', flag: 2, clientSecret: '' }));
      expect(answer.status).toBe(200);
      expect(['000002', '000101']).toContain(answer.resultCode);
      expect(await k.snapshot()).toEqual(before);
    });

    test('a ciphertext of the wrong length (truncated)', async () => {
      const ct = encryptOaep(publicKey, Buffer.from(secret('trunc')), 'sha256-mgf1sha1');
      const body = { ...k.appBody('t-evil'), clientSecret: ct.subarray(0, ct.length - 1).toString('base64') };
      await k.expectRefused(k.build('applicationSync', body, { publicKey: undefined }), '000101');
    });
  });

  describe('logs', () => {
    test('no log line carries a plain client secret, the access key or a ciphertext field', () => {
      expect(logLines.length).toBeGreaterThan(10);
      const all = logLines.join('');
      for (const s of PLAIN_SECRETS) expect(all).not.toContain(s);
      expect(all).not.toContain('sandbox-secret-acme-0c1d9f4e');
      expect(all).not.toContain(stack.secrets.accessKey);
      expect(all).not.toMatch(/"clientSecret"\s*:\s*"(?!\[redacted\])/);
    });

    test('kit results are logged with their resultCode and the OAEP variant that worked', () => {
      const parsed = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(parsed.some((l) => l.msg === 'kit sync refused' && l.resultCode === '000001')).toBe(true);
      expect(parsed.some((l) => l.msg === 'kit sync refused' && l.resultCode === '000101')).toBe(true);
      expect(parsed.some((l) => l.msg === 'clientSecret decrypted' && l.oaepVariant === 'sha1')).toBe(true);
    });

    // Error codes are logged as `errorCode`: the logger redacts any field named `code` (OAuth codes).
    test('a refused request is logged with its koogate error code readable', async () => {
      const res = await fetch(`${stack.koogate.url}/_koogate/no-such-page`, { headers: { accept: 'application/json' } });
      await res.text();
      expect(res.status).toBe(404);
      const line = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).reverse().find((l) => l.msg === 'request refused');
      expect(line).toBeDefined();
      expect(line!.errorCode).toBe('KOOGATE_NOT_FOUND');
    });
  });
});

describe('kit sync with Redis: at-rest encryption and two replicas', () => {
  let redis: RedisServer;
  let raw: Redis;
  let a: Stack;
  let b: Stack;
  let publicKey: KeyObject;
  const k = kitHarness(() => ({ stack: a, publicKey }));

  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis(redis.url, { lazyConnect: true });
    await raw.connect();
    a = await syncedStack({ redisUrl: redis.url });
    // A second koogate on the same Redis, with the same keys and secrets (replicas behind one load balancer).
    b = await startStack({ log: createLogger('error', () => {}), sandbox: a.sandbox, secrets: a.secrets, redisUrl: redis.url });
    publicKey = loadPublicKey(a.secrets.publicKeyPem);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    raw?.disconnect();
    await redis?.dispose();
  });

  test('the stored app record holds the secret sealed, never in plain text', async () => {
    const plain = secret('at-rest');
    expect((await k.send('tenantSync', k.tenantBody('t-rest'))).resultCode).toBe('000000');
    expect((await k.send('applicationSync', k.appBody('t-rest', { clientSecret: plain }))).resultCode).toBe('000000');

    const stored = await raw.get(`koogate:dir:app:t-rest:${DEMO_APP_ID}`);
    expect(stored).not.toBeNull();
    expect(stored).not.toContain(plain);
    expect(stored).not.toContain(Buffer.from(plain).toString('base64'));
    const rec = JSON.parse(stored!) as Record<string, unknown>;
    expect(rec).toMatchObject({ tenantId: 't-rest', appId: DEMO_APP_ID, clientId: 'client-t-rest' });
    expect(rec).not.toHaveProperty('clientSecret');
    expect(rec.clientSecretSealed).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(await a.koogate.directory.getAppCredential('t-rest', DEMO_APP_ID)).toEqual({ clientId: 'client-t-rest', clientSecret: plain });

    // The sandbox tenants' secrets are sealed too, and no key anywhere in Redis holds any plain secret.
    const acme = await raw.get(`koogate:dir:app:t-acme:${DEMO_APP_ID}`);
    expect(acme).not.toContain('sandbox-secret-acme-0c1d9f4e');
    const keys = await raw.keys('*');
    expect(keys.length).toBeGreaterThan(3);
    for (const key of keys) {
      if ((await raw.type(key)) !== 'string') continue;
      const v = (await raw.get(key)) ?? '';
      for (const s of [...PLAIN_SECRETS, 'sandbox-secret-acme-0c1d9f4e', 'sandbox-secret-globex-7a52b8e3']) {
        expect({ key, leaks: v.includes(s) }).toEqual({ key, leaks: false });
      }
    }
  });

  test('a sealed record moved to another tenant key does not open (sealed for its own context)', async () => {
    const stored = await raw.get(`koogate:dir:app:t-acme:${DEMO_APP_ID}`);
    await raw.set(`koogate:dir:app:t-moved:${DEMO_APP_ID}`, stored!);
    await expect(a.koogate.directory.getAppCredential('t-moved', DEMO_APP_ID)).rejects.toThrow();
    await raw.del(`koogate:dir:app:t-moved:${DEMO_APP_ID}`);
  });

  test('nonces are remembered in Redis for twice the window', async () => {
    const nonce = `n-${randomBytes(8).toString('hex')}`;
    expect((await k.post(k.build('tenantSync', k.tenantBody('t-nonce'), { nonce }))).resultCode).toBe('000000');
    const ttl = await raw.pttl(`koogate:kit:nonce:${nonce}`);
    expect(ttl).toBeGreaterThan(110_000);
    expect(ttl).toBeLessThanOrEqual(120_000);
  });

  test('a call accepted by one replica is a replay at the other', async () => {
    const req = k.build('tenantSync', k.tenantBody('t-replica'));
    expect((await k.post(req)).resultCode).toBe('000000');
    const atB = { ...req, url: req.url.replace(a.koogate.url, b.koogate.url) };
    expect(atB.url).not.toBe(req.url);
    const before = await b.koogate.directory.getTenant('t-replica');
    const answer = await k.post(atB);
    expect(answer.resultCode).toBe('000002');
    expect(await b.koogate.directory.getTenant('t-replica')).toEqual(before);
  });

  test('what one replica applies, the other reads, secret included', async () => {
    const plain = secret('replica');
    const kb = kitHarness(() => ({ stack: b, publicKey }));
    expect((await kb.send('tenantSync', kb.tenantBody('t-via-b'))).resultCode).toBe('000000');
    expect((await kb.send('applicationSync', kb.appBody('t-via-b', { clientSecret: plain }))).resultCode).toBe('000000');
    expect(await a.koogate.directory.getTenant('t-via-b')).toMatchObject({ tenantId: 't-via-b' });
    expect(await a.koogate.directory.getAppCredential('t-via-b', DEMO_APP_ID)).toEqual({ clientId: 'client-t-via-b', clientSecret: plain });
  });

  // Last in this describe: the private Redis keeps nothing on disk, so a restart empties it.
  test('with Redis down a kit call answers 000500 (retry), and calls succeed again once Redis is back', async () => {
    await redis.stop();
    const answer = await k.send('tenantSync', k.tenantBody('t-during-outage'), { timeoutMs: 9_000 });
    expect(answer).toMatchObject({ status: 200, resultCode: '000500' });
    expect(answer.resultMsg).toMatch(/retry/);
    // Not events.once: it rejects on the reconnect errors ioredis emits before it is ready again.
    const ready = new Promise<void>((ok) => (a.koogate.store as RedisStore).client.once('ready', () => ok()));
    await redis.start();
    await ready;
    expect((await k.send('tenantSync', k.tenantBody('t-after-outage'))).resultCode).toBe('000000');
    expect(await a.koogate.directory.getTenant('t-after-outage')).toMatchObject({ tenantId: 't-after-outage' });
  });
});
