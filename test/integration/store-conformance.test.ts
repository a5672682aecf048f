import { once } from 'node:events';
import { silentLogger } from '../../src/observability/logger';
import { MemoryStore } from '../../src/store/memory';
import { createRedisClient, RedisStore, type RedisClient } from '../../src/store/redis';
import { StoreUnavailableError, type KeyValueStore } from '../../src/store/store';
import { startRedis, type RedisServer } from '../support/redis';

/**
 * The one storage contract (src/store/store.ts), run unchanged against both backends: one shared suite
 * runs against both (docs/architecture.md, "Fail fast on Redis" and the store). Where the backends really differ, the test says so and
 * asserts what each one does.
 */

interface Backend {
  kind: 'memory' | 'redis';
  store: KeyValueStore;
  /**
   * Lets `ms` of store time pass, then answers `probe`. Memory: moves the injected clock and asks once.
   * Redis: real time must pass, so asks repeatedly (a bounded number of real round trips, no sleeping)
   * until `probe` holds.
   */
  elapse(ms: number, probe: () => Promise<boolean>): Promise<boolean>;
}

interface BackendFactory {
  kind: 'memory' | 'redis';
  setup(): Promise<void>;
  fresh(): Promise<Backend>;
  teardown(): Promise<void>;
}

/** Upper bound of round trips while waiting for Redis to expire a key a few milliseconds old. */
const MAX_POLLS = 50_000;

function memoryFactory(): BackendFactory {
  return {
    kind: 'memory',
    async setup() {},
    async fresh() {
      let t = 1_700_000_000_000;
      const store = new MemoryStore(() => t);
      return {
        kind: 'memory',
        store,
        async elapse(ms, probe) {
          t += ms;
          return probe();
        },
      };
    },
    async teardown() {},
  };
}

function redisFactory(): BackendFactory {
  let server: RedisServer;
  let client: RedisClient;
  let store: RedisStore;
  return {
    kind: 'redis',
    async setup() {
      server = await startRedis();
      client = createRedisClient(server.url, silentLogger);
      await client.connect();
      store = new RedisStore(client);
    },
    async fresh() {
      await client.flushdb();
      return {
        kind: 'redis',
        store,
        async elapse(_ms, probe) {
          for (let i = 0; i < MAX_POLLS; i++) if (await probe()) return true;
          return false;
        },
      };
    },
    async teardown() {
      await store?.close();
      await server?.dispose();
    },
  };
}

describe.each([memoryFactory(), redisFactory()])('KeyValueStore conformance: $kind', (factory) => {
  let b: Backend;
  let s: KeyValueStore;

  beforeAll(() => factory.setup());
  afterAll(() => factory.teardown());
  beforeEach(async () => {
    b = await factory.fresh();
    s = b.store;
  });

  test('kind names the backend', () => {
    expect(s.kind).toBe(factory.kind);
  });

  describe('get / set', () => {
    test('an absent key reads as null', async () => {
      await expect(s.get('nope')).resolves.toBeNull();
    });

    test('set then get returns the value, unicode and empty string included', async () => {
      await s.set('a', 'value-1');
      await s.set('u', '租户 ✓ "quoted" \\ \n');
      await s.set('e', '');
      expect(await s.get('a')).toBe('value-1');
      expect(await s.get('u')).toBe('租户 ✓ "quoted" \\ \n');
      expect(await s.get('e')).toBe('');
    });

    test('set overwrites', async () => {
      await s.set('a', 'one');
      await s.set('a', 'two');
      expect(await s.get('a')).toBe('two');
    });

    test('a value with a ttl is there before it expires and gone after', async () => {
      await s.set('short', 'v', 20);
      await s.set('long', 'v', 3_600_000);
      expect(await s.get('long')).toBe('v');
      const expired = await b.elapse(21, async () => (await s.get('short')) === null);
      expect(expired).toBe(true);
      expect(await s.get('long')).toBe('v');
    });

    test('memory/redis: a ttl value is still readable just before its ttl (memory clock) / right after set (redis)', async () => {
      await s.set('k', 'v', 60_000);
      if (b.kind === 'memory') {
        expect(await b.elapse(59_999, async () => (await s.get('k')) === 'v')).toBe(true);
        expect(await b.elapse(1, async () => (await s.get('k')) === null)).toBe(true);
      } else {
        const pttl = await (s as RedisStore).client.pttl('koogate:k');
        expect(pttl).toBeGreaterThan(59_000);
        expect(pttl).toBeLessThanOrEqual(60_000);
      }
    });

    test('set without ttl clears an earlier ttl', async () => {
      await s.set('k', 'first', 20);
      await s.set('k', 'second');
      // Waiting for something that must not happen: memory moves its clock far ahead; on Redis polling
      // would only run out its bound, so read the key's TTL instead (-1: none).
      if (b.kind === 'redis') expect(await (s as RedisStore).client.pttl('koogate:k')).toBe(-1);
      else expect(await b.elapse(3_600_000, async () => (await s.get('k')) === null)).toBe(false);
      expect(await s.get('k')).toBe('second');
    });
  });

  describe('mget', () => {
    test('no keys gives an empty list', async () => {
      await expect(s.mget([])).resolves.toEqual([]);
    });

    test('values in the order asked, null for absent and expired keys', async () => {
      await s.set('a', '1');
      await s.set('c', '3');
      await s.set('gone', 'x', 10);
      expect(await b.elapse(11, async () => (await s.get('gone')) === null)).toBe(true);
      expect(await s.mget(['c', 'b', 'a', 'gone', 'a'])).toEqual(['3', null, '1', null, '1']);
    });

    test('a set-typed key reads as null, not as an error', async () => {
      await s.atomic([{ op: 'sadd', key: 'members', member: 'm' }]);
      await s.set('a', '1');
      expect(await s.mget(['members', 'a'])).toEqual([null, '1']);
    });
  });

  describe('setIfAbsent', () => {
    test('sets an absent key and reports true; a second call reports false and keeps the first value', async () => {
      expect(await s.setIfAbsent('nonce', 'first', 60_000)).toBe(true);
      expect(await s.setIfAbsent('nonce', 'second', 60_000)).toBe(false);
      expect(await s.get('nonce')).toBe('first');
    });

    test('an empty-string value still counts as present', async () => {
      await s.set('k', '');
      expect(await s.setIfAbsent('k', 'x', 60_000)).toBe(false);
      expect(await s.get('k')).toBe('');
    });

    test('a set-typed key counts as present', async () => {
      await s.atomic([{ op: 'sadd', key: 'members', member: 'm' }]);
      expect(await s.setIfAbsent('members', 'x', 60_000)).toBe(false);
      expect(await s.sMembers('members')).toEqual(['m']);
    });

    test('the key expires with its ttl, after which it can be set again', async () => {
      expect(await s.setIfAbsent('nonce', 'first', 20)).toBe(true);
      expect(await b.elapse(21, async () => (await s.get('nonce')) === null)).toBe(true);
      expect(await s.setIfAbsent('nonce', 'again', 60_000)).toBe(true);
      expect(await s.get('nonce')).toBe('again');
    });

    test('only one of many concurrent callers wins', async () => {
      const results = await Promise.all(Array.from({ length: 25 }, (_, i) => s.setIfAbsent('race', `w${i}`, 60_000)));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(await s.get('race')).toBe(`w${winner}`);
    });
  });

  describe('compareAndSet', () => {
    test('expected null on an absent key: sets it', async () => {
      expect(await s.compareAndSet('k', null, 'v1')).toBe(true);
      expect(await s.get('k')).toBe('v1');
    });

    test('expected null on a present key: refuses and keeps the value', async () => {
      await s.set('k', 'v1');
      expect(await s.compareAndSet('k', null, 'v2')).toBe(false);
      expect(await s.get('k')).toBe('v1');
    });

    test('matching witness: replaces', async () => {
      await s.set('k', 'v1');
      expect(await s.compareAndSet('k', 'v1', 'v2')).toBe(true);
      expect(await s.get('k')).toBe('v2');
    });

    test('stale witness: refuses and keeps the newer value', async () => {
      await s.set('k', 'v1');
      expect(await s.compareAndSet('k', 'v1', 'v2')).toBe(true);
      expect(await s.compareAndSet('k', 'v1', 'v3')).toBe(false);
      expect(await s.get('k')).toBe('v2');
    });

    test('a non-null witness on an absent key refuses and does not create it', async () => {
      expect(await s.compareAndSet('k', 'v1', 'v2')).toBe(false);
      expect(await s.get('k')).toBeNull();
    });

    test('empty string and absent differ both ways', async () => {
      // Absent key: '' is not a match, null is.
      expect(await s.compareAndSet('k', '', 'x')).toBe(false);
      expect(await s.get('k')).toBeNull();
      // Key holding '': null is not a match, '' is.
      await s.set('k', '');
      expect(await s.compareAndSet('k', null, 'x')).toBe(false);
      expect(await s.get('k')).toBe('');
      expect(await s.compareAndSet('k', '', 'x')).toBe(true);
      expect(await s.get('k')).toBe('x');
    });

    test('a witness equal to the value minus or plus a leading character does not match', async () => {
      // The Redis script tags the witness with one character; make sure the tag is not compared.
      await s.set('k', '=v');
      expect(await s.compareAndSet('k', 'v', 'x')).toBe(false);
      expect(await s.compareAndSet('k', '==v', 'x')).toBe(false);
      expect(await s.compareAndSet('k', '=v', 'x')).toBe(true);
      expect(await s.get('k')).toBe('x');
    });

    test('the new value takes the given ttl, and no ttl means none', async () => {
      await s.set('k', 'v1', 3_600_000);
      expect(await s.compareAndSet('k', 'v1', 'v2', 20)).toBe(true);
      expect(await b.elapse(21, async () => (await s.get('k')) === null)).toBe(true);

      await s.set('p', 'v1', 20);
      expect(await s.compareAndSet('p', 'v1', 'v2')).toBe(true);
      if (b.kind === 'redis') expect(await (s as RedisStore).client.pttl('koogate:p')).toBe(-1);
      else expect(await b.elapse(3_600_000, async () => (await s.get('p')) === 'v2')).toBe(true);
    });

    test('an expired value is absent for the witness', async () => {
      await s.set('k', 'v1', 20);
      expect(await b.elapse(21, async () => (await s.get('k')) === null)).toBe(true);
      expect(await s.compareAndSet('k', 'v1', 'v2')).toBe(false);
      expect(await s.compareAndSet('k', null, 'v3')).toBe(true);
      expect(await s.get('k')).toBe('v3');
    });

    test('of many concurrent writers holding the same witness exactly one wins', async () => {
      await s.set('k', 'v0');
      const results = await Promise.all(Array.from({ length: 25 }, (_, i) => s.compareAndSet('k', 'v0', `v${i + 1}`)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await s.get('k')).toBe(`v${results.indexOf(true) + 1}`);
    });
  });

  describe('expireIfEquals (a lock lease)', () => {
    test('extends the ttl while the key holds the value; the key then expires with the new ttl', async () => {
      await s.set('lock', 'owner-1', 20);
      expect(await s.expireIfEquals('lock', 'owner-1', 3_600_000)).toBe(true);
      if (b.kind === 'redis') expect(await (s as RedisStore).client.pttl('koogate:lock')).toBeGreaterThan(3_500_000);
      else expect(await b.elapse(1_000_000, async () => (await s.get('lock')) === 'owner-1')).toBe(true);
      expect(await s.expireIfEquals('lock', 'owner-1', 20)).toBe(true);
      expect(await b.elapse(21, async () => (await s.get('lock')) === null)).toBe(true);
    });

    test('gives a ttl to a key that had none', async () => {
      await s.set('lock', 'owner-1');
      expect(await s.expireIfEquals('lock', 'owner-1', 20)).toBe(true);
      expect(await b.elapse(21, async () => (await s.get('lock')) === null)).toBe(true);
    });

    test('refuses, and leaves the ttl alone, when another owner holds the key', async () => {
      await s.set('lock', 'owner-2', 20);
      expect(await s.expireIfEquals('lock', 'owner-1', 3_600_000)).toBe(false);
      expect(await b.elapse(21, async () => (await s.get('lock')) === null)).toBe(true);
    });

    test('refuses for an absent or expired key, and does not create it', async () => {
      expect(await s.expireIfEquals('lock', 'owner-1', 60_000)).toBe(false);
      await s.set('lock', 'owner-1', 20);
      expect(await b.elapse(21, async () => (await s.get('lock')) === null)).toBe(true);
      expect(await s.expireIfEquals('lock', 'owner-1', 60_000)).toBe(false);
      expect(await s.get('lock')).toBeNull();
    });
  });

  describe('delIfEquals (releasing one\'s own lock)', () => {
    test('deletes while the key holds the value', async () => {
      await s.set('lock', 'owner-1', 60_000);
      expect(await s.delIfEquals('lock', 'owner-1')).toBe(true);
      expect(await s.get('lock')).toBeNull();
      expect(await s.setIfAbsent('lock', 'owner-2', 60_000)).toBe(true);
    });

    test('refuses and keeps the key when another owner holds it', async () => {
      await s.set('lock', 'owner-2', 60_000);
      expect(await s.delIfEquals('lock', 'owner-1')).toBe(false);
      expect(await s.get('lock')).toBe('owner-2');
    });

    test('refuses for an absent key; an empty-string value matches only the empty string', async () => {
      expect(await s.delIfEquals('lock', '')).toBe(false);
      await s.set('lock', '');
      expect(await s.delIfEquals('lock', 'x')).toBe(false);
      expect(await s.delIfEquals('lock', '')).toBe(true);
      expect(await s.get('lock')).toBeNull();
    });
  });

  describe('del', () => {
    test('removes several keys, strings and sets alike; absent keys and no keys are fine', async () => {
      await s.set('a', '1');
      await s.set('b', '2');
      await s.set('keep', '3');
      await s.atomic([{ op: 'sadd', key: 'set', member: 'm' }]);
      await s.del('a', 'b', 'set', 'never-existed');
      await s.del();
      expect(await s.mget(['a', 'b', 'keep'])).toEqual([null, null, '3']);
      expect(await s.sMembers('set')).toEqual([]);
      // The key is really gone: setIfAbsent on it succeeds.
      expect(await s.setIfAbsent('set', 'now-a-string', 60_000)).toBe(true);
    });
  });

  describe('sMembers', () => {
    test('absent set gives []', async () => {
      await expect(s.sMembers('none')).resolves.toEqual([]);
    });

    test('members added by atomic sadd, duplicates once, srem removes, emptied set disappears', async () => {
      await s.atomic([
        { op: 'sadd', key: 'tenants', member: 't-b' },
        { op: 'sadd', key: 'tenants', member: 't-a' },
        { op: 'sadd', key: 'tenants', member: 't-b' },
      ]);
      expect((await s.sMembers('tenants')).sort()).toEqual(['t-a', 't-b']);
      await s.atomic([{ op: 'srem', key: 'tenants', member: 't-b' }]);
      await s.atomic([{ op: 'srem', key: 'tenants', member: 'never-there' }]);
      expect(await s.sMembers('tenants')).toEqual(['t-a']);
      await s.atomic([{ op: 'srem', key: 'tenants', member: 't-a' }]);
      expect(await s.sMembers('tenants')).toEqual([]);
      // An emptied set leaves no key behind (Redis deletes empty sets; memory must too).
      expect(await s.setIfAbsent('tenants', 'x', 60_000)).toBe(true);
    });

    test('srem on an absent set is a no-op', async () => {
      await s.atomic([{ op: 'srem', key: 'none', member: 'm' }]);
      expect(await s.sMembers('none')).toEqual([]);
      expect(await s.get('none')).toBeNull();
    });
  });

  describe('atomicIf (a guarded batch)', () => {
    test('guard absent: applies every op and reports true; a second call with the same guard reports false and writes nothing', async () => {
      const ops = (v: string) => [
        { op: 'set' as const, key: 'claim', value: v },
        { op: 'set' as const, key: 'record', value: v, ttlMs: 60_000 },
        { op: 'sadd' as const, key: 'index', member: v },
      ];
      expect(await s.atomicIf({ key: 'claim', expected: null }, ops('first'))).toBe(true);
      expect(await s.atomicIf({ key: 'claim', expected: null }, ops('second'))).toBe(false);
      expect(await s.mget(['claim', 'record'])).toEqual(['first', 'first']);
      expect(await s.sMembers('index')).toEqual(['first']);
    });

    test('guard value: applies while the key still holds it, refuses once it changed', async () => {
      await s.set('rec', 'v1');
      expect(await s.atomicIf({ key: 'rec', expected: 'v1' }, [{ op: 'set', key: 'rec', value: 'v2' }, { op: 'del', key: 'gone' }])).toBe(true);
      expect(await s.atomicIf({ key: 'rec', expected: 'v1' }, [{ op: 'set', key: 'rec', value: 'v3' }])).toBe(false);
      expect(await s.get('rec')).toBe('v2');
    });

    test('empty string and absent differ both ways; a non-null guard on an absent key refuses', async () => {
      expect(await s.atomicIf({ key: 'k', expected: '' }, [{ op: 'set', key: 'k', value: 'x' }])).toBe(false);
      await s.set('k', '');
      expect(await s.atomicIf({ key: 'k', expected: null }, [{ op: 'set', key: 'k', value: 'x' }])).toBe(false);
      expect(await s.atomicIf({ key: 'k', expected: '' }, [{ op: 'set', key: 'k', value: 'x' }])).toBe(true);
      expect(await s.get('k')).toBe('x');
    });

    test('every op kind, with ttls; srem of the last member removes the set', async () => {
      await s.atomic([{ op: 'sadd', key: 'set', member: 'a' }, { op: 'set', key: 'old', value: 'o' }]);
      expect(
        await s.atomicIf({ key: 'g', expected: null }, [
          { op: 'set', key: 'g', value: 'held' },
          { op: 'set', key: 'ttl', value: 't', ttlMs: 20 },
          { op: 'sadd', key: 'set2', member: 'b' },
          { op: 'expire', key: 'set2', ttlMs: 20 },
          { op: 'srem', key: 'set', member: 'a' },
          { op: 'del', key: 'old' },
        ]),
      ).toBe(true);
      expect(await s.mget(['g', 'ttl', 'old'])).toEqual(['held', 't', null]);
      expect(await s.sMembers('set')).toEqual([]);
      expect(await s.sMembers('set2')).toEqual(['b']);
      expect(await b.elapse(21, async () => (await s.get('ttl')) === null && (await s.sMembers('set2')).length === 0)).toBe(true);
      expect(await s.get('g')).toBe('held');
    });

    test('an expired guard counts as absent', async () => {
      await s.set('lease', 'x', 10);
      expect(await b.elapse(11, async () => (await s.get('lease')) === null)).toBe(true);
      expect(await s.atomicIf({ key: 'lease', expected: null }, [{ op: 'set', key: 'lease', value: 'mine' }])).toBe(true);
    });

    test('of many concurrent claims of one absent key exactly one applies its batch', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          s.atomicIf({ key: 'order', expected: null }, [
            { op: 'set', key: 'order', value: `id-${i}` },
            { op: 'set', key: `record:${i}`, value: 'r' },
          ]),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(await s.get('order')).toBe(`id-${winner}`);
      const records = await s.mget(Array.from({ length: 20 }, (_, i) => `record:${i}`));
      expect(records.filter((r) => r !== null)).toEqual(['r']);
    });
  });

  describe('atomic', () => {
    test('applies every op of a mixed batch, in order', async () => {
      await s.set('old', 'x');
      await s.atomic([
        { op: 'set', key: 'a', value: '1' },
        { op: 'set', key: 'a', value: '2' },
        { op: 'set', key: 'ttl', value: 't', ttlMs: 20 },
        { op: 'del', key: 'old' },
        { op: 'sadd', key: 'set', member: 'm1' },
        { op: 'sadd', key: 'set', member: 'm2' },
        { op: 'srem', key: 'set', member: 'm1' },
      ]);
      expect(await s.mget(['a', 'old', 'ttl'])).toEqual(['2', null, 't']);
      expect(await s.sMembers('set')).toEqual(['m2']);
      expect(await b.elapse(21, async () => (await s.get('ttl')) === null)).toBe(true);
      expect(await s.get('a')).toBe('2');
    });

    test('an expire op gives a set a ttl, and is a no-op on an absent key', async () => {
      await s.atomic([
        { op: 'sadd', key: 'index', member: 'sid-1' },
        { op: 'expire', key: 'index', ttlMs: 20 },
        { op: 'expire', key: 'never-there', ttlMs: 20 },
      ]);
      expect(await s.sMembers('index')).toEqual(['sid-1']);
      expect(await s.get('never-there')).toBeNull();
      expect(await b.elapse(21, async () => (await s.sMembers('index')).length === 0)).toBe(true);
    });

    test('an empty batch is fine', async () => {
      await expect(s.atomic([])).resolves.toBeUndefined();
    });

    test('a batch whose ops are all valid is visible all together to a concurrent reader', async () => {
      // Not a proof of isolation, but it must never observe only the first half of the batch.
      const write = s.atomic([
        { op: 'set', key: 'x', value: 'new' },
        { op: 'set', key: 'y', value: 'new' },
      ]);
      const seen = await s.mget(['x', 'y']);
      await write;
      expect([JSON.stringify([null, null]), JSON.stringify(['new', 'new'])]).toContain(JSON.stringify(seen));
      expect(await s.mget(['x', 'y'])).toEqual(['new', 'new']);
    });

    /*
     * What happens when one op of the batch cannot apply (sadd on a key that holds a string).
     * The contract in store.ts says "Applies every op or none", but the two backends differ:
     *  - memory: no error at all; sadd silently REPLACES the string with a one-member set, and every op applies.
     *  - redis: MULTI/EXEC has no rollback. The failing SADD gets WRONGTYPE at EXEC time, the other ops
     *    of the batch ARE applied, and atomic() rejects — wrapped as StoreUnavailableError, although Redis is
     *    perfectly reachable. So "all or none" does not hold on Redis for ops that fail at run time.
     * Koogate's own batches (directory: set tenant + sadd/srem on dir:tenants) never mix types, so this only
     * matters for corrupted data; the test pins the real behaviour so a change is noticed.
     */
    test('a failing op inside the batch (sadd on a string key): real behaviour of each backend', async () => {
      await s.set('str', 'a string');
      await s.set('before', 'untouched');
      const attempt = s.atomic([
        { op: 'set', key: 'before', value: 'changed' },
        { op: 'sadd', key: 'str', member: 'm' },
        { op: 'set', key: 'after', value: 'written' },
      ]);
      if (b.kind === 'memory') {
        await expect(attempt).resolves.toBeUndefined();
        expect(await s.get('str')).toBeNull();
        expect(await s.sMembers('str')).toEqual(['m']);
        expect(await s.mget(['before', 'after'])).toEqual(['changed', 'written']);
      } else {
        const err = await attempt.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(StoreUnavailableError);
        expect((err as Error).message).toMatch(/WRONGTYPE/);
        // No rollback: the ops around the failing one were applied, the string is intact.
        expect(await s.mget(['before', 'after', 'str'])).toEqual(['changed', 'written', 'a string']);
      }
    });
  });

  /*
   * Reading a key as the wrong type is where the backends part ways: memory treats a set as "no string"
   * (get → null, compareAndSet(null) overwrites the set, sMembers on a string → []), Redis answers
   * WRONGTYPE, which RedisStore reports as StoreUnavailableError (delIfEquals/expireIfEquals likewise: memory
   * answers false). Pinned so a change is deliberate.
   */
  test('wrong-type reads: real behaviour of each backend', async () => {
    await s.set('str', 'v');
    await s.atomic([{ op: 'sadd', key: 'set', member: 'm' }]);
    const settle = (p: Promise<unknown>) =>
      p.then(
        (v) => ({ value: v }),
        (e: unknown) => ({ error: e instanceof StoreUnavailableError && /WRONGTYPE/.test(e.message) ? 'WRONGTYPE' : String(e) }),
      );
    const seen = {
      getOfSet: await settle(s.get('set')),
      sMembersOfString: await settle(s.sMembers('str')),
      delIfEqualsOnSet: await settle(s.delIfEquals('set', 'm')),
      expireIfEqualsOnSet: await settle(s.expireIfEquals('set', 'm', 1000)),
      casOnSet: await settle(s.compareAndSet('set', null, 'x')),
    };
    if (b.kind === 'memory') {
      expect(seen).toEqual({
        getOfSet: { value: null },
        sMembersOfString: { value: [] },
        delIfEqualsOnSet: { value: false },
        expireIfEqualsOnSet: { value: false },
        casOnSet: { value: true },
      });
      expect(await s.get('set')).toBe('x');
    } else {
      const wrong = { error: 'WRONGTYPE' };
      expect(seen).toEqual({ getOfSet: wrong, sMembersOfString: wrong, delIfEqualsOnSet: wrong, expireIfEqualsOnSet: wrong, casOnSet: wrong });
      expect(await s.sMembers('set')).toEqual(['m']);
    }
  });

  describe('delay queues', () => {
    const ids = (entries: { id: string }[]) => entries.map((e) => e.id);

    test('an absent queue: nothing to claim or peek, nothing to settle', async () => {
      expect(await s.queueClaim('q', 'c1', 60_000, 10)).toEqual([]);
      expect(await s.queuePeek('q', 10)).toEqual([]);
      expect(await s.queueSize('q')).toBe(0);
      expect(await s.queueSettle('q', 'nope', 'c1', { kind: 'remove' })).toBe(false);
    });

    test('the size counts every entry, due, claimed or not yet due, until it is settled', async () => {
      await s.queuePush('q', 'a', 'x', 0);
      await s.queuePush('q', 'b', 'y', 3_600_000);
      await s.queuePush('q', 'a', 'x again', 0);
      expect(await s.queueSize('q')).toBe(2);
      const [claimed] = await s.queueClaim('q', 'c1', 60_000, 10);
      expect(await s.queueSize('q')).toBe(2);
      await s.queueSettle('q', claimed!.id, 'c1', { kind: 'remove' });
      expect(await s.queueSize('q')).toBe(1);
      expect(await s.queueSize('other')).toBe(0);
    });

    test('due entries are claimed earliest first with their payload and the claim; max bounds the batch', async () => {
      await s.queuePush('q', 'b', 'payload b', 0);
      await s.queuePush('q', 'a', '租户 ✓ "a"', 0);
      await s.queuePush('q', 'c', '', 0);
      const first = await s.queueClaim('q', 'c1', 60_000, 2);
      expect(first).toHaveLength(2);
      expect(first.every((e) => e.claim === 'c1')).toBe(true);
      const rest = await s.queueClaim('q', 'c2', 60_000, 10);
      const all = [...first, ...rest];
      expect(all.map((e) => e.id).sort()).toEqual(['a', 'b', 'c']);
      expect(Object.fromEntries(all.map((e) => [e.id, e.payload]))).toEqual({ a: '租户 ✓ "a"', b: 'payload b', c: '' });
      expect(rest.every((e) => e.claim === 'c2')).toBe(true);
    });

    test('same due time: ordered by id', async () => {
      await s.queuePush('q', 'z', 'z', 3_600_000);
      if (b.kind === 'memory') {
        await s.queuePush('q', 'm', 'm', 0);
        await s.queuePush('q', 'k', 'k', 0);
        expect(ids(await s.queueClaim('q', 'c1', 60_000, 10))).toEqual(['k', 'm']);
      } else {
        // Redis time moves between pushes; the peek shows the due order it keeps.
        await s.queuePush('q', 'm', 'm', 0);
        const peek = await s.queuePeek('q', 10);
        expect(ids(peek)).toEqual(['m', 'z']);
      }
    });

    test('an entry is not claimed before it is due, and is once it is', async () => {
      await s.queuePush('q', 'later', 'x', 3_600_000);
      expect(await s.queueClaim('q', 'c0', 60_000, 10)).toEqual([]);
      await s.queuePush('q', 'soon', 'y', 20);
      let got: string[] = [];
      expect(await b.elapse(21, async () => (got = ids(await s.queueClaim('q', 'c1', 60_000, 10))).length > 0)).toBe(true);
      expect(got).toEqual(['soon']);
    });

    test('a claimed entry stays queued but is not claimed again while its lease runs', async () => {
      await s.queuePush('q', 'e', 'p', 0);
      expect(ids(await s.queueClaim('q', 'c1', 3_600_000, 10))).toEqual(['e']);
      expect(await s.queueClaim('q', 'c2', 3_600_000, 10)).toEqual([]);
      expect(ids(await s.queuePeek('q', 10))).toEqual(['e']);
    });

    test('when the lease ends the entry is claimed again, and the old claim can no longer settle it', async () => {
      await s.queuePush('q', 'e', 'p', 0);
      expect(ids(await s.queueClaim('q', 'crashed', 20, 10))).toEqual(['e']);
      let again: { id: string; claim: string }[] = [];
      expect(await b.elapse(21, async () => (again = await s.queueClaim('q', 'next', 60_000, 10)).length > 0)).toBe(true);
      expect(again).toEqual([{ id: 'e', payload: 'p', claim: 'next' }]);
      expect(await s.queueSettle('q', 'e', 'crashed', { kind: 'remove' })).toBe(false);
      expect(ids(await s.queuePeek('q', 10))).toEqual(['e']);
      expect(await s.queueSettle('q', 'e', 'next', { kind: 'remove' })).toBe(true);
      expect(await s.queuePeek('q', 10)).toEqual([]);
    });

    test('remove: the entry is gone; settling twice, or with another claim, is refused', async () => {
      await s.queuePush('q', 'e', 'p', 0);
      await s.queuePush('q', 'f', 'p', 0);
      await s.queueClaim('q', 'c1', 60_000, 10);
      expect(await s.queueSettle('q', 'e', 'other', { kind: 'remove' })).toBe(false);
      expect(await s.queueSettle('q', 'e', 'c1', { kind: 'remove' })).toBe(true);
      expect(await s.queueSettle('q', 'e', 'c1', { kind: 'remove' })).toBe(false);
      expect(ids(await s.queuePeek('q', 10))).toEqual(['f']);
    });

    test('retry: a new payload, due after the delay, and no longer held by the claim', async () => {
      await s.queuePush('q', 'e', 'first', 0);
      await s.queueClaim('q', 'c1', 60_000, 10);
      expect(await s.queueSettle('q', 'e', 'c1', { kind: 'retry', payload: 'second', delayMs: 3_600_000 })).toBe(true);
      expect((await s.queuePeek('q', 10)).map((e) => e.payload)).toEqual(['second']);
      expect(await s.queueClaim('q', 'c2', 60_000, 10)).toEqual([]);
      expect(await s.queueSettle('q', 'e', 'c1', { kind: 'remove' })).toBe(false);

      await s.queuePush('q', 'g', 'one', 0);
      await s.queueClaim('q', 'c3', 60_000, 10);
      expect(await s.queueSettle('q', 'g', 'c3', { kind: 'retry', payload: 'two', delayMs: 0 })).toBe(true);
      expect(await s.queueClaim('q', 'c4', 60_000, 10)).toEqual([{ id: 'g', payload: 'two', claim: 'c4' }]);
    });

    test('move: leaves the queue for another, due at once there; that queue keeps only its newest entries', async () => {
      for (const id of ['a', 'b', 'c']) await s.queuePush('q', id, `p-${id}`, 0);
      const claimed = await s.queueClaim('q', 'c1', 60_000, 10);
      expect(claimed).toHaveLength(3);
      for (const id of ['a', 'b', 'c']) {
        expect(await s.queueSettle('q', id, 'c1', { kind: 'move', queue: 'dead', payload: `dead-${id}`, keep: 2 })).toBe(true);
      }
      expect(await s.queuePeek('q', 10)).toEqual([]);
      const dead = await s.queuePeek('dead', 10);
      expect(dead.map((e) => [e.id, e.payload])).toEqual([
        ['b', 'dead-b'],
        ['c', 'dead-c'],
      ]);
      if (b.kind === 'redis') for (const e of dead) expect(Math.abs(e.dueAt - Date.now())).toBeLessThan(5_000);
      // Settled entries are no longer anyone's to settle.
      expect(await s.queueSettle('q', 'a', 'c1', { kind: 'remove' })).toBe(false);
    });

    test('queueMove: takes one entry by id, claimed or not, into another queue; false for an unknown id', async () => {
      for (const id of ['a', 'b']) await s.queuePush('dead', id, `p-${id}`, 0);
      await s.queueClaim('dead', 'c1', 3_600_000, 1);
      expect(await s.queueMove('dead', 'q', 'a', 'again-a', 0)).toBe(true);
      expect(await s.queueMove('dead', 'q', 'a', 'twice', 0)).toBe(false);
      expect(await s.queueMove('dead', 'q', 'nope', 'x', 0)).toBe(false);
      expect((await s.queuePeek('dead', 10)).map((e) => e.id)).toEqual(['b']);
      // Due at once in the target and free of any claim the entry had.
      expect(await s.queueClaim('q', 'c2', 60_000, 10)).toEqual([{ id: 'a', payload: 'again-a', claim: 'c2' }]);
      expect(await s.queueSettle('dead', 'a', 'c1', { kind: 'remove' })).toBe(false);
      expect(await s.queueMove('dead', 'q', 'b', 'later', 3_600_000)).toBe(true);
      expect(await s.queueClaim('q', 'c3', 60_000, 10)).toEqual([]);
    });

    test('push replaces an entry with the same id and drops its claim', async () => {
      await s.queuePush('q', 'e', 'old', 0);
      await s.queueClaim('q', 'c1', 3_600_000, 10);
      await s.queuePush('q', 'e', 'new', 0);
      expect(await s.queueSettle('q', 'e', 'c1', { kind: 'remove' })).toBe(false);
      expect(await s.queueClaim('q', 'c2', 60_000, 10)).toEqual([{ id: 'e', payload: 'new', claim: 'c2' }]);
    });

    test('peek claims nothing and shows due times by the store clock', async () => {
      await s.queuePush('q', 'e', 'p', 0);
      await s.queuePush('q', 'f', 'p', 3_600_000);
      const peek = await s.queuePeek('q', 10);
      expect(ids(peek)).toEqual(['e', 'f']);
      expect(peek[1]!.dueAt - peek[0]!.dueAt).toBeGreaterThan(3_500_000);
      expect(await s.queuePeek('q', 1)).toHaveLength(1);
      expect(ids(await s.queueClaim('q', 'c1', 60_000, 10))).toEqual(['e']);
    });

    test('queues are independent of each other', async () => {
      await s.queuePush('q1', 'e', 'one', 0);
      await s.queuePush('q2', 'e', 'two', 0);
      expect(await s.queueClaim('q1', 'c1', 60_000, 10)).toEqual([{ id: 'e', payload: 'one', claim: 'c1' }]);
      expect(await s.queueClaim('q2', 'c2', 60_000, 10)).toEqual([{ id: 'e', payload: 'two', claim: 'c2' }]);
    });

    test('many concurrent claimers: every entry is taken exactly once', async () => {
      for (let i = 0; i < 30; i++) await s.queuePush('q', `e${String(i).padStart(2, '0')}`, `p${i}`, 0);
      const batches = await Promise.all(Array.from({ length: 20 }, (_, i) => s.queueClaim('q', `c${i}`, 60_000, 4)));
      const taken = batches.flat().map((e) => e.id);
      expect(taken).toHaveLength(30);
      expect(new Set(taken).size).toBe(30);
    });
  });

  test('ping resolves', async () => {
    await expect(s.ping()).resolves.toBeUndefined();
  });

  test('keys are independent of each other', async () => {
    await s.set('a', '1');
    await s.set('a:b', '2');
    await s.set('A', '3');
    expect(await s.mget(['a', 'a:b', 'A'])).toEqual(['1', '2', '3']);
  });
});

describe('RedisStore specifics', () => {
  let server: RedisServer;
  let client: RedisClient;
  let store: RedisStore;

  beforeAll(async () => {
    server = await startRedis();
    client = createRedisClient(server.url, silentLogger);
    await client.connect();
    store = new RedisStore(client);
  });
  afterAll(async () => {
    await store?.close();
    await server?.dispose();
  });

  test('keys live under the koogate: prefix, and another prefix is a separate namespace', async () => {
    await store.set('dir:tenant:t-1', 'v');
    expect(await client.get('koogate:dir:tenant:t-1')).toBe('v');
    expect(await client.get('dir:tenant:t-1')).toBeNull();
    const other = new RedisStore(client, 'other:');
    expect(await other.get('dir:tenant:t-1')).toBeNull();
    await other.set('dir:tenant:t-1', 'w');
    expect(await store.get('dir:tenant:t-1')).toBe('v');
  });

  test('a fractional or tiny ttl is rounded up to at least 1 ms, never rejected', async () => {
    await expect(store.set('tiny', 'v', 0.2)).resolves.toBeUndefined();
    await expect(store.setIfAbsent('tiny2', 'v', 0)).resolves.toBe(true);
    await store.set('frac', 'v', 60_000.4);
    expect(await client.pttl('koogate:frac')).toBeGreaterThan(59_000);
  });

  test('with the server stopped every operation rejects with StoreUnavailableError, and it recovers after restart', async () => {
    await store.set('survivor', 'no'); // the server keeps nothing on disk, so this is lost with it
    await server.stop();
    const ops: [string, () => Promise<unknown>][] = [
      ['get', () => store.get('k')],
      ['mget', () => store.mget(['a', 'b'])],
      ['set', () => store.set('k', 'v')],
      ['setIfAbsent', () => store.setIfAbsent('k', 'v', 1000)],
      ['compareAndSet', () => store.compareAndSet('k', null, 'v')],
      ['del', () => store.del('k')],
      ['expireIfEquals', () => store.expireIfEquals('k', 'v', 1000)],
      ['delIfEquals', () => store.delIfEquals('k', 'v')],
      ['sMembers', () => store.sMembers('k')],
      ['atomic', () => store.atomic([{ op: 'set', key: 'k', value: 'v' }])],
      ['ping', () => store.ping()],
      ['queuePush', () => store.queuePush('q', 'e', 'p', 0)],
      ['queueClaim', () => store.queueClaim('q', 'c', 1000, 10)],
      ['queueSettle', () => store.queueSettle('q', 'e', 'c', { kind: 'remove' })],
      ['queuePeek', () => store.queuePeek('q', 10)],
    ];
    for (const [name, op] of ops) {
      const outcome = await op().then(
        (v) => ({ ok: true as const, v }),
        (e: unknown) => ({ ok: false as const, e }),
      );
      expect({ name, ok: outcome.ok }).toEqual({ name, ok: false });
      if (!outcome.ok) expect({ name, isUnavailable: outcome.e instanceof StoreUnavailableError }).toEqual({ name, isUnavailable: true });
    }

    // Back up on the same port: the client reconnects by itself (retryStrategy) and serves again.
    const ready = once(client, 'ready');
    await server.start();
    await ready;
    await expect(store.ping()).resolves.toBeUndefined();
    await store.set('k', 'v');
    expect(await store.get('k')).toBe('v');
    expect(await store.get('survivor')).toBeNull();
  });
});
