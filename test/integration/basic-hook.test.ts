import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Stack } from '../../src/sandbox/stack';
import { basicBodies, basicCalls } from '../support/basic';
import { startRedis, type RedisServer } from '../support/redis';
import { syncedStack } from '../support/stack';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const SECRET = 'basic-hook-test-secret-0123456789abcdef0123';
const uid = () => randomBytes(6).toString('hex');

/** What the app's hook endpoint answers, and what it was asked. */
interface Hook {
  url: string;
  asked: { activity: string; data: Record<string, unknown>; signature: string; body: string }[];
  answer: { status: number; body: string } | 'hang';
  close(): Promise<void>;
}

async function startHook(): Promise<Hook> {
  const hook: Hook = { url: '', asked: [], answer: { status: 200, body: '{"resultCode":"000000"}' }, close: async () => {} };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const parsed = JSON.parse(body) as { activity: string; data: Record<string, unknown> };
      hook.asked.push({ ...parsed, signature: String(req.headers['x-koogate-signature'] ?? ''), body });
      const a = hook.answer;
      if (a === 'hang') return;
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(a.body);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  hook.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/koogate/basic`;
  hook.close = () =>
    new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    });
  return hook;
}

/** The app hears of every applied basic call (webhook), and has its say on newInstance and changeInstanceCheck (hook). */
describe.each(['redis', 'memory'] as const)('the app hears of basic calls (%s store)', (kind) => {
  let redis: RedisServer | undefined;
  let stack: Stack;
  let hook: Hook;
  let receiver: WebhookReceiver;
  const basic = basicCalls(() => ({ url: `${stack.koogate.url}/_koogate/produce`, accessKey: stack.secrets.basicAccessKey }));

  beforeAll(async () => {
    if (kind === 'redis') redis = await startRedis();
    hook = await startHook();
    receiver = await startWebhookReceiver();
    stack = await syncedStack({
      redisUrl: redis?.url,
      env: {
        KOOGATE_WEBHOOK_URL: receiver.url,
        KOOGATE_WEBHOOK_SECRET: SECRET,
        KOOGATE_WEBHOOK_RETRY_BASE_MS: '50',
        KOOGATE_BASIC_HOOK_URL: hook.url,
        KOOGATE_BASIC_HOOK_TIMEOUT_MS: '1000', // only the hang meets it, not a busy machine's slow answer
      },
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
    await hook?.close();
    await redis?.dispose();
  });
  beforeEach(() => {
    hook.answer = { status: 200, body: '{"resultCode":"000000"}' };
  });

  test('every applied activity is a webhook event with the activity as its interface; queryInstance is not', async () => {
    const b = basicBodies.newInstance(`o-${uid()}`);
    const id = b.businessId;
    const steps: [Parameters<typeof basic.send>[0], Record<string, unknown>][] = [
      ['newInstance', b],
      ['queryInstance', { instanceId: id }],
      ['refreshInstance', basicBodies.refresh(id, 'RENEWAL', '20300101000000')],
      ['updateInstanceStatus', basicBodies.status(id, 'FREEZE')],
      ['upgradeInstance', { instanceId: id, orderId: 'up-1', orderLineId: 'up-1-l' }],
      ['changeInstanceCheck', { instanceId: id, productInfo: { productId: 'p', skuCode: 's' } }],
      ['releaseInstance', { instanceId: id }],
    ];
    for (const [activity, body] of steps) expect((await basic.send(activity, body)).json.resultCode).toBe('000000');
    for (const [activity] of steps.filter(([a]) => a !== 'queryInstance')) {
      const r = await receiver.waitFor((x) => x.event.interface === activity && x.event.data.instanceId === id, `${activity} event`);
      expect(r.headers['x-koogate-event']).toBe(activity);
      expect(r.event).toMatchObject({ interface: activity, generation: 'v2', data: { activity, instanceId: id } });
    }
    const created = await receiver.waitFor((x) => x.event.interface === 'newInstance' && x.event.data.instanceId === id);
    expect(created.event.data).toMatchObject({ orderId: b.orderId, orderLineId: b.orderLineId, businessId: id, resultCode: '000000' });
    const frozen = await receiver.waitFor((x) => x.event.interface === 'updateInstanceStatus' && x.event.data.instanceId === id);
    expect(frozen.event.data).toMatchObject({ status: 'FREEZE', changed: true });
    expect(receiver.received.some((x) => x.event.interface === 'queryInstance')).toBe(false);
  });

  test('the hook is asked, signed like the webhook, before newInstance and changeInstanceCheck', async () => {
    const before = hook.asked.length;
    const b = basicBodies.newInstance(`o-${uid()}`);
    expect((await basic.send('newInstance', b)).json).toMatchObject({ resultCode: '000000', instanceId: b.businessId });
    const asked = hook.asked.slice(before);
    expect(asked.map((a) => a.activity)).toEqual(['newInstance']);
    expect(asked[0]!.data).toMatchObject({ orderId: b.orderId, instanceId: b.businessId });
    const [t, v1] = asked[0]!.signature.split(',').map((p) => p.split('=')[1]);
    expect(v1).toBe(createHmac('sha256', SECRET).update(`${t}.${asked[0]!.body}`).digest('hex'));
    expect((await basic.send('changeInstanceCheck', { instanceId: b.businessId, productInfo: { productId: 'p', skuCode: 's' } })).json.resultCode).toBe('000000');
    expect(hook.asked.slice(before).map((a) => a.activity)).toEqual(['newInstance', 'changeInstanceCheck']);
  });

  test('000004 from the hook: the instance is recorded and answered as processing; a retry keeps its id', async () => {
    hook.answer = { status: 200, body: '{"resultCode":"000004","resultMsg":"provisioning the database"}' };
    const b = basicBodies.newInstance(`o-${uid()}`);
    expect((await basic.send('newInstance', b)).json).toEqual({ resultCode: '000004', resultMsg: 'provisioning the database', instanceId: b.businessId });
    expect(await stack.koogate.directory.instances.get(b.businessId)).toMatchObject({ status: 'active' });
    hook.answer = { status: 200, body: '{"resultCode":"000000"}' };
    const retry = await basic.send('newInstance', { ...b, businessId: `biz-${uid()}` });
    expect(retry.json).toMatchObject({ resultCode: '000000', instanceId: b.businessId });
    expect(hook.asked[hook.asked.length - 1]!.data.instanceId).toBe(b.businessId);
  });

  test('a refusal code from the hook is answered and nothing is written', async () => {
    hook.answer = { status: 200, body: '{"resultCode":"000003","resultMsg":"this edition is not sold any more"}' };
    const b = basicBodies.newInstance(`o-${uid()}`);
    expect((await basic.send('newInstance', b)).json).toEqual({ resultCode: '000003', resultMsg: 'this edition is not sold any more' });
    expect(await stack.koogate.directory.instances.get(b.businessId)).toBeNull();
    expect(await stack.koogate.directory.instances.instanceOfOrder(b.orderId, b.orderLineId)).toBeNull();
    hook.answer = { status: 200, body: '{"resultCode":"100001","resultMsg":"downgrade not supported\\u0000"}' };
    const check = await basic.send('changeInstanceCheck', { instanceId: `i-${uid()}`, productInfo: { productId: 'p', skuCode: 's' } });
    // A message with control characters is not passed on.
    expect(check.json).toEqual({ resultCode: '100001', resultMsg: 'refused by the app' });
  });

  test.each([
    ['does not answer in time', 'hang' as const],
    ['answers 500', { status: 500, body: '{}' }],
    ['answers without a resultCode', { status: 200, body: '{"ok":true}' }],
    ['answers HTML', { status: 200, body: '<html>' }],
  ])('a hook that %s: 000005, nothing written', async (_what, answer) => {
    hook.answer = answer;
    const b = basicBodies.newInstance(`o-${uid()}`);
    const a = await basic.send('newInstance', b);
    expect(a.json).toMatchObject({ resultCode: '000005' });
    expect(await stack.koogate.directory.instances.get(b.businessId)).toBeNull();
  });
});
