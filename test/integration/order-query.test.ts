import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, silentLogger, type Logger } from '../../src/observability/logger';
import type { InstanceOrderDetails } from '../../src/outbound/order-details';
import { OrderFetcher } from '../../src/outbound/order-fetcher';
import { startSandbox, type Sandbox } from '../../src/sandbox/marketplace';
import { MemoryStore } from '../../src/store/memory';
import { freePort } from '../support/redis';
import { eventually } from '../support/webhook-receiver';

/**
 * The order query from koogate's fetcher to the stand-in marketplace over real HTTP, AK/SK-signed:
 * details stored per instance, retries through failures, a refused key, the fallback host when the first
 * gives no answer, and a server whose certificate is not trusted (never talked to).
 */
const KEYS = { ak: 'AKTESTORDERQUERY01', sk: 'sk-order-query-secret-0001' };

describe('order query', () => {
  let sandbox: Sandbox;
  let tlsDir: string;
  let untrusted: HttpsServer;
  let untrustedUrl: string;
  let untrustedHits = 0;
  const fetchers: OrderFetcher[] = [];

  beforeAll(async () => {
    sandbox = await startSandbox({});
    // A server with a self-signed certificate: strict TLS must refuse it, whatever it would answer.
    tlsDir = mkdtempSync(join(tmpdir(), 'koogate-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(tlsDir, 'k.pem'), '-out', join(tlsDir, 'c.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    untrusted = createHttpsServer({ key: readFileSync(join(tlsDir, 'k.pem')), cert: readFileSync(join(tlsDir, 'c.pem')) }, (_req, res) => {
      untrustedHits++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ resultCode: '000000', resultMsg: 'ok', orderInfo: { orderId: 'FORGED', orderLine: [{ chargingMode: 'ON_DEMAND' }] } }));
    });
    await new Promise<void>((ok) => untrusted.listen(0, '127.0.0.1', () => ok()));
    untrustedUrl = `https://127.0.0.1:${(untrusted.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await sandbox?.close();
    await new Promise<void>((ok) => (untrusted ? untrusted.close(() => ok()) : ok()));
    rmSync(tlsDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    sandbox.orderQuery.keys.clear();
    sandbox.orderQuery.keys.set(KEYS.ak, KEYS.sk);
    sandbox.orderQuery.failNext.length = 0;
    sandbox.orderQuery.stats = { calls: 0, verified: 0, refused: 0 };
  });
  afterEach(async () => {
    while (fetchers.length) await fetchers.pop()!.stop();
  });

  const fetcher = (bases: string[], over: { log?: Logger; timeoutMs?: number; keys?: typeof KEYS; now?: () => number; store?: MemoryStore; onFetched?: (id: string, o: InstanceOrderDetails) => Promise<void> } = {}) => {
    const store = over.store ?? new MemoryStore();
    const f = new OrderFetcher({
      store,
      target: { hosts: { bases: bases.map((b) => new URL(b)), timeoutMs: over.timeoutMs ?? 2000 }, keys: over.keys ?? KEYS },
      retryBaseMs: 20,
      pollMs: 20,
      log: over.log ?? silentLogger,
      onFetched: over.onFetched,
      now: over.now,
    });
    fetchers.push(f);
    f.start();
    return f;
  };
  const stateOf = async (f: OrderFetcher, id: string) => (await f.book.get(id))?.state;

  test('a new instance\'s order: read in the background, stored with its type, charging mode, expiry, product and buyer', async () => {
    const heard: [string, InstanceOrderDetails][] = [];
    const lines: string[] = [];
    const f = fetcher([sandbox.url], { log: createLogger('debug', (l) => lines.push(l)), onFetched: async (id, o) => void heard.push([id, o]) });
    await f.ask('inst-1', 'MOCKONDEMAND', 'MOCKONDEMAND-000001', 'newInstance');
    expect(await f.book.get('inst-1')).toMatchObject({ state: 'pending', orderId: 'MOCKONDEMAND', reason: 'newInstance' });
    await eventually(async () => (await stateOf(f, 'inst-1')) === 'fetched', 'the order read');
    const order = await f.book.get('inst-1');
    expect(order).toMatchObject({
      state: 'fetched',
      attempts: 1,
      details: {
        orderId: 'MOCKONDEMAND',
        orderLineId: 'MOCKONDEMAND-000001',
        orderType: 'NEW',
        chargingMode: 'pay-per-use',
        chargingModeRaw: 'ON_DEMAND',
        productId: 'OFFI000000000001',
        skuCode: 'sku-0001',
        buyer: { customerId: 'cust-mockondemand', customerName: 'Demo Enterprise', userName: 'demo-buyer' },
      },
    });
    const period = fetcher([sandbox.url]);
    await period.ask('inst-2', 'MOCKPERIODYEARNEW', undefined, 'newInstance');
    await eventually(async () => (await stateOf(period, 'inst-2')) === 'fetched', 'the second order read');
    expect((await period.book.get('inst-2'))?.details).toMatchObject({ chargingMode: 'period', expireTime: '20270101080000' });
    expect(heard).toEqual([['inst-1', order]]);
    expect(sandbox.orderQuery.stats).toMatchObject({ verified: 2, refused: 0 });
    // The key, the signature and the buyer stay out of the log.
    const text = lines.join('\n');
    for (const secret of [KEYS.sk, 'Signature=', 'Demo Enterprise', 'demo-buyer']) expect(text).not.toContain(secret);
  });

  test('failures are retried with back-off until the order is read: 500, a reset, no answer in time, an unknown order', async () => {
    sandbox.orderQuery.failNext.push({ status: 500, body: {} }, 'reset', 'hang', { status: 200, body: { resultCode: '000003', resultMsg: 'no such order yet' } });
    // Long enough that only the hang meets it, not a busy machine's slow answer.
    const f = fetcher([sandbox.url], { timeoutMs: 1500 });
    await f.ask('inst-r', 'MOCKMONTYRENEW', 'MOCKMONTYRENEW-000001', 'refreshInstance');
    await eventually(async () => (await f.book.get('inst-r'))?.attempts === 2, 'a retry recorded');
    expect(await f.book.get('inst-r')).toMatchObject({ state: 'pending', lastError: expect.stringMatching(/^127\.0\.0\.1:\d+: /) });
    await eventually(async () => (await stateOf(f, 'inst-r')) === 'fetched', 'the order read after the failures', 20_000);
    expect(await f.book.get('inst-r')).toMatchObject({ attempts: 5, details: { orderType: 'RENEW' } });
    expect((await f.book.get('inst-r'))?.lastError).toBeUndefined();
    expect(sandbox.orderQuery.stats.calls).toBe(5);
  });

  test('a wrong secret key is refused by the gateway and retried; a day later the query is given up', async () => {
    let clock = Date.now();
    const f = fetcher([sandbox.url], { keys: { ak: KEYS.ak, sk: 'not-the-secret-key' }, now: () => clock });
    await f.ask('inst-k', 'MOCKONDEMAND', undefined, 'newInstance');
    await eventually(async () => ((await f.book.get('inst-k'))?.attempts ?? 0) >= 2, 'refusals recorded');
    expect(await f.book.get('inst-k')).toMatchObject({ state: 'pending', lastError: expect.stringContaining('HTTP 401 APIGW.0301') });
    expect(sandbox.orderQuery.stats.lastRefusal).toBe('mismatch');
    clock += 24 * 3600_000;
    await eventually(async () => (await stateOf(f, 'inst-k')) === 'failed', 'given up');
  });

  test('the fallback host is asked when the first gives no answer; its own host is what is signed', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const f = fetcher([dead, sandbox.url]);
    await f.ask('inst-f', 'MOCKMONTYCHANGE', undefined, 'upgradeInstance');
    await eventually(async () => (await stateOf(f, 'inst-f')) === 'fetched', 'read through the fallback');
    expect(sandbox.orderQuery.stats).toMatchObject({ calls: 1, verified: 1 });
    expect((await f.book.get('inst-f'))?.details?.orderType).toBe('CHANGE');
  });

  test('strict TLS: a host whose certificate is not trusted is never believed; the fallback is', async () => {
    const only = fetcher([untrustedUrl]);
    await only.ask('inst-t', 'MOCKONDEMAND', undefined, 'newInstance');
    await eventually(async () => ((await only.book.get('inst-t'))?.attempts ?? 0) >= 1, 'an attempt recorded');
    expect(await only.book.get('inst-t')).toMatchObject({ state: 'pending', lastError: expect.stringMatching(/SELF_SIGNED|CERT|certificate/i) });
    expect(untrustedHits).toBe(0);

    const withFallback = fetcher([untrustedUrl, sandbox.url]);
    await withFallback.ask('inst-t2', 'MOCKONDEMAND', undefined, 'newInstance');
    await eventually(async () => (await stateOf(withFallback, 'inst-t2')) === 'fetched', 'read through the fallback');
    expect((await withFallback.book.get('inst-t2'))?.details?.orderId).toBe('MOCKONDEMAND');
    expect(untrustedHits).toBe(0);
  });

  test('a later ask (an upgrade\'s new order) is never overwritten by an earlier one', async () => {
    sandbox.orderQuery.failNext.push('hang');
    const store = new MemoryStore();
    const f = fetcher([sandbox.url], { timeoutMs: 500, store });
    await f.ask('inst-u', 'MOCKPERIODYEARNEW', undefined, 'newInstance');
    await f.ask('inst-u', 'MOCKMONTYCHANGE', undefined, 'upgradeInstance');
    await eventually(async () => (await f.book.get('inst-u'))?.details?.orderId === 'MOCKMONTYCHANGE', 'the upgrade read');
    await eventually(async () => (await store.queuePeek('order:queue', 10)).length === 0, 'both queries done', 10_000);
    expect(await f.book.get('inst-u')).toMatchObject({ state: 'fetched', orderId: 'MOCKMONTYCHANGE', reason: 'upgradeInstance' });
  });
});
