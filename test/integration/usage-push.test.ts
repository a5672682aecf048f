import { createLogger, silentLogger, type Logger } from '../../src/observability/logger';
import { UsageDeadlineWatch, type DeadlineCounts } from '../../src/outbound/usage-deadlines';
import { UsageLedger } from '../../src/outbound/usage-ledger';
import { formatUsageTime, type UsageRecord } from '../../src/outbound/usage-record';
import { UsageWorker } from '../../src/outbound/usage-worker';
import { startSandbox, type Sandbox } from '../../src/sandbox/marketplace';
import { MemoryStore } from '../../src/store/memory';
import { createRedisClient, RedisStore } from '../../src/store/redis';
import type { KeyValueStore } from '../../src/store/store';
import { startRedis, type RedisServer } from '../support/redis';
import { eventually } from '../support/webhook-receiver';

/**
 * Usage records from the ledger to the stand-in marketplace's intake over real HTTP, with the push signed
 * by the basic access key: batches of at most 1000, retries until accepted, per-record rejections,
 * duplicates on both sides, a restart in the middle of the queue, and two replicas on one Redis.
 */
const BASIC_KEY = 'basic-key-for-usage-tests-0001';
const HOUR = 3600_000;
/** Whole hours before now, so every interval has ended. */
const base = Math.floor(Date.now() / HOUR) * HOUR - 5000 * HOUR;
const record = (i: number, over: Partial<UsageRecord> = {}): UsageRecord => ({
  instance_id: 'inst-ppu',
  begin_time: formatUsageTime(base + i * HOUR),
  end_time: formatUsageTime(base + (i + 1) * HOUR),
  record_time: formatUsageTime(base + (i + 1) * HOUR + 60_000),
  usage_value: `${(i % 97) + 1}.25`,
  metering_sn: `sn-${i}`,
  ...over,
});

describe('usage push', () => {
  let sandbox: Sandbox;
  let redis: RedisServer;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    sandbox = await startSandbox({});
    redis = await startRedis();
  });
  afterAll(async () => {
    await sandbox?.close();
    await redis?.dispose();
  });
  beforeEach(() => {
    sandbox.usageIntake.reset();
    sandbox.usageIntake.basicKey = BASIC_KEY;
    sandbox.usageIntake.payPerUse.add('inst-ppu');
  });
  afterEach(async () => {
    while (closers.length) await closers.pop()!();
  });

  const redisStore = async (): Promise<KeyValueStore> => {
    const client = createRedisClient(redis.url, silentLogger);
    await client.connect();
    const store = new RedisStore(client);
    await client.flushall();
    closers.unshift(() => store.close());
    return store;
  };
  const worker = (store: KeyValueStore, ledger: UsageLedger, log: Logger = silentLogger, timeoutMs = 2000) => {
    const w = new UsageWorker({ store, ledger, target: { hosts: { bases: [new URL(sandbox.url)], timeoutMs }, basicKey: BASIC_KEY }, retryBaseMs: 20, pollMs: 20, log });
    closers.push(() => w.stop());
    return w;
  };
  const states = async (ledger: UsageLedger, sns: string[]) => (await ledger.statuses(sns)).map((s) => s?.state);

  describe.each([
    ['memory', async () => new MemoryStore() as KeyValueStore],
    ['redis', () => redisStore()],
  ])('on the %s store', (_kind, makeStore) => {
    test('2500 queued records go out in batches of at most 1000, each accepted once', async () => {
      const store = await makeStore();
      const ledger = new UsageLedger(store, 24 * HOUR);
      const records = Array.from({ length: 2500 }, (_, i) => record(i));
      for (let i = 0; i < records.length; i += 1000) await ledger.intake(records.slice(i, i + 1000));
      worker(store, ledger).start();
      await eventually(async () => sandbox.usageIntake.accepted.length === 2500, 'every record accepted', 30_000);
      expect(sandbox.usageIntake.stats.acceptedBatches).toEqual([1000, 1000, 500]);
      expect(new Set(sandbox.usageIntake.accepted.map((r) => r.metering_sn)).size).toBe(2500);
      await eventually(async () => (await states(ledger, records.map((r) => r.metering_sn))).every((s) => s === 'accepted'), 'every state written');
      expect(await store.queuePeek('usage:queue', 10)).toEqual([]);
    });

    test('pushes that get no verdict are retried until accepted: 500, a reset connection, a refused key, no answer in time', async () => {
      const store = await makeStore();
      const ledger = new UsageLedger(store, 24 * HOUR);
      await ledger.intake([record(1), record(2)]);
      sandbox.usageIntake.failNext.push({ status: 500, body: { error_code: 'MKT.0999', error_msg: 'busy' } }, 'reset', { status: 401, body: { error_code: 'MKT.0151', error_msg: 'no authority' } }, 'hang');
      const lines: string[] = [];
      // The hang is told apart by the push's timeout; one short enough to meet a busy machine's slow answer would
      // make an answered push count as one more failure.
      worker(store, ledger, createLogger('debug', (l) => lines.push(l)), 1500).start();
      await eventually(async () => (await states(ledger, ['sn-1', 'sn-2'])).every((s) => s === 'accepted'), 'accepted after the failures', 20_000);
      expect(sandbox.usageIntake.stats.calls).toBe(5);
      expect(sandbox.usageIntake.stats.acceptedBatches).toEqual([2]);
      const s = await ledger.status('sn-1');
      expect(s).toMatchObject({ state: 'accepted', attempts: 4, lastError: expect.stringContaining('no answer within 1500 ms') });
      const failures = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'usage push failed; will retry');
      expect(failures.map((l) => l.level)).toEqual(['warn', 'warn', 'error', 'warn']);
      // Never the key, the signature or the body.
      expect(lines.join('\n')).not.toContain(BASIC_KEY);
      expect(lines.join('\n')).not.toMatch(/signature["=:]|usage_value/);
    });

    test('a refused batch goes record by record: the bad record is rejected with its code, the others accepted', async () => {
      const store = await makeStore();
      const ledger = new UsageLedger(store, 24 * HOUR);
      const records = [record(1), record(2), record(3, { instance_id: 'inst-not-mine' }), record(4)];
      await ledger.intake(records);
      worker(store, ledger).start();
      await eventually(async () => !(await states(ledger, records.map((r) => r.metering_sn))).includes('queued'), 'every record settled', 20_000);
      expect(await states(ledger, records.map((r) => r.metering_sn))).toEqual(['accepted', 'accepted', 'rejected', 'accepted']);
      expect(await ledger.status('sn-3')).toMatchObject({ rejection: { code: 'MKT.0150', message: expect.stringContaining('inst-not-mine') } });
      expect(sandbox.usageIntake.stats.acceptedBatches).toEqual([1, 1, 1]);
      // A rejected record gives its period back: a corrected record for it is not a duplicate.
      expect(await ledger.intake([record(3, { metering_sn: 'sn-3-fixed' })])).toEqual([{ metering_sn: 'sn-3-fixed', result: 'queued' }]);
    });

    test('duplicates: a repeated metering_sn or period is one at intake; a record the marketplace already has is marked so', async () => {
      const store = await makeStore();
      const ledger = new UsageLedger(store, 24 * HOUR);
      expect(await ledger.intake([record(1)])).toEqual([{ metering_sn: 'sn-1', result: 'queued' }]);
      expect(await ledger.intake([record(1), record(1, { metering_sn: 'sn-1-again' })])).toEqual([
        { metering_sn: 'sn-1', result: 'duplicate', reason: 'metering_sn', state: 'queued' },
        { metering_sn: 'sn-1-again', result: 'duplicate', reason: 'period', state: 'duplicate', duplicateOf: 'sn-1' },
      ]);
      // The same metering_sn with other contents is still a duplicate, never a second record.
      expect(await ledger.intake([record(2, { metering_sn: 'sn-1' })])).toEqual([{ metering_sn: 'sn-1', result: 'duplicate', reason: 'metering_sn', state: 'queued' }]);
      expect(await ledger.status('sn-1-again')).toMatchObject({ state: 'duplicate', duplicateOf: 'sn-1' });

      // The marketplace took sn-5 before (another system, or a lost answer): it answers MKT.0101.
      const elsewhere = new MemoryStore();
      const other = new UsageLedger(elsewhere, HOUR);
      await other.intake([record(5)]);
      const w0 = worker(elsewhere, other);
      w0.start();
      await eventually(async () => sandbox.usageIntake.accepted.length === 1, 'sn-5 taken by the marketplace');
      await w0.stop();
      await ledger.intake([record(5)]);
      worker(store, ledger).start();
      await eventually(async () => !(await states(ledger, ['sn-1', 'sn-5'])).includes('queued'), 'both settled', 20_000);
      expect(await states(ledger, ['sn-1', 'sn-5'])).toEqual(['accepted', 'duplicate']);
      expect(await ledger.status('sn-5')).toMatchObject({ rejection: { code: 'MKT.0101' } });
    });
  });

  test('a restart in the middle of the queue loses nothing: the push cut short is handed back and sent by the next process', async () => {
    const store1 = await redisStore();
    const ledger1 = new UsageLedger(store1, 24 * HOUR);
    const records = Array.from({ length: 1500 }, (_, i) => record(i));
    await ledger1.intake(records.slice(0, 1000));
    await ledger1.intake(records.slice(1000));
    sandbox.usageIntake.failNext.push('hang');
    const w1 = worker(store1, ledger1, silentLogger, 60_000);
    w1.start();
    await eventually(async () => sandbox.usageIntake.stats.calls === 1, 'the first push under way');
    await w1.stop();
    await store1.close();
    expect(sandbox.usageIntake.accepted).toEqual([]);

    const client = createRedisClient(redis.url, silentLogger);
    await client.connect();
    const store2 = new RedisStore(client);
    closers.unshift(() => store2.close());
    const ledger2 = new UsageLedger(store2, 24 * HOUR);
    worker(store2, ledger2).start();
    await eventually(async () => sandbox.usageIntake.accepted.length === 1500, 'every record accepted after the restart', 30_000);
    expect(sandbox.usageIntake.stats.acceptedBatches).toEqual([1000, 500]);
    expect(new Set(sandbox.usageIntake.accepted.map((r) => r.metering_sn)).size).toBe(1500);
    await eventually(async () => (await states(ledger2, records.map((r) => r.metering_sn))).every((s) => s === 'accepted'), 'every state written');
  }, 60_000);

  test('two replicas on one Redis never push one record twice', async () => {
    const a = await redisStore();
    const client = createRedisClient(redis.url, silentLogger);
    await client.connect();
    const b = new RedisStore(client);
    closers.unshift(() => b.close());
    const ledgerA = new UsageLedger(a, 24 * HOUR);
    const ledgerB = new UsageLedger(b, 24 * HOUR);
    const wa = worker(a, ledgerA);
    const wb = worker(b, ledgerB);
    wa.start();
    wb.start();
    // Records arrive at both replicas while both push; every third push fails first.
    sandbox.usageIntake.failNext.push({ status: 503, body: {} }, { status: 200, body: { error_code: 'MKT.0999', error_msg: 'x' } });
    const records = Array.from({ length: 3000 }, (_, i) => record(i));
    for (let i = 0; i < records.length; i += 250) {
      const [ledger, w] = (i / 250) % 2 === 0 ? [ledgerA, wa] : [ledgerB, wb];
      await ledger.intake(records.slice(i, i + 250));
      w.wake();
    }
    await eventually(async () => sandbox.usageIntake.accepted.length === 3000, 'every record accepted', 30_000);
    expect(sandbox.usageIntake.stats.refusals.filter((c) => c === 'MKT.0101')).toEqual([]);
    expect(new Set(sandbox.usageIntake.accepted.map((r) => r.metering_sn)).size).toBe(3000);
    expect(Math.max(...sandbox.usageIntake.stats.acceptedBatches)).toBeLessThanOrEqual(1000);
    await eventually(async () => (await states(ledgerB, records.map((r) => r.metering_sn))).every((s) => s === 'accepted'), 'every state written');
  }, 60_000);

  test('records still waiting near or past their deadline are logged once and counted', async () => {
    const store = new MemoryStore();
    const ledger = new UsageLedger(store, 24 * HOUR);
    const now = Date.now();
    const hourEnd = Math.floor(now / 60_000) * 60_000;
    await ledger.intake([
      { ...record(0), metering_sn: 'late', begin_time: formatUsageTime(hourEnd - 3 * HOUR), end_time: formatUsageTime(hourEnd - 2 * HOUR), record_time: formatUsageTime(hourEnd - 2 * HOUR) },
      { ...record(0), metering_sn: 'risky', begin_time: formatUsageTime(hourEnd - 100 * 60_000), end_time: formatUsageTime(hourEnd - 40 * 60_000), record_time: formatUsageTime(hourEnd - 40 * 60_000) },
      { ...record(0), metering_sn: 'fresh', begin_time: formatUsageTime(hourEnd - 70 * 60_000), end_time: formatUsageTime(hourEnd - 10 * 60_000), record_time: formatUsageTime(hourEnd - 10 * 60_000) },
    ]);
    const lines: string[] = [];
    const counts: DeadlineCounts[] = [];
    const watch = new UsageDeadlineWatch({ store, deadlines: { hourlyMs: HOUR, dailyMs: 24 * HOUR }, checkMs: 60_000, log: createLogger('debug', (l) => lines.push(l)), onCounts: (c) => counts.push(c) });
    await watch.check();
    await watch.check();
    expect(counts).toEqual([
      { hourly: { at_risk: 1, late: 1 }, daily: { at_risk: 0, late: 0 } },
      { hourly: { at_risk: 1, late: 1 }, daily: { at_risk: 0, late: 0 } },
    ]);
    const logged = lines.map((l) => JSON.parse(l) as { level: string; msg: string; meteringSn: string });
    expect(logged.map((l) => [l.level, l.meteringSn])).toEqual([
      ['error', 'late'],
      ['warn', 'risky'],
    ]);
  });
});
