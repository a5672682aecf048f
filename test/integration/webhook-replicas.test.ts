import { randomBytes } from 'node:crypto';
import { bodies, kitCalls, rawRedis, type Answer } from '../support/kit';
import { startReplicaPair, type ReplicaPair } from '../support/replica';
import { eventually, signatureValid, startWebhookReceiver, type Received, type WebhookReceiver } from '../support/webhook-receiver';

/**
 * Two koogate processes on one Redis, both draining the one webhook queue: every event reaches the app
 * exactly once, never posted by both at the same time, also when the app fails first attempts and the
 * retries are picked up by whichever replica polls first.
 */
describe('webhook with two replicas on one Redis', () => {
  const SECRET = `replicas-${randomBytes(16).toString('hex')}`;
  let receiver: WebhookReceiver;
  let pair: ReplicaPair;
  const at = (which: 'a' | 'b') => kitCalls(() => ({ baseUrl: pair[which].url, accessKey: pair.secrets.accessKey }));

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    pair = await startReplicaPair({
      env: { KOOGATE_WEBHOOK_URL: receiver.url, KOOGATE_WEBHOOK_SECRET: SECRET, KOOGATE_WEBHOOK_RETRY_BASE_MS: '20', KOOGATE_WEBHOOK_TIMEOUT_MS: '2000' },
    });
  }, 60_000);
  afterAll(async () => {
    await pair?.stop();
    await receiver?.close();
  });

  test('calls at both replicas: each event delivered once, even with retries, never twice at once', async () => {
    // The app fails the first attempt of every third event.
    let n = 0;
    const failFirst = new Set<string>();
    receiver.answer = (r, earlier) => {
      const first = !earlier.some((e) => e.event.id === r.event.id);
      if (first && n++ % 3 === 0) failFirst.add(r.event.id);
      return first && failFirst.has(r.event.id) ? 500 : 200;
    };
    const tenants = Array.from({ length: 30 }, (_, i) => `t-rep-${i}`);
    const answers: Answer[] = [];
    for (let i = 0; i < tenants.length; i += 6) {
      const group = tenants.slice(i, i + 6);
      answers.push(
        ...(await Promise.all(
          group.map((t, j) => at(j % 2 === 0 ? 'a' : 'b').send('authSync', bodies.auth(t, [bodies.user('u1'), bodies.user('u2', { role: 'admin' })]))),
        )),
      );
    }
    expect(answers.map((a) => a.resultCode)).toEqual(tenants.map(() => '000000'));

    const ofRep = (r: Received) => String(r.event.data?.tenantId ?? '').startsWith('t-rep-');
    const delivered = await receiver.waitForCount((r) => ofRep(r) && r.answer === 200, tenants.length, 'one delivery per call', 30_000);
    expect(delivered.map((r) => String(r.event.data.tenantId)).sort()).toEqual([...tenants].sort());
    expect(failFirst.size).toBeGreaterThan(0);

    // The queue is empty once every outcome is recorded: nothing is left to post again.
    const redis = await rawRedis(pair.redis.url);
    try {
      await eventually(async () => (await redis.zcard('koogate:webhook:queue:due')) === 0, 'the queue to drain');
      expect(await redis.zcard('koogate:webhook:dead:due')).toBe(0);
    } finally {
      redis.disconnect();
    }

    const all = receiver.received;
    const byId = new Map<string, Received[]>();
    for (const r of all) byId.set(r.event.id, [...(byId.get(r.event.id) ?? []), r]);
    for (const [id, tries] of byId) {
      expect({ id, ok: tries.filter((r) => r.answer === 200).length }).toEqual({ id, ok: 1 });
      expect({ id, attempts: tries.length }).toEqual({ id, attempts: failFirst.has(id) ? 2 : 1 });
    }
    expect(all.every((r) => r.concurrent === 0)).toBe(true);
    expect(all.every((r) => signatureValid(String(r.headers['x-koogate-signature']), r.body, SECRET))).toBe(true);
    // Both replicas' logs together account for every delivery, no more (a replica writes its log lines in
    // batches, so the last may come a moment after the delivery itself).
    const deliveredLines = () => [...pair.a.logs, ...pair.b.logs].filter((l) => l.includes('"webhook delivered"'));
    await eventually(async () => deliveredLines().length >= byId.size, 'every delivery logged');
    expect(deliveredLines()).toHaveLength(byId.size);
  });
});
