import { silentLogger } from '../../src/observability/logger';
import { MemoryStore } from '../../src/store/memory';
import { StoreUnavailableError, type KeyValueStore } from '../../src/store/store';
import { decodeDelivery, encodeDelivery, WEBHOOK_DEAD_LETTERS, WEBHOOK_QUEUE, type Delivery } from '../../src/webhook/delivery';
import { WebhookWorker } from '../../src/webhook/worker';
import { eventually, signatureValid, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

/**
 * The worker on its own, against the memory store and a real receiving app: what happens to an attempt
 * when koogate stops, to an event older than the maximum age (an injected clock), to a queue entry that is
 * not a delivery, and to polling while the store is unreachable.
 */

const SECRET = 'k'.repeat(40);

describe('webhook worker', () => {
  let receiver: WebhookReceiver;
  const workers: WebhookWorker[] = [];

  const worker = (store: KeyValueStore, over: { now?: () => number; timeoutMs?: number; maxAttempts?: number; maxAgeMs?: number } = {}) => {
    const w = new WebhookWorker({
      store,
      target: { url: new URL(receiver.url), secrets: [SECRET], timeoutMs: over.timeoutMs ?? 2000 },
      policy: { baseMs: 20, maxAttempts: over.maxAttempts ?? 10, maxAgeMs: over.maxAgeMs ?? 3_600_000 },
      pollMs: 20,
      log: silentLogger,
      now: over.now,
    });
    workers.push(w);
    return w;
  };
  const queue = async (store: KeyValueStore, id: string, over: Partial<Delivery> = {}) => {
    const body = JSON.stringify({ id, interface: 'tenantSync', generation: 'v2', receivedAt: new Date().toISOString(), data: { tenantId: 't' } });
    await store.queuePush(WEBHOOK_QUEUE, id, encodeDelivery({ body, event: 'tenantSync', tenantId: 't', attempts: 0, queuedAt: Date.now(), ...over }), 0);
  };
  const entries = async (store: KeyValueStore, q: string) => (await store.queuePeek(q, 100)).map((e) => ({ id: e.id, dueAt: e.dueAt, ...decodeDelivery(e.payload) }));

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
  });
  beforeEach(() => {
    receiver.answer = () => 200;
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });
  afterAll(async () => {
    await receiver.close();
  });

  test('stopping mid-attempt hands the event back at once, the attempt not counted; the next worker delivers it', async () => {
    const store = new MemoryStore();
    receiver.answer = (r, earlier) => (earlier.some((e) => e.event.id === r.event.id) ? 200 : 'hang');
    const first = worker(store);
    first.start();
    await queue(store, 'ev-stop');
    await receiver.waitFor((r) => r.event.id === 'ev-stop', 'the first attempt');
    await first.stop();
    const [back] = await entries(store, WEBHOOK_QUEUE);
    expect(back).toMatchObject({ id: 'ev-stop', attempts: 0 });
    expect(back!.dueAt).toBeLessThanOrEqual(Date.now());
    worker(store).start();
    const [, second] = await receiver.waitForCount((r) => r.event.id === 'ev-stop', 2, 'the attempt by the next worker');
    expect(second!.answer).toBe(200);
    expect(signatureValid(String(second!.headers['x-koogate-signature']), second!.body, SECRET)).toBe(true);
    await eventually(async () => (await entries(store, WEBHOOK_QUEUE)).length === 0, 'the queue to drain');
  });

  test('an event older than the maximum age is given up after its next failure, not before it is tried', async () => {
    const store = new MemoryStore();
    const later = () => Date.now() + 2 * 3_600_000;
    receiver.answer = (r) => (r.event.id === 'ev-old' ? 500 : 200);
    worker(store, { now: later }).start();
    await queue(store, 'ev-old');
    await queue(store, 'ev-old-ok');
    await receiver.waitFor((r) => r.event.id === 'ev-old-ok', 'the old event the app takes');
    await eventually(async () => (await entries(store, WEBHOOK_DEAD_LETTERS)).length === 1, 'the dead letter');
    expect(await entries(store, WEBHOOK_DEAD_LETTERS)).toEqual([expect.objectContaining({ id: 'ev-old', attempts: 1, lastError: 'HTTP 500' })]);
    expect(receiver.received.filter((r) => r.event.id === 'ev-old')).toHaveLength(1);
    await eventually(async () => (await entries(store, WEBHOOK_QUEUE)).length === 0, 'the queue to drain');
  });

  test('a queue entry that is not a delivery is dropped; the rest are delivered', async () => {
    const store = new MemoryStore();
    await store.queuePush(WEBHOOK_QUEUE, 'garbage', '{"not":"a delivery"}', 0);
    await queue(store, 'ev-after-garbage');
    worker(store).start();
    await receiver.waitFor((r) => r.event.id === 'ev-after-garbage', 'the good event');
    await eventually(async () => (await entries(store, WEBHOOK_QUEUE)).length === 0, 'the queue to drain');
    expect(receiver.received.some((r) => r.event.id === 'garbage' || r.headers['x-koogate-delivery'] === 'garbage')).toBe(false);
  });

  test('with the store unreachable the worker keeps polling, and delivers once it is back', async () => {
    const memory = new MemoryStore();
    let down = true;
    let failedClaims = 0;
    const store = new Proxy(memory, {
      get(target, prop, recv) {
        const v = Reflect.get(target, prop, recv) as unknown;
        if (prop !== 'queueClaim' || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v;
        return async (...args: unknown[]) => {
          if (down) {
            failedClaims++;
            throw new StoreUnavailableError(new Error('connection refused'));
          }
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    await queue(memory, 'ev-outage');
    worker(store).start();
    await eventually(async () => failedClaims >= 3, 'a few failed polls');
    expect(receiver.received.some((r) => r.event.id === 'ev-outage')).toBe(false);
    down = false;
    await receiver.waitFor((r) => r.event.id === 'ev-outage', 'the event once the store is back');
  });
});
