import { MemoryStore } from '../../../src/store/memory';
import { LeaseLock } from '../../../src/tokens/lock';

describe('LeaseLock', () => {
  test('runs the work holding the lock and hands back its value; released afterwards', async () => {
    const store = new MemoryStore();
    const lock = new LeaseLock(store, { leaseMs: 60_000 });
    const held = await lock.tryWith('x', async () => {
      expect(await store.get('lock:x')).not.toBeNull();
      return 42;
    });
    expect(held).toEqual({ value: 42 });
    expect(await store.get('lock:x')).toBeNull();
  });

  test('a second holder is turned away at once while the first works, and gets in after', async () => {
    const store = new MemoryStore();
    const a = new LeaseLock(store, { leaseMs: 60_000 });
    const b = new LeaseLock(store, { leaseMs: 60_000 });
    let finish!: () => void;
    const working = a.tryWith('x', () => new Promise<string>((ok) => (finish = () => ok('a'))));
    await new Promise((r) => setImmediate(r));
    expect(await b.tryWith('x', async () => 'b')).toBeUndefined();
    finish();
    expect(await working).toEqual({ value: 'a' });
    expect(await b.tryWith('x', async () => 'b')).toEqual({ value: 'b' });
  });

  test('a failing work releases the lock and rejects', async () => {
    const store = new MemoryStore();
    const lock = new LeaseLock(store, { leaseMs: 60_000 });
    await expect(lock.tryWith('x', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await store.get('lock:x')).toBeNull();
  });

  test('only its holder releases it: a lock taken over after its lease lapsed is left alone', async () => {
    const store = new MemoryStore();
    const lock = new LeaseLock(store, { leaseMs: 60_000 });
    await lock.tryWith('x', async () => {
      // Another replica's lock under the same name (ours lapsed meanwhile).
      await store.del('lock:x');
      await store.setIfAbsent('lock:x', 'theirs', 60_000);
    });
    expect(await store.get('lock:x')).toBe('theirs');
  });
});
