import type { KeyValueStore, QueueClaim, QueuedEntry, QueueSettlement, WriteOp } from './store';

interface Entry {
  value: string | Set<string>;
  expiresAt?: number;
}

interface QueueItem {
  payload: string;
  dueAt: number;
  claim?: string;
}

/** Earliest due first, then by id: the order Redis keeps a sorted set in. */
const byDue = (a: [string, QueueItem], b: [string, QueueItem]) => a[1].dueAt - b[1].dueAt || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/** In-process store: one koogate process only; everything is lost on restart. */
export class MemoryStore implements KeyValueStore {
  readonly kind = 'memory' as const;
  private readonly data = new Map<string, Entry>();
  private readonly queues = new Map<string, Map<string, QueueItem>>();

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
  async atomicIf(guard: { key: string; expected: string | null }, ops: WriteOp[]) {
    const holds = guard.expected === null ? this.live(guard.key) === undefined : this.str(guard.key) === guard.expected;
    if (!holds) return false;
    for (const op of ops) this.apply(op);
    return true;
  }

  private queue(name: string): Map<string, QueueItem> {
    let q = this.queues.get(name);
    if (!q) this.queues.set(name, (q = new Map()));
    return q;
  }
  async queuePush(queue: string, id: string, payload: string, delayMs: number) {
    this.queue(queue).set(id, { payload, dueAt: this.now() + delayMs });
  }
  async queueClaim(queue: string, claim: string, leaseMs: number, max: number): Promise<QueueClaim[]> {
    const now = this.now();
    const due = [...this.queue(queue)].filter(([, e]) => e.dueAt <= now).sort(byDue).slice(0, Math.max(0, max));
    return due.map(([id, e]) => {
      e.dueAt = now + leaseMs;
      e.claim = claim;
      return { id, payload: e.payload, claim };
    });
  }
  async queueSettle(queue: string, id: string, claim: string, how: QueueSettlement) {
    const q = this.queue(queue);
    if (q.get(id)?.claim !== claim) return false;
    if (how.kind === 'retry') {
      q.set(id, { payload: how.payload, dueAt: this.now() + how.delayMs });
      return true;
    }
    q.delete(id);
    if (how.kind === 'move') {
      const to = this.queue(how.queue);
      to.set(id, { payload: how.payload, dueAt: this.now() });
      const excess = to.size - how.keep;
      if (excess > 0) for (const [old] of [...to].sort(byDue).slice(0, excess)) to.delete(old);
    }
    return true;
  }
  async queueMove(from: string, to: string, id: string, payload: string, delayMs: number) {
    if (!this.queue(from).delete(id)) return false;
    this.queue(to).set(id, { payload, dueAt: this.now() + delayMs });
    return true;
  }
  async queuePeek(queue: string, max: number): Promise<QueuedEntry[]> {
    return [...this.queue(queue)]
      .sort(byDue)
      .slice(0, Math.max(0, max))
      .map(([id, e]) => ({ id, payload: e.payload, dueAt: e.dueAt }));
  }
  async queueSize(queue: string): Promise<number> {
    return this.queue(queue).size;
  }
  async ping() {}
  async close() {}
}
