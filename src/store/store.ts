/**
 * The one storage contract of koogate (directory, nonces, token records, the webhook's queue). Redis and
 * memory implement it; test/integration/store-conformance.test.ts runs the same suite against both.
 */
export type WriteOp =
  | { op: 'set'; key: string; value: string; ttlMs?: number }
  | { op: 'del'; key: string }
  | { op: 'sadd'; key: string; member: string }
  | { op: 'srem'; key: string; member: string }
  /** Sets a time to live on an existing key (sets, typically). */
  | { op: 'expire'; key: string; ttlMs: number };

/** An entry a worker took from a delay queue; its `claim` fences the settlement against a later claim. */
export interface QueueClaim {
  id: string;
  payload: string;
  claim: string;
}

/** An entry as it waits in a delay queue; `dueAt` is by the store's clock (ms since the epoch). */
export interface QueuedEntry {
  id: string;
  payload: string;
  dueAt: number;
}

/** How a worker ends its claim on an entry. */
export type QueueSettlement =
  | { kind: 'remove' }
  /** Stays in the queue with a new payload, due again after `delayMs`. */
  | { kind: 'retry'; payload: string; delayMs: number }
  /** Leaves for another queue (dead letters), due at once there; that queue keeps only its newest `keep`. */
  | { kind: 'move'; queue: string; payload: string; keep: number };

export interface KeyValueStore {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | null>;
  mget(keys: string[]): Promise<(string | null)[]>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Sets only when the key does not exist; true when it was set. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Replaces the value only while it still equals `expected` (null: key absent); true when replaced. */
  compareAndSet(key: string, expected: string | null, next: string, ttlMs?: number): Promise<boolean>;
  del(...keys: string[]): Promise<void>;
  /** Extends the time to live only while the key still holds `value` (a lock's lease); true when extended. */
  expireIfEquals(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Deletes the key only while it still holds `value` (releasing one's own lock); true when deleted. */
  delIfEquals(key: string, value: string): Promise<boolean>;
  sMembers(key: string): Promise<string[]>;
  /*
   * Delay queues (the webhook's outbox). Entries are ordered by when they are due, by the store's clock
   * (Redis TIME; memory: its own clock), so replicas whose clocks differ still agree on what is due.
   * Queues are reached only through these operations; on Redis, queue `q` occupies the keys `q:due`,
   * `q:items` and `q:claims`.
   */
  /** Adds an entry due after `delayMs`; an entry with the same id is replaced and its claim dropped. */
  queuePush(queue: string, id: string, payload: string, delayMs: number): Promise<void>;
  /**
   * Atomically takes up to `max` due entries, earliest first, under `claim` (unique per call) for
   * `leaseMs`. They stay queued, due again when the lease ends, so an entry whose worker died is taken
   * again; while a lease runs no other claim takes the entry.
   */
  queueClaim(queue: string, claim: string, leaseMs: number, max: number): Promise<QueueClaim[]>;
  /** Ends a claim; false, changing nothing, when the entry is gone or was claimed again since. */
  queueSettle(queue: string, id: string, claim: string, how: QueueSettlement): Promise<boolean>;
  /**
   * Takes entry `id` out of queue `from` (whatever claim it has) and puts it in queue `to` with `payload`,
   * due after `delayMs`, in one step; false, changing nothing, when `from` has no such entry. An operator's
   * redelivery of a dead letter.
   */
  queueMove(from: string, to: string, id: string, payload: string, delayMs: number): Promise<boolean>;
  /** Up to `max` entries, earliest due first, without claiming them. */
  queuePeek(queue: string, max: number): Promise<QueuedEntry[]>;
  /** How many entries the queue holds, due or not (the metrics' queue depth). */
  queueSize(queue: string): Promise<number>;
  /**
   * Applies every op together (Redis MULTI/EXEC; memory: synchronously), so no reader sees half of them
   * and a connection failure applies none. Ops must fit the keys' types: Redis does not roll back an op
   * that fails on a wrong type inside the transaction (the call then rejects), so callers never mix
   * types on one key.
   */
  atomic(ops: WriteOp[]): Promise<void>;
  /**
   * Like atomic, but only while `guard.key` still holds `guard.expected` (null: the key is absent); true
   * when the ops were applied. One step on the store (Redis: a script), so of several replicas that read
   * the same value and race to write, exactly one wins: set-if-absent for a claim, compare-and-set for a
   * record, with every other write of the change in the same step. The guard key must be a string key.
   */
  atomicIf(guard: { key: string; expected: string | null }, ops: WriteOp[]): Promise<boolean>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`store unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}
