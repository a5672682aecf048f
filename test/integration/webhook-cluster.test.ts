import type { Stack } from '../../src/sandbox/stack';
import { decodeDelivery, WEBHOOK_DEAD_LETTERS, WEBHOOK_QUEUE } from '../../src/webhook/delivery';
import { startCluster, type HaRedis } from '../support/redis-ha';
import { syncedStack } from '../support/stack';
import { eventually, signatureValid, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

/**
 * The webhook on a Redis Cluster: the queue's scripts touch up to six keys (a queue's and its dead
 * letters'), which the store's hash tag keeps in one slot. Delivery, a retry and a dead letter all run.
 */
describe('webhook on a Redis Cluster', () => {
  const SECRET = 'c'.repeat(40);
  let redis: HaRedis;
  let receiver: WebhookReceiver;
  let stack: Stack;

  beforeAll(async () => {
    redis = await startCluster();
    receiver = await startWebhookReceiver();
    // t-globex's events always fail: with two attempts they end in the dead letters.
    receiver.answer = (r, earlier) => (r.event.data?.tenantId === 't-globex' ? 500 : earlier.some((e) => e.event.id === r.event.id) ? 200 : 503);
    stack = await syncedStack({
      env: { ...redis.env, KOOGATE_WEBHOOK_URL: receiver.url, KOOGATE_WEBHOOK_SECRET: SECRET, KOOGATE_WEBHOOK_RETRY_BASE_MS: '20', KOOGATE_WEBHOOK_MAX_ATTEMPTS: '2' },
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
    await redis?.stop();
  });

  test("one tenant's events delivered on their second attempt, the other's kept as dead letters", async () => {
    const delivered = await receiver.waitForCount((r) => r.answer === 200, 3, "t-acme's three events");
    expect(delivered.map((r) => r.event.interface).sort()).toEqual(['applicationSync', 'authSync', 'tenantSync']);
    for (const r of delivered) expect(signatureValid(String(r.headers['x-koogate-signature']), r.body, SECRET)).toBe(true);
    const store = stack.koogate.store;
    await eventually(async () => (await store.queuePeek(WEBHOOK_QUEUE, 10)).length === 0, 'the queue to drain');
    const dead = (await store.queuePeek(WEBHOOK_DEAD_LETTERS, 10)).map((e) => decodeDelivery(e.payload));
    expect(dead.map((d) => `${d?.event} ${d?.tenantId} ${d?.attempts}`).sort()).toEqual(['applicationSync t-globex 2', 'authSync t-globex 2', 'tenantSync t-globex 2']);
  });
});
