import type { KeyValueStore, WriteOp } from './store';

interface Entry {
  value: string | Set<string>;
  expiresAt?: number;
}

/** In-process store: one koogate process only; everything is lost on restart. */
export class MemoryStore implements KeyValueStore {
  readonly kind = 'memory' as const;
  private readonly data = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  private live(key: string): Entry | undefined {
    const e = this.data.get(key);
    if (e?.expiresAt !== undefined && e.expiresAt <= this.now()) {
      this.data.delete(key);
      return undefined;
    }
    return e;
  }

  private str(key: string): string | null {
    const e = this.live(key);
    return e && typeof e.value === 'string' ? e.value : null;
  }

  private put(key: string, value: string, ttlMs?: number): void {
    this.data.set(key, { value, expiresAt: ttlMs === undefined ? undefined : this.now() + ttlMs });
  }

  private apply(op: WriteOp): void {
    switch (op.op) {
      case 'set':
        return this.put(op.key, op.value, op.ttlMs);
      case 'del':
        this.data.delete(op.key);
        return;
      case 'sadd': {
        const e = this.live(op.key);
        if (e && e.value instanceof Set) e.value.add(op.member);
        else this.data.set(op.key, { value: new Set([op.member]) });
        return;
      }
      case 'expire': {
        const e = this.live(op.key);
        if (e) e.expiresAt = this.now() + op.ttlMs;
        return;
      }
      case 'srem': {
        const e = this.live(op.key);
        if (e && e.value instanceof Set) {
          e.value.delete(op.member);
          if (e.value.size === 0) this.data.delete(op.key);
        }
        return;
      }
    }
  }

  async get(key: string) {
    return this.str(key);
  }
  async mget(keys: string[]) {
    return keys.map((k) => this.str(k));
  }
  async set(key: string, value: string, ttlMs?: number) {
    this.put(key, value, ttlMs);
  }
  async setIfAbsent(key: string, value: string, ttlMs: number) {
    if (this.live(key)) return false;
    this.put(key, value, ttlMs);
    return true;
  }
  async compareAndSet(key: string, expected: string | null, next: string, ttlMs?: number) {
    if (this.str(key) !== expected) return false;
    this.put(key, next, ttlMs);
    return true;
  }
  async del(...keys: string[]) {
    for (const k of keys) this.data.delete(k);
  }
  async expireIfEquals(key: string, value: string, ttlMs: number) {
    const e = this.live(key);
    if (!e || e.value !== value) return false;
    e.expiresAt = this.now() + ttlMs;
    return true;
  }
  async delIfEquals(key: string, value: string) {
    if (this.str(key) !== value) return false;
    this.data.delete(key);
    return true;
  }
  async sMembers(key: string) {
    const e = this.live(key);
    return e && e.value instanceof Set ? [...e.value] : [];
  }
  async atomic(ops: WriteOp[]) {
    for (const op of ops) this.apply(op);
  }
  async ping() {}
  async close() {}
}
