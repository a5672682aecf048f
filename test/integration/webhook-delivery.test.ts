import { randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { loadPublicKey } from '../../src/crypto/rsa-oaep';
import { kitTimeStamp } from '../../src/kit/client';
import type { Stack } from '../../src/sandbox/stack';
import { decodeDelivery, WEBHOOK_DEAD_LETTERS, WEBHOOK_QUEUE, type Delivery } from '../../src/webhook/delivery';
import { bodies, kitCalls, rawRedis, type Answer } from '../support/kit';
import { startRedis, type RedisServer } from '../support/redis';
import { DEMO_APP_ID, syncedStack } from '../support/stack';
import { eventually, signatureValid, startWebhookReceiver, type Received, type WebhookReceiver } from '../support/webhook-receiver';

/**
 * The webhook to the app over real HTTP: a koogate on a private Redis posts every applied kit call to a
 * receiving app, signed; refused calls post nothing; an app that is down, failing or hanging gets the
 * event again with backoff until it takes it, once; an app that never takes it leaves it in the dead
 * letters. The retry base is 20 ms and 4 attempts are allowed, so no test waits for real backoff.
 */

const SECRET = `current-${randomBytes(16).toString('hex')}`;
const NEXT_SECRET = `next-${randomBytes(16).toString('hex')}`;
const MAX_ATTEMPTS = 4;

describe('webhook to the app (Redis)', () => {
  let redisServer: RedisServer;
  let receiver: WebhookReceiver;
  let stack: Stack;
  let publicKey: KeyObject;
  const kit = kitCalls(() => ({ baseUrl: stack.koogate.url, accessKey: stack.secrets.accessKey, publicKey }));
  /** Sends applicationSync's clientSecret as written, unencrypted. */
  const rawKit = kitCalls(() => ({ baseUrl: stack.koogate.url, accessKey: stack.secrets.accessKey }));
  const domain = (t: string) => stack.sandbox.domainOf(t);
  const ofTenant = (t: string) => (r: Pick<Received, 'event'>) => r.event.data?.tenantId === t;
  const ok = async (p: Promise<Answer>) => {
    const a = await p;
    expect(a.resultCode).toBe('000000');
    return a;
  };
  const pending = async (queue: string): Promise<(Delivery & { id: string })[]> =>
    (await stack.koogate.store.queuePeek(queue, 10_000)).map((e) => ({ id: e.id, ...decodeDelivery(e.payload)! }));

  beforeAll(async () => {
    redisServer = await startRedis();
    receiver = await startWebhookReceiver();
    stack = await syncedStack({
      redisUrl: redisServer.url,
      env: {
        KOOGATE_WEBHOOK_URL: receiver.url,
        KOOGATE_WEBHOOK_SECRET: `${SECRET},${NEXT_SECRET}`,
        KOOGATE_WEBHOOK_RETRY_BASE_MS: '20',
        KOOGATE_WEBHOOK_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        KOOGATE_WEBHOOK_TIMEOUT_MS: '1500', // only the hang meets it, not a busy machine's slow answer
      },
    });
    publicKey = loadPublicKey(stack.secrets.publicKeyPem);
  });
  beforeEach(() => {
    receiver.answer = () => 200;
  });
  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
    await redisServer?.dispose();
  });

  test('the initial sync arrives as one signed event per call, each header and field as documented', async () => {
    const events = await receiver.waitForCount((r) => ['t-acme', 't-globex'].includes(String(r.event.data?.tenantId)), 6, 'initial sync events');
    expect(events.map((r) => `${r.event.interface} ${String(r.event.data.tenantId)}`).sort()).toEqual([
      'applicationSync t-acme',
      'applicationSync t-globex',
      'authSync t-acme',
      'authSync t-globex',
      'tenantSync t-acme',
      'tenantSync t-globex',
    ]);
    for (const r of events) {
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(r.headers['x-koogate-event']).toBe(r.event.interface);
      expect(r.headers['x-koogate-delivery']).toBe(r.event.id);
      expect(r.event.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.event.generation).toBe('v2');
      expect(Math.abs(Date.parse(r.event.receivedAt) - Date.now())).toBeLessThan(60_000);
      // Signed by both configured secrets (rotation), over the exact body and a current time.
      expect(r.headers['x-koogate-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
      expect(signatureValid(String(r.headers['x-koogate-signature']), r.body, SECRET)).toBe(true);
      expect(signatureValid(String(r.headers['x-koogate-signature']), r.body, NEXT_SECRET)).toBe(true);
      expect(signatureValid(String(r.headers['x-koogate-signature']), r.body, 'x'.repeat(40))).toBe(false);
      expect(signatureValid(String(r.headers['x-koogate-signature']), `${r.body} `, SECRET)).toBe(false);
    }
    const tenant = events.find((r) => r.event.interface === 'tenantSync' && r.event.data.tenantId === 't-acme')!;
    expect(tenant.event.data).toMatchObject({ tenantId: 't-acme', domainName: domain('t-acme'), flag: 1, testFlag: 1, instanceId: 'inst-t-acme' });
    const auth = events.find((r) => r.event.interface === 'authSync' && r.event.data.tenantId === 't-acme')!;
    expect(auth.event.data.userList).toEqual(expect.arrayContaining([expect.objectContaining({ userName: 'zhangwei', enable: 'true' })]));
  });

  test('applicationSync: neither the secret nor its ciphertext is sent, only that koogate stores one', async () => {
    const t = 't-wh-app';
    const plain = `plain-${randomBytes(8).toString('hex')}`;
    await ok(kit.send('tenantSync', bodies.tenant(t, domain(t))));
    await ok(kit.send('applicationSync', bodies.app(t, { clientSecret: plain })));
    const added = await receiver.waitFor((r) => ofTenant(t)(r) && r.event.interface === 'applicationSync', 'applicationSync event');
    expect(added.event.data).toEqual({
      instanceId: `inst-${t}`,
      tenantId: t,
      appId: DEMO_APP_ID,
      clientId: `client-${t}`,
      flag: 1,
      testFlag: 1,
      timeStamp: expect.stringMatching(/^\d{17}$/),
      clientSecretStored: true,
    });
    await ok(kit.send('applicationSync', bodies.app(t, { flag: 0, clientSecret: undefined })));
    const removed = await receiver.waitFor((r) => ofTenant(t)(r) && r.event.interface === 'applicationSync' && r.event.data.flag === 0, 'applicationSync delete event');
    expect(removed.event.data.clientSecretStored).toBe(false);
    // No body ever carried a secret: not this one, not the sandbox tenants' of the initial sync.
    const secrets = [plain, ...stack.sandbox.tenants.map((x) => x.clientSecret)];
    for (const r of receiver.received) {
      expect(r.body).not.toMatch(/clientSecret"/);
      for (const s of secrets) expect(r.body).not.toContain(s);
    }
  });

  test('V1 calls arrive normalised: lists as arrays, numbers as numbers, generation v1', async () => {
    const t = 't-wh-v1';
    await ok(kit.send('authSync', bodies.auth(t, [bodies.user('li', { employeeType: '3' })], { flag: '1' }), { generation: 'v1' }));
    const r = await receiver.waitFor(ofTenant(t), 'V1 authSync event');
    expect(r.event.generation).toBe('v1');
    expect(r.event.data.flag).toBe(1);
    expect(r.event.data.userList).toEqual([{ userName: 'li', name: 'Name li', orgCode: 'org-a', role: 'user', enable: 'true', employeeType: 3 }]);
  });

  test('allOrgSync and singleOrgSync arrive with their departments', async () => {
    const t = 't-wh-org';
    await ok(kit.send('allOrgSync', bodies.orgs(t, [{ orgCode: 'hq', orgName: 'HQ', parentCode: '' }, { orgCode: 'rd', name: 'R&D', parentCode: 'hq' }])));
    await ok(kit.send('singleOrgSync', bodies.org(t, 'qa', { parentCode: 'rd' })));
    const [all, single] = [
      await receiver.waitFor((r) => ofTenant(t)(r) && r.event.interface === 'allOrgSync', 'allOrgSync event'),
      await receiver.waitFor((r) => ofTenant(t)(r) && r.event.interface === 'singleOrgSync', 'singleOrgSync event'),
    ];
    expect(all.event.data.departments).toEqual([
      { orgCode: 'hq', orgName: 'HQ', parentCode: '' },
      { orgCode: 'rd', orgName: 'R&D', parentCode: 'hq' },
    ]);
    expect(single.event.data).toMatchObject({ orgCode: 'qa', orgName: 'Org qa', parentCode: 'rd', flag: 1 });
  });

  test('a repeated call that changes nothing is still an event of its own (new id, same data)', async () => {
    const t = 't-wh-dup';
    const body = bodies.tenant(t, domain(t));
    await ok(kit.send('tenantSync', body));
    await ok(kit.send('tenantSync', { ...body, timeStamp: kitTimeStamp(Date.now()) }));
    const [a, b] = await receiver.waitForCount(ofTenant(t), 2, 'two tenantSync events');
    expect(a!.event.id).not.toBe(b!.event.id);
    const { timeStamp: _a, ...dataA } = a!.event.data;
    const { timeStamp: _b, ...dataB } = b!.event.data;
    expect(dataA).toEqual(dataB);
  });

  test('refused calls queue nothing and post nothing', async () => {
    const t = 't-wh-refused';
    const refused: [string, Promise<Answer>][] = [
      ['000001', kit.send('tenantSync', bodies.tenant(t, domain(t)), { accessKey: 'not-the-access-key' })],
      ['000002', kit.send('tenantSync', bodies.tenant(t, domain(t)), { now: () => Date.now() - 10 * 60_000 })],
      ['000002', kit.send('tenantSync', bodies.tenant(t, domain(t), { flag: 7 }))],
      ['000002', kit.send('authSync', bodies.auth(t, [bodies.user('u1')], { appId: 'another-app' }))],
      ['000002', kit.send('authSync', bodies.auth(t, [bodies.user('u1', { enable: true })]), { generation: 'v1' })],
      ['000101', rawKit.send('applicationSync', bodies.app(t, { clientSecret: randomBytes(384).toString('base64') }))],
    ];
    for (const [code, answer] of refused) expect((await answer).resultCode).toBe(code);
    // Queuing comes before the answer: had any been queued, it would be in the queue or already received.
    expect((await pending(WEBHOOK_QUEUE)).filter((d) => d.tenantId === t)).toEqual([]);
    expect(receiver.received.filter(ofTenant(t))).toEqual([]);
    // And a valid call after them is the only thing the app sees of this tenant.
    await ok(kit.send('tenantSync', bodies.tenant(t, domain(t))));
    await receiver.waitFor(ofTenant(t), 'the valid call after the refused ones');
    await eventually(async () => (await pending(WEBHOOK_QUEUE)).every((d) => d.tenantId !== t), 'the queue to drain');
    expect(receiver.received.filter(ofTenant(t)).map((r) => r.event.interface)).toEqual(['tenantSync']);
  });

  test('the app failing (500) twice: the same event again with backoff, then delivered exactly once', async () => {
    const t = 't-wh-500';
    receiver.answer = (r, earlier) => (ofTenant(t)(r) && earlier.filter(ofTenant(t)).length < 2 ? 500 : 200);
    await ok(kit.send('tenantSync', bodies.tenant(t, domain(t))));
    const tries = await receiver.waitForCount(ofTenant(t), 3, 'three attempts');
    expect(tries.map((r) => r.answer)).toEqual([500, 500, 200]);
    expect(new Set(tries.map((r) => r.headers['x-koogate-delivery'])).size).toBe(1);
    expect(new Set(tries.map((r) => r.body)).size).toBe(1);
    for (const r of tries) expect(signatureValid(String(r.headers['x-koogate-signature']), r.body, SECRET)).toBe(true);
    expect(tries.every((r) => r.concurrent === 0)).toBe(true);
    // Delivered: the event leaves the queue, so no further attempt can come.
    await eventually(async () => (await pending(WEBHOOK_QUEUE)).every((d) => d.tenantId !== t), 'the event to leave the queue');
    expect(receiver.received.filter(ofTenant(t))).toHaveLength(3);
    expect((await pending(WEBHOOK_DEAD_LETTERS)).filter((d) => d.tenantId === t)).toEqual([]);
  });

  test('the app down (connection refused): the kit call still succeeds; the event waits, then arrives once when the app is back', async () => {
    const t = 't-wh-down';
    await receiver.stop();
    try {
      const started = Date.now();
      await ok(kit.send('tenantSync', bodies.tenant(t, domain(t))));
      expect(Date.now() - started).toBeLessThan(5_000);
      // Failed attempts are counted on the queued event (fewer than the maximum: the first retries are quick).
      await eventually(async () => (await pending(WEBHOOK_QUEUE)).some((d) => d.tenantId === t && d.attempts >= 2), 'two failed attempts');
      const waiting = (await pending(WEBHOOK_QUEUE)).find((d) => d.tenantId === t)!;
      expect(waiting.lastError).toBe('ECONNREFUSED');
    } finally {
      await receiver.start();
    }
    const r = await receiver.waitFor(ofTenant(t), 'the event once the app is back');
    await eventually(async () => (await pending(WEBHOOK_QUEUE)).every((d) => d.tenantId !== t), 'the event to leave the queue');
    expect(receiver.received.filter(ofTenant(t))).toEqual([r]);
  });

  test('the app not answering in time: the attempt is cut at the timeout and the event comes again', async () => {
    const t = 't-wh-hang';
    receiver.answer = (r, earlier) => (ofTenant(t)(r) && earlier.filter(ofTenant(t)).length === 0 ? 'hang' : 200);
    await ok(kit.send('tenantSync', bodies.tenant(t, domain(t))));
    const [first, second] = await receiver.waitForCount(ofTenant(t), 2, 'an attempt after the timeout');
    expect(first!.answer).toBe('hang');
    expect(second!.answer).toBe(200);
    expect(second!.event.id).toBe(first!.event.id);
    await eventually(async () => (await pending(WEBHOOK_QUEUE)).every((d) => d.tenantId !== t), 'the event to leave the queue');
  });

  test('an event the app never takes is given up after the maximum attempts and kept in the dead letters', async () => {
    const t = 't-wh-dead';
    receiver.answer = (r) => (ofTenant(t)(r) ? 503 : 200);
    await ok(kit.send('tenantSync', bodies.tenant(t, domain(t))));
    const tries = await receiver.waitForCount(ofTenant(t), MAX_ATTEMPTS, 'every attempt');
    await eventually(async () => (await pending(WEBHOOK_DEAD_LETTERS)).some((d) => d.tenantId === t), 'the dead letter');
    const [dead] = (await pending(WEBHOOK_DEAD_LETTERS)).filter((d) => d.tenantId === t);
    expect(dead).toMatchObject({ id: tries[0]!.event.id, event: 'tenantSync', attempts: MAX_ATTEMPTS, lastError: 'HTTP 503', body: tries[0]!.body });
    expect((await pending(WEBHOOK_QUEUE)).filter((d) => d.tenantId === t)).toEqual([]);
    expect(receiver.received.filter(ofTenant(t))).toHaveLength(MAX_ATTEMPTS);
  });

  test("a replica that died mid-attempt: its claim lapses and the event is posted by a live one", async () => {
    const t = 't-wh-crash';
    const id = `crashed-${randomBytes(4).toString('hex')}`;
    const body = JSON.stringify({ id, interface: 'tenantSync', generation: 'v2', receivedAt: new Date().toISOString(), data: { tenantId: t } });
    const payload = JSON.stringify({ body, event: 'tenantSync', tenantId: t, attempts: 0, queuedAt: Date.now() });
    // What a replica that died right after claiming leaves in Redis (src/store/redis.ts): the entry, its
    // claim, and a due time at the end of the claim's lease, 300 ms from now. Written in one transaction so
    // the live worker never sees the entry unclaimed.
    const redis = await rawRedis(redisServer.url);
    const claimedAt = Date.now();
    try {
      await redis
        .multi()
        .hset('koogate:webhook:queue:items', id, payload)
        .hset('koogate:webhook:queue:claims', id, 'dead-replica:1')
        .zadd('koogate:webhook:queue:due', claimedAt + 300, id)
        .exec();
    } finally {
      redis.disconnect();
    }
    const r = await receiver.waitFor((x) => x.event.id === id, 'the event posted by the live worker');
    expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(250);
    expect(r.body).toBe(body);
    await eventually(async () => (await pending(WEBHOOK_QUEUE)).every((d) => d.id !== id), 'the event to leave the queue');
    expect(receiver.received.filter((x) => x.event.id === id)).toHaveLength(1);
  });

  test('the Node check the README shows accepts every delivery and refuses a tampered one', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Webhook to your app'));
    const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    expect(code).toContain('function verifyKoogateSignature');
    const verify = runInNewContext(`${code}\nverifyKoogateSignature`, { require, Buffer, Date }) as (h: string | undefined, body: string | Buffer, secret: string) => boolean;
    expect(receiver.received.length).toBeGreaterThan(10);
    for (const r of receiver.received) {
      expect(verify(String(r.headers['x-koogate-signature']), Buffer.from(r.body), SECRET)).toBe(true);
      expect(verify(String(r.headers['x-koogate-signature']), r.body.replace('tenantId', 'tenantID'), SECRET)).toBe(false);
    }
    expect(verify(undefined, '{}', SECRET)).toBe(false);
    const old = Math.floor(Date.now() / 1000) - 3600;
    expect(verify(`t=${old},v1=${'0'.repeat(64)}`, '{}', SECRET)).toBe(false);
  });
});

describe('webhook to the app (memory store, one process)', () => {
  let receiver: WebhookReceiver;
  let stack: Stack;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    stack = await syncedStack({ env: { KOOGATE_WEBHOOK_URL: receiver.url, KOOGATE_WEBHOOK_SECRET: SECRET, KOOGATE_WEBHOOK_RETRY_BASE_MS: '20' } });
  });
  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
  });

  test('delivers the initial sync, retrying an app that failed once', async () => {
    let failed = false;
    receiver.answer = (r) => {
      if (failed || r.event.interface !== 'authSync') return 200;
      failed = true;
      return 500;
    };
    const events = await receiver.waitForCount((r) => r.answer === 200, 6, 'six delivered events');
    expect(events.map((r) => r.event.interface).sort()).toEqual(['applicationSync', 'applicationSync', 'authSync', 'authSync', 'tenantSync', 'tenantSync']);
    expect(receiver.received.filter((r) => r.answer === 500)).toHaveLength(1);
    for (const r of events) expect(signatureValid(String(r.headers['x-koogate-signature']), r.body, SECRET)).toBe(true);
    await eventually(async () => (await stack.koogate.store.queuePeek(WEBHOOK_QUEUE, 10)).length === 0, 'the queue to drain');
  });
});
